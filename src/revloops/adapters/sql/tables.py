"""The state database's tables: the embedded CRM's objects, the decision log and loop state.

CRM tables are derived from the record models, so a field exists in exactly one place (core/records.py);
migrations under ``migrations/`` freeze each version of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from revloops.core.frames import scalar_type
from revloops.core.records import SOBJECTS, SObject

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_TYPES: dict[type, Any] = {
    str: sa.Text,
    int: sa.BigInteger,
    float: sa.Float,
    bool: sa.Boolean,
    dt.date: sa.Date,
    dt.datetime: lambda: sa.DateTime(timezone=True),
}
#: objects batch paths read in creation order (routing simulations replay it): indexed on (CreatedDate, Id)
CREATION_ORDERED = frozenset({"Lead", "Account", "Contact", "Opportunity"})
#: fields worth an index beyond the primary key and external ids
_INDEXED = {"OwnerId", "Email", "SystemModstamp", "AccountId", "WhoId", "ObjectId", "Territory2Id", "UserId",
            "Account__c", "OpportunityId"}


def sobject_table(model: type[SObject]) -> sa.Table:
    """The table of one object: one column per field."""
    columns: list[sa.Column[Any]] = []
    for name, info in model.model_fields.items():
        kind = _TYPES[scalar_type(info.annotation)]
        col_type = kind() if callable(kind) and not isinstance(kind, type) else kind
        columns.append(
            sa.Column(
                name,
                col_type,
                primary_key=name == "Id",
                unique=name in model.external_id_fields,
                index=name in _INDEXED,
            )
        )
    name = f"sf_{model.sobject_type.lower()}"
    indexes = [sa.Index(f"ix_{name}_created", "CreatedDate", "Id")] if model.sobject_type in CREATION_ORDERED else []
    return sa.Table(name, metadata, *columns, *indexes)


SOBJECT_TABLES: dict[str, sa.Table] = {name: sobject_table(model) for name, model in SOBJECTS.items()}

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("loop", sa.String(32), nullable=False),
    sa.Column("sobject", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(64), nullable=False, index=True),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("trace", sa.JSON, nullable=False),
    sa.Column("explanation", sa.Text, nullable=False),
    sa.Column("config_version", sa.String(96), nullable=False),
    sa.Column("inputs_digest", sa.String(72), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

rotation_state = sa.Table(
    "rotation_state",
    metadata,
    sa.Column("pool", sa.String(128), primary_key=True),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# -- CRM events inbox (Generate's input): events land here before anything acts on them -------------------
crm_events = sa.Table(
    "crm_events",
    metadata,
    sa.Column("id", sa.String(255), primary_key=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("sobject", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(18), nullable=False, index=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("deliveries", sa.Integer, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("workflow_id", sa.String(128), nullable=True),
)

poll_watermarks = sa.Table(
    "poll_watermarks",
    metadata,
    sa.Column("sobject", sa.String(64), primary_key=True),
    sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# -- Engage: one sequence per lead, and the LLM spend log (migration 0004_engage) ------------------------
engage_sequences = sa.Table(
    "engage_sequences",
    metadata,
    sa.Column("lead_id", sa.String(18), primary_key=True),
    sa.Column("play_id", sa.String(80), nullable=False, index=True),
    sa.Column("owner_id", sa.String(40), nullable=False),
    sa.Column("composer", sa.String(16), nullable=False),
    sa.Column("fallback_reason", sa.Text, nullable=True),
    sa.Column("steps", sa.JSON, nullable=False),
    sa.Column("task_key", sa.String(64), nullable=False),
    sa.Column("task_id", sa.String(18), nullable=True),
    sa.Column("decision", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

llm_spend = sa.Table(
    "llm_spend",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("model", sa.String(64), nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("web_search_requests", sa.Integer, nullable=False),
    sa.Column("cost_usd", sa.Float, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

# -- Qualify: the enrichment cache and the enrichment spend log (migration 0003_qualify) -----------------
enrichment_cache = sa.Table(
    "enrichment_cache",
    metadata,
    sa.Column("provider", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(320), primary_key=True),
    sa.Column("facts", sa.JSON, nullable=True),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

enrichment_spend = sa.Table(
    "enrichment_spend",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("key", sa.String(320), nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("credits", sa.Float, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

# -- Route: round-robin claims by key, so a re-run of the same decision takes no second slot -------------
rotation_claims = sa.Table(
    "rotation_claims",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("pool", sa.String(128), nullable=False),
    sa.Column("member", sa.String(64), nullable=False),
    sa.Column("slot", sa.BigInteger, nullable=False),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
)

# -- Pursue, Onboard, Expand: milestone plans and their milestones (migration 0008_retention) -------------
plan_instances = sa.Table(
    "plan_instances",
    metadata,
    sa.Column("id", sa.String(160), primary_key=True),
    sa.Column("loop", sa.String(16), nullable=False, index=True),
    sa.Column("play_id", sa.String(80), nullable=False, index=True),
    sa.Column("sobject", sa.String(64), nullable=False),
    sa.Column("record_id", sa.String(18), nullable=False, index=True),
    sa.Column("account_id", sa.String(18), nullable=True, index=True),
    sa.Column("started_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("outcome", sa.JSON, nullable=True),
    sa.Column("facts", sa.JSON, nullable=False),
    sa.Column("config_version", sa.String(96), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

plan_milestones = sa.Table(
    "plan_milestones",
    metadata,
    sa.Column("instance_id", sa.String(160), primary_key=True),
    sa.Column("milestone_id", sa.String(60), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("owner_id", sa.String(40), nullable=True, index=True),
    sa.Column("due", sa.Date, nullable=True),
    sa.Column("completed_on", sa.Date, nullable=True),
    sa.Column("task_id", sa.String(18), nullable=True, index=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# -- Generate's outbound signals: the ledger, its scans and the scan budget (migration 0009_signals) -------
signals = sa.Table(
    "signals",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("domain", sa.String(253), nullable=False, index=True),
    sa.Column("account_id", sa.String(18), nullable=True),
    sa.Column("type", sa.String(60), nullable=False, index=True),
    sa.Column("headline", sa.Text, nullable=False),
    sa.Column("event_date", sa.Date, nullable=False, index=True),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("strength", sa.Float, nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("synthetic", sa.Boolean, nullable=False),
    sa.Column("scan_id", sa.String(200), nullable=False),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("outreach", sa.String(200), nullable=True),
    sa.Column("outreach_at", sa.DateTime(timezone=True), nullable=True),
)

signal_scans = sa.Table(
    "signal_scans",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("domain", sa.String(253), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("found", sa.Integer, nullable=False),
    sa.Column("kept", sa.Integer, nullable=False),
    sa.Column("folded", sa.Integer, nullable=False),
    sa.Column("dropped", sa.JSON, nullable=False),
    sa.Column("searches", sa.Integer, nullable=False),
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("usd", sa.Float, nullable=False),
)

signal_budget = sa.Table(
    "signal_budget",
    metadata,
    sa.Column("period", sa.String(10), primary_key=True),
    sa.Column("searches", sa.BigInteger, nullable=False),
    sa.Column("tokens", sa.BigInteger, nullable=False),
    sa.Column("usd", sa.Float, nullable=False),
)
