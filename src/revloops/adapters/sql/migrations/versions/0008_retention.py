"""Pursue, Onboard, Expand: milestone plans, customer fields, task completion, usage snapshots

Revision ID: 0008_retention
Revises: 0007_creation_order
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008_retention"
down_revision = "0007_creation_order"
branch_labels = None
depends_on = None

_ACCOUNT: list[tuple[str, Any]] = [("Customer_Since__c", sa.Date()), ("Contract_End__c", sa.Date()), ("ARR__c", sa.Float()),
            ("Seats_Purchased__c", sa.BigInteger()), ("Churned_On__c", sa.Date()), ("Health_Score__c", sa.Float()),
            ("Health_Band__c", sa.Text())]
_OPPORTUNITY: list[tuple[str, Any]] = [("Description", sa.Text()), ("Use_Cases__c", sa.Text()), ("Champion__c", sa.Text()), ("Economic_Buyer__c", sa.Text()),
                ("Success_Metric__c", sa.Text()), ("Risks__c", sa.Text()), ("Contract_Start__c", sa.Date()),
                ("Contract_End__c", sa.Date())]
_TASK: list[tuple[str, Any]] = [("CompletedDateTime", sa.DateTime(timezone=True))]
_ADDED: dict[str, list[tuple[str, Any]]] = {"sf_account": _ACCOUNT, "sf_opportunity": _OPPORTUNITY, "sf_task": _TASK}


def upgrade() -> None:
    for table, columns in _ADDED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, kind in columns:
                batch_op.add_column(sa.Column(name, kind, nullable=True))
    op.create_table(
        "sf_usage_snapshot__c",
        sa.Column("Id", sa.Text(), nullable=False),
        sa.Column("CreatedDate", sa.DateTime(timezone=True), nullable=True),
        sa.Column("LastModifiedDate", sa.DateTime(timezone=True), nullable=True),
        sa.Column("SystemModstamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("Account__c", sa.Text(), nullable=True),
        sa.Column("Month__c", sa.Date(), nullable=True),
        sa.Column("Seats_Purchased__c", sa.BigInteger(), nullable=True),
        sa.Column("Seats_Active__c", sa.BigInteger(), nullable=True),
        sa.Column("Logins_Per_User__c", sa.Float(), nullable=True),
        sa.Column("Support_Tickets__c", sa.BigInteger(), nullable=True),
        sa.Column("NPS__c", sa.Float(), nullable=True),
        sa.Column("Executive_Sponsor__c", sa.Boolean(), nullable=True),
        sa.Column("External_Id__c", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("Id", name=op.f("pk_sf_usage_snapshot__c")),
        sa.UniqueConstraint("External_Id__c", name=op.f("uq_sf_usage_snapshot__c_External_Id__c")),
    )
    with op.batch_alter_table("sf_usage_snapshot__c", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sf_usage_snapshot__c_SystemModstamp"), ["SystemModstamp"], unique=False)
        batch_op.create_index(batch_op.f("ix_sf_usage_snapshot__c_Account__c"), ["Account__c"], unique=False)
    op.create_table(
        "plan_instances",
        sa.Column("id", sa.String(length=160), nullable=False),
        sa.Column("loop", sa.String(length=16), nullable=False),
        sa.Column("play_id", sa.String(length=80), nullable=False),
        sa.Column("sobject", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=18), nullable=False),
        sa.Column("account_id", sa.String(length=18), nullable=True),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("config_version", sa.String(length=96), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_instances")),
    )
    with op.batch_alter_table("plan_instances", schema=None) as batch_op:
        for col in ("loop", "play_id", "record_id", "account_id", "status", "created_at"):
            batch_op.create_index(batch_op.f(f"ix_plan_instances_{col}"), [col], unique=False)
    op.create_table(
        "plan_milestones",
        sa.Column("instance_id", sa.String(length=160), nullable=False),
        sa.Column("milestone_id", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("task_id", sa.String(length=18), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("instance_id", "milestone_id", name=op.f("pk_plan_milestones")),
    )
    with op.batch_alter_table("plan_milestones", schema=None) as batch_op:
        for col in ("status", "owner_id", "task_id"):
            batch_op.create_index(batch_op.f(f"ix_plan_milestones_{col}"), [col], unique=False)


def downgrade() -> None:
    op.drop_table("plan_milestones")
    op.drop_table("plan_instances")
    op.drop_table("sf_usage_snapshot__c")
    for table, columns in _ADDED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _ in columns:
                batch_op.drop_column(name)
