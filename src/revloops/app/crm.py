"""The CRM's actions: a synthetic org seeded, records loaded and exported, the configured CRM checked, changes
polled into the events inbox, signed events received, the inbox listed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from revloops.app.base import AppBase
from revloops.app.crm_check import crm_check
from revloops.core.errors import InputError, Unauthenticated
from revloops.core.events import CrmEvent
from revloops.core.identity import Caller
from revloops.core.model import Frozen
from revloops.core.signing import BadSignature, verify
from revloops.dataio import export_rows, load_file, write_csv

Progress = Callable[[int, int], None]


class SeedResult(Frozen):
    """How many records of each object the seed wrote, and the org's "today" its dates are spread around
    (contract ends, churn, usage months)."""

    created: dict[str, int]
    as_of: dt.date | None = None


class LoadResult(Frozen):
    """What a load did: the records it created, updated (only the fields that differ) and left unchanged, the
    field rows were matched on, the file's columns it did not write, and its warnings."""

    object: str
    upsert_key: str
    created: int
    updated: int
    unchanged: int
    skipped_columns: list[str]
    warnings: list[str]


class CrmCheck(Frozen):
    """The configured CRM: sign-in, identity, API usage, and each object the loops need (``ok`` when all hold)."""

    crm: str
    ok: bool
    sign_in: dict[str, Any]
    instance: str | None
    user: dict[str, Any]
    api_usage: dict[str, Any] | None
    objects: list[dict[str, Any]]


class PolledObject(Frozen):
    """What one poll of one object found."""

    object: str
    since: dt.datetime
    changed: int
    accepted: int
    duplicates: int
    watermark: dt.datetime | None


class InboxEvent(Frozen):
    """An event of the inbox with its processing state."""

    id: str
    type: str
    record_id: str
    source: str
    status: str
    deliveries: int
    reason: str | None


class InboxView(Frozen):
    """The events inbox: counts by status and the oldest entries."""

    counts: dict[str, int]
    events: list[InboxEvent]


class EventsAccepted(Frozen):
    """What a delivery of events did."""

    accepted: int
    duplicates: int
    rejected: list[dict[str, str]]


