"""Outbound signals: the ledger, its scans and the scan budget

Revision ID: 0009_signals
Revises: 0008_retention
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_signals"
down_revision = "0008_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("account_id", sa.String(length=18), nullable=True),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("headline", sa.Text(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("scan_id", sa.String(length=200), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outreach", sa.String(length=200), nullable=True),
        sa.Column("outreach_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
    )
    with op.batch_alter_table("signals", schema=None) as batch_op:
        for col in ("domain", "type", "event_date", "first_seen"):
            batch_op.create_index(batch_op.f(f"ix_signals_{col}"), [col], unique=False)
    op.create_table(
        "signal_scans",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("found", sa.Integer(), nullable=False),
        sa.Column("kept", sa.Integer(), nullable=False),
        sa.Column("folded", sa.Integer(), nullable=False),
        sa.Column("dropped", sa.JSON(), nullable=False),
        sa.Column("searches", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("usd", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_scans")),
    )
    with op.batch_alter_table("signal_scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signal_scans_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_signal_scans_at"), ["at"], unique=False)
    op.create_table(
        "signal_budget",
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("searches", sa.BigInteger(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("usd", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_signal_budget")),
    )


def downgrade() -> None:
    op.drop_table("signal_budget")
    op.drop_table("signal_scans")
    op.drop_table("signals")
