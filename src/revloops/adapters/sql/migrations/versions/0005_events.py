"""CRM events inbox and poller watermarks

Revision ID: 0005_events
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_events"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crm_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("sobject", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("workflow_id", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_events")),
    )
    op.create_index(op.f("ix_crm_events_record_id"), "crm_events", ["record_id"], unique=False)
    op.create_index(op.f("ix_crm_events_status"), "crm_events", ["status"], unique=False)
    op.create_table(
        "poll_watermarks",
        sa.Column("sobject", sa.String(length=64), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sobject", name=op.f("pk_poll_watermarks")),
    )


def downgrade() -> None:
    op.drop_table("poll_watermarks")
    op.drop_index(op.f("ix_crm_events_status"), table_name="crm_events")
    op.drop_index(op.f("ix_crm_events_record_id"), table_name="crm_events")
    op.drop_table("crm_events")