class CrmActions(AppBase):
    """Data in and out of the CRM, and its events."""

    def seed_org(self, caller: Caller, *, users: int = 20, accounts: int = 500, leads: int = 2000, seed: int = 7,
                 progress: Progress | None = None, history: bool = True) -> SeedResult:
        """Write a realistic synthetic org into the local CRM, deterministic for a seed; the active roster's
        named reps come first (created on their roster start).

        With ``history`` (the default) the org carries the year before its today (``as_of``): dated records,
        leads routed (their route decisions in the decision log, actor ``seed``), touched and converted, each
        opportunity's stage changes (its OpportunityHistory) and the reps' activity. Without it every record
        is dated now and every lead waits in a queue, as fresh inbound.
        """
        from revloops.loops.generate.roster import named_users_from_config
        from revloops.loops.generate.seed import AS_OF, generate_org, write_org

        self.require(caller, "ops")
        if self.settings.crm != "local":
            raise InputError("seed writes synthetic data and only runs against the local CRM", field="REVLOOPS_CRM")
        for name, n in (("users", users), ("accounts", accounts), ("leads", leads)):
            if n < 0:
                raise InputError(f"{name} cannot be negative", field=name)
        named = named_users_from_config(self.platform.config) if Path(self.settings.config).is_dir() else []
        org = generate_org(users=users, accounts=accounts, leads=leads, seed=seed, named_users=named, history=history)
        created = write_org(self.platform.crm, org, progress=progress, decisions=self.platform.decisions,
                            together=self.platform.uow.together)
        return SeedResult(created=created, as_of=AS_OF)

    def load_records(self, caller: Caller, sobject: str, file: Path, *, upsert_key: str | None = None,
                     progress: Progress | None = None) -> LoadResult:
        """Upsert records from a CSV or JSONL file in Salesforce field names (a Data Loader, Bulk API or REST
        export loads as it is).

        A row matching a record by ``Id`` (or by ``upsert_key``: an external id, ``Username``, ``Email``...) updates
        the fields that differ; the others are created, keeping their Id. Columns the record cannot hold are
        skipped with one warning. The file is checked whole first: a bad value, id or missing required field
        rejects it, naming line and field, and nothing is written (with the embedded CRM, a write the CRM refuses
        undoes the whole load too).

        Args:
            caller: who loads (ops and up).
            sobject: the object of every row, e.g. ``Lead``.
            file: the CSV or JSONL file.
            upsert_key: the field rows are matched on (default ``Id``).
            progress: called with (rows done, rows in all) after each batch of 200.

        Raises:
            InputErrors: every problem of the file, each with its line and field.
        """
        self.require(caller, "ops")
        loaded = load_file(self.platform.crm, file, sobject, upsert_key=upsert_key, progress=progress,
                           together=self.platform.uow.together)
        return LoadResult(object=loaded.sobject, upsert_key=loaded.upsert_key, created=loaded.created,
                          updated=loaded.updated, unchanged=loaded.unchanged,
                          skipped_columns=loaded.skipped_columns, warnings=loaded.warnings)

    def export_records(self, caller: Caller, sobject: str) -> Iterator[dict[str, Any]]:
        """Every record of an object in Salesforce field names (streamed)."""
        self.require(caller, "ops")
        return iter(export_rows(self.platform.crm, sobject))

    def export_csv(self, caller: Caller, sobject: str, out: Any) -> int:
        """Every record of an object as CSV into ``out``; answers the row count."""
        return write_csv(self.export_records(caller, sobject), sobject, out)

    def check_crm(self, caller: Caller) -> CrmCheck:
        """What CRM is configured, whether sign-in works, API usage and the permissions the loops need."""
        self.require(caller, "ops")
        return CrmCheck.model_validate(crm_check(self.settings, lambda: self.platform.crm))

    def poll_crm(self, caller: Caller, since: dt.datetime | None = None) -> list[PolledObject]:
        """Read CRM changes by SystemModstamp watermark (with overlap) into the events inbox (each once)."""
        from revloops.loops.generate.poller import poll

        self.require(caller, "ops")
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return [PolledObject(object=r.sobject, since=r.since, changed=r.changed, accepted=r.accepted,
                             duplicates=r.duplicates, watermark=r.watermark)
                for r in poll(self.platform.crm, self.platform.inbox, since=since)]

    def list_events(self, caller: Caller, status: str | None = None, limit: int = 50) -> InboxView:
        """The events inbox: counts by status and the oldest entries (of one status)."""
        self.require(caller, "ops")
        if status is not None and status not in ("pending", "rejected", "processing", "done", "failed", "skipped"):
            raise InputError("status is pending, rejected, processing, done, failed or skipped", field="status")
        inbox = self.platform.inbox
        entries = inbox.entries(status=status, limit=limit)
        return InboxView(counts=inbox.counts(), events=[InboxEvent(
            id=e.event.id, type=e.event.type, record_id=e.event.record_id, source=e.source, status=e.status,
            deliveries=e.deliveries, reason=e.reason) for e in entries])

    def accept_events(self, events: Sequence[CrmEvent], source: str) -> EventsAccepted:
        """Record CRM events in the durable inbox once each (a known id is a duplicate with no effect)."""
        result = self.platform.inbox.accept(events, source)
        return EventsAccepted(accepted=result.accepted, duplicates=result.duplicates, rejected=result.rejected)

    def verify_events(self, body: bytes, signature: str | None) -> None:
        """Check a webhook delivery's signature ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.

        Raises:
            Unauthenticated: no secret is configured, or the signature is missing, wrong or stale.
        """
        secret = self.settings.events_secret
        if secret is None:
            raise Unauthenticated("events endpoint has no secret configured")
        try:
            verify(secret.get_secret_value(), body, signature)
        except BadSignature as exc:
            raise Unauthenticated(str(exc)) from None
