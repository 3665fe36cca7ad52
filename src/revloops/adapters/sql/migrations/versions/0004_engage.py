"""Engage sequences and the LLM spend log

Revision ID: 0004_engage
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_engage"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "engage_sequences",
        sa.Column("lead_id", sa.String(length=18), nullable=False),
        sa.Column("play_id", sa.String(length=80), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=False),
        sa.Column("composer", sa.String(length=16), nullable=False),
        sa.Column("fallback_reason", sa.Text(), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("task_key", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.String(length=18), nullable=True),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lead_id", name=op.f("pk_engage_sequences")),
    )
    with op.batch_alter_table("engage_sequences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engage_sequences_play_id"), ["play_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_engage_sequences_created_at"), ["created_at"], unique=False)

    op.create_table(
        "llm_spend",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("web_search_requests", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_spend")),
    )
    with op.batch_alter_table("llm_spend", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_llm_spend_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("llm_spend", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_llm_spend_created_at"))
    op.drop_table("llm_spend")
    with op.batch_alter_table("engage_sequences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engage_sequences_created_at"))
        batch_op.drop_index(batch_op.f("ix_engage_sequences_play_id"))
    op.drop_table("engage_sequences")
