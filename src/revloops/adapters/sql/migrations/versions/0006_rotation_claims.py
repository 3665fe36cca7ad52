"""Round-robin claims by key (idempotent re-runs)

Revision ID: 0006_rotation_claims
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_rotation_claims"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rotation_claims",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("pool", sa.String(length=128), nullable=False),
        sa.Column("member", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rotation_claims")),
    )


def downgrade() -> None:
    op.drop_table("rotation_claims")
