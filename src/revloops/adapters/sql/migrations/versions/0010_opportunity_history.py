"""OpportunityHistory: the embedded CRM's row per opportunity change (stage, amount, close date, probability)

Every opportunity already stored gets one row holding its current state, dated by its LastModifiedDate (the
latest moment it can have entered that state), so each opportunity has a history, as in Salesforce.

Revision ID: 0010_opportunity_history
Revises: 0009_signals
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010_opportunity_history"
down_revision = "0009_signals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sf_opportunityhistory",
        sa.Column("Id", sa.Text(), nullable=False),
        sa.Column("CreatedDate", sa.DateTime(timezone=True), nullable=True),
        sa.Column("SystemModstamp", sa.DateTime(timezone=True), nullable=True),
        sa.Column("OpportunityId", sa.Text(), nullable=True),
        sa.Column("StageName", sa.Text(), nullable=True),
        sa.Column("Amount", sa.Float(), nullable=True),
        sa.Column("CloseDate", sa.Date(), nullable=True),
        sa.Column("Probability", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("Id", name=op.f("pk_sf_opportunityhistory")),
    )
    with op.batch_alter_table("sf_opportunityhistory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sf_opportunityhistory_SystemModstamp"), ["SystemModstamp"], unique=False)
        batch_op.create_index(batch_op.f("ix_sf_opportunityhistory_OpportunityId"), ["OpportunityId"], unique=False)
    _backfill()


_TRACKED: dict[str, Any] = {"StageName": sa.Text(), "Amount": sa.Float(), "CloseDate": sa.Date(),
                            "Probability": sa.Float()}
_ALPHABET = string.digits + string.ascii_letters


def _history_id() -> str:
    """An 18-character OpportunityHistory id (key prefix 008) with its checksum suffix."""
    body = "0088d" + "".join(secrets.choice(_ALPHABET) for _ in range(10))
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(body[chunk * 5 : chunk * 5 + 5]) if "A" <= ch <= "Z")
        suffix += (string.ascii_uppercase + "012345")[bits]
    return body + suffix


def _backfill() -> None:
    stamp = sa.DateTime(timezone=True)
    opportunity = sa.table("sf_opportunity", sa.column("Id", sa.Text()), sa.column("CreatedDate", stamp),
                           sa.column("LastModifiedDate", stamp), *(sa.column(n, t) for n, t in _TRACKED.items()))
    history = sa.table("sf_opportunityhistory", sa.column("Id", sa.Text()), sa.column("CreatedDate", stamp),
                       sa.column("SystemModstamp", stamp), sa.column("OpportunityId", sa.Text()),
                       *(sa.column(n, t) for n, t in _TRACKED.items()))
    conn = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    rows = [{"Id": _history_id(), "CreatedDate": r.LastModifiedDate or r.CreatedDate or now, "SystemModstamp": now,
             "OpportunityId": r.Id, **{n: getattr(r, n) for n in _TRACKED}}
            for r in conn.execute(sa.select(opportunity))]
    for i in range(0, len(rows), 1000):
        conn.execute(history.insert(), rows[i : i + 1000])


def downgrade() -> None:
    op.drop_table("sf_opportunityhistory")
