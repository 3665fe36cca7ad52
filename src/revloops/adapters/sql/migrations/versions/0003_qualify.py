"""enrichment cache and enrichment spend log

Revision ID: 0003_qualify
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_qualify"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrichment_cache",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "kind", "key", name=op.f("pk_enrichment_cache")),
    )
    with op.batch_alter_table("enrichment_cache", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrichment_cache_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "enrichment_spend",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("credits", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrichment_spend")),
    )
    with op.batch_alter_table("enrichment_spend", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrichment_spend_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("enrichment_spend", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrichment_spend_created_at"))
    op.drop_table("enrichment_spend")
    with op.batch_alter_table("enrichment_cache", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrichment_cache_expires_at"))
    op.drop_table("enrichment_cache")
