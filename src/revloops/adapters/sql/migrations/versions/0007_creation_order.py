"""Routed objects indexed in creation order (batch reads replay it)

Revision ID: 0007_creation_order
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0007_creation_order"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("sf_lead", "sf_account", "sf_contact", "sf_opportunity")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f"ix_{table}_created", table, ["CreatedDate", "Id"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_created", table_name=table)
