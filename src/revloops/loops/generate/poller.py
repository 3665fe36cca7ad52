"""The CRM poller: changes by SystemModstamp watermark with overlap, turned into the same events as webhooks.

Events are written to the inbox before the watermark moves, so a crash between the two re-polls the same
changes, and their stable ids make them duplicates: nothing is lost and nothing runs twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from revloops.core.events import CrmEvent, event_id
from revloops.core.records import Account, Lead, Opportunity, SObject, Task
from revloops.ports.crm import CRM, Filter, Query
from revloops.ports.inbox import EventInbox

OVERLAP = dt.timedelta(minutes=2)
FIRST_LOOKBACK = dt.timedelta(hours=1)
POLLED = ("Lead", "Opportunity", "Account", "Task")


def _snapshot(record: SObject) -> dict[str, object]:
    return record.model_dump(mode="json", exclude_none=True)


def events_for(record: SObject, since: dt.datetime) -> list[CrmEvent]:
    """The events one changed record stands for (pure)."""
    stamp = record.SystemModstamp or since
    out: list[CrmEvent] = []

    def add(kind: str, discriminator: str | None, occurred: dt.datetime) -> None:
        out.append(CrmEvent(id=event_id(kind, record.Id or "", discriminator), type=kind,
                            object=record.sobject_type, record_id=record.Id or "", occurred_at=occurred,
                            record=_snapshot(record)))

    if isinstance(record, Lead):
        if record.CreatedDate and record.CreatedDate >= since:
            add("lead.created", None, record.CreatedDate)
        if record.IsConverted:
            add("lead.converted", None, stamp)
    elif isinstance(record, Opportunity):
        if record.CreatedDate and record.CreatedDate >= since:
            add("opportunity.created", None, record.CreatedDate)
        add("opportunity.stage_changed", record.StageName or "none", stamp)
        if record.IsWon:
            add("opportunity.closed_won", None, stamp)
    elif isinstance(record, Account):
        add("account.changed", stamp.isoformat(), stamp)
    elif isinstance(record, Task) and (record.Revloops_Key__c or "").startswith("plan:"):
        # only the tasks plans made; each completion (and each reopening) is its own change
        if record.Status == "Completed":
            done = record.CompletedDateTime or stamp
            add("task.completed", done.isoformat(), done)
        elif record.CreatedDate and record.LastModifiedDate and record.LastModifiedDate > record.CreatedDate:
            add("task.reopened", stamp.isoformat(), stamp)  # changed since created, and not done: maybe reopened
    return out


@dataclass(frozen=True)
class PollResult:
    """What one poll of one object found."""

    sobject: str
    since: dt.datetime
    changed: int
    accepted: int
    duplicates: int
    watermark: dt.datetime | None


def poll_object(crm: CRM, inbox: EventInbox, sobject: str, *, since: dt.datetime | None = None,
                overlap: dt.timedelta = OVERLAP, now: dt.datetime | None = None) -> PollResult:
    """Read one object's changes since its watermark (minus the overlap) into the inbox."""
    now = now or dt.datetime.now(dt.UTC)
    mark = inbox.watermark(sobject)
    start = since or ((mark - overlap) if mark else now - FIRST_LOOKBACK)
    query = Query(sobject, (Filter("SystemModstamp", "gte", start),), order_by=(("SystemModstamp", False),))
    changed = accepted = duplicates = 0
    newest: dt.datetime | None = None
    batch: list[CrmEvent] = []
    for record in crm.query_all(query):
        changed += 1
        batch.extend(events_for(record, start))
        if record.SystemModstamp and (newest is None or record.SystemModstamp > newest):
            newest = record.SystemModstamp
        if len(batch) >= 500:
            res = inbox.accept(batch, "poller")
            accepted, duplicates, batch = accepted + res.accepted, duplicates + res.duplicates, []
    if batch:
        res = inbox.accept(batch, "poller")
        accepted, duplicates = accepted + res.accepted, duplicates + res.duplicates
    if newest is not None:
        inbox.set_watermark(sobject, newest)
    return PollResult(sobject, start, changed, accepted, duplicates, inbox.watermark(sobject))


def poll(crm: CRM, inbox: EventInbox, objects: Iterable[str] = POLLED, **kwargs: object) -> list[PollResult]:
    """Poll every object the loops react to."""
    return [poll_object(crm, inbox, o, **kwargs) for o in objects]  # type: ignore[arg-type]
