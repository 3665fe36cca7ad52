"""The events inbox and poll watermarks in the state database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from revloops.adapters.sql.fast import fast_sql
from revloops.adapters.sql.tables import crm_events, poll_watermarks
from revloops.core.events import CrmEvent
from revloops.ports.inbox import AcceptResult, EventInbox, InboxEntry


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class SqlInbox(EventInbox):
    """Inserts keyed by event id: the primary key is what makes a second delivery a duplicate."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sql = fast_sql(engine)

    def accept(self, events: Sequence[CrmEvent], source: str) -> AcceptResult:
        for _attempt in range(3):
            try:
                return self._accept(events, source)
            except sa.exc.IntegrityError:
                continue  # a concurrent delivery inserted one of them first: recount
        return self._accept(events, source)

    def _accept(self, events: Sequence[CrmEvent], source: str) -> AcceptResult:
        now = dt.datetime.now(dt.UTC)
        ids = list({e.id for e in events})
        accepted, duplicates, rejected = 0, 0, []
        with self.engine.begin() as conn:
            seen: set[str] = set(conn.execute(sa.select(crm_events.c.id).where(crm_events.c.id.in_(ids))).scalars())
            if seen:
                conn.execute(crm_events.update().where(crm_events.c.id.in_(seen))
                             .values(deliveries=crm_events.c.deliveries + 1))
            rows: list[dict[str, Any]] = []
            for event in events:
                if event.id in seen:
                    duplicates += 1
                    continue
                seen.add(event.id)
                problem = event.problem()
                if problem:
                    rejected.append({"id": event.id, "reason": problem})
                else:
                    accepted += 1
                rows.append({
                    "id": event.id, "type": event.type, "sobject": event.object, "record_id": event.record_id,
                    "occurred_at": _utc(event.occurred_at), "payload": event.model_dump(mode="json"),
                    "source": source, "status": "rejected" if problem else "pending", "reason": problem,
                    "deliveries": 1, "received_at": now,
                })
            if rows:
                conn.execute(crm_events.insert(), rows)
        return AcceptResult(accepted, duplicates, rejected)

    def entries(self, status: str | None = None, limit: int = 100) -> list[InboxEntry]:
        stmt = sa.select(crm_events)
        if status:
            stmt = stmt.where(crm_events.c.status == status)
        stmt = stmt.order_by(crm_events.c.received_at, crm_events.c.id).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            InboxEntry(CrmEvent.model_validate(r.payload), r.source, r.status, r.deliveries, _utc(r.received_at),
                       r.reason, r.workflow_id)
            for r in rows
        ]

    def mark(self, event_id: str, status: str, *, workflow_id: str | None = None, reason: str | None = None,
             only_from: str | None = None) -> bool:
        values: dict[str, Any] = {"status": status, "reason": reason}
        if workflow_id:
            values["workflow_id"] = workflow_id
        if status in ("done", "failed", "skipped"):
            values["processed_at"] = dt.datetime.now(dt.UTC)
        stmt = crm_events.update().where(crm_events.c.id == event_id)
        if only_from is not None:
            stmt = stmt.where(crm_events.c.status == only_from)
        with self.engine.begin() as conn:
            return bool(conn.execute(stmt.values(values)).rowcount)

    def finish_workflow(self, workflow_id: str, reason: str | None = None) -> int:
        stmt = self.sql.prepare("inbox.finish_workflow", lambda: (
            crm_events.update()
            # failed too: a run retried after its events were marked failed finishes them when it finishes
            .where(crm_events.c.workflow_id == sa.bindparam("workflow_id_"),
                   sa.or_(crm_events.c.status == "processing", crm_events.c.status == "failed"))
            .values(status="done", reason=sa.bindparam("reason"), processed_at=sa.bindparam("processed_at"))))
        with self.sql.unit(write=True) as unit:
            return unit.execute(stmt, {"workflow_id_": workflow_id, "reason": reason,
                                       "processed_at": dt.datetime.now(dt.UTC)})

    def counts(self) -> dict[str, int]:
        stmt = sa.select(crm_events.c.status, sa.func.count()).group_by(crm_events.c.status)
        with self.engine.connect() as conn:
            return {str(row[0]): int(row[1]) for row in conn.execute(stmt)}

    def watermark(self, sobject: str) -> dt.datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(poll_watermarks.c.watermark).where(poll_watermarks.c.sobject == sobject)
            ).scalar_one_or_none()
        return _utc(value) if value is not None else None

    def set_watermark(self, sobject: str, value: dt.datetime) -> None:
        value = _utc(value)
        now = dt.datetime.now(dt.UTC)
        with self.engine.begin() as conn:
            current = conn.execute(
                sa.select(poll_watermarks.c.watermark).where(poll_watermarks.c.sobject == sobject).with_for_update()
            ).scalar_one_or_none()
            if current is None:
                conn.execute(poll_watermarks.insert().values(sobject=sobject, watermark=value, updated_at=now))
            elif _utc(current) < value:
                conn.execute(poll_watermarks.update().where(poll_watermarks.c.sobject == sobject)
                             .values(watermark=value, updated_at=now))
