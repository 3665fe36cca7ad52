"""The engage sequence store on the state database: one composed sequence per lead, written once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from revloops.adapters.sql.fast import fast_sql
from revloops.adapters.sql.tables import engage_sequences
from revloops.core.decisions import Decision
from revloops.ports.sequences import SequenceStore, StoredSequence


def _stored(row: Any) -> StoredSequence:
    data = row if isinstance(row, dict) else dict(row._mapping)
    created = data["created_at"] if data["created_at"].tzinfo else data["created_at"].replace(tzinfo=dt.UTC)
    # the ``steps`` column holds the whole sequence, its steps included
    return StoredSequence(data["lead_id"], data["owner_id"], data["steps"], data["task_key"], data["task_id"],
                          Decision.model_validate(data["decision"]), created)


def _insert_new(dialect: str) -> sa.Insert:
    """An insert that skips a lead already stored, so a lost race inside a unit of work does not abort it."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(engage_sequences).on_conflict_do_nothing(index_elements=["lead_id"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(engage_sequences).on_conflict_do_nothing(index_elements=["lead_id"])


def _by_lead() -> sa.Select[Any]:
    return sa.select(engage_sequences).where(engage_sequences.c.lead_id == sa.bindparam("lead_id"))


def _set_task() -> sa.Update:
    return (engage_sequences.update().where(engage_sequences.c.lead_id == sa.bindparam("lead_id_"))
            .values(task_id=sa.bindparam("task_id")))


class SqlSequenceStore(SequenceStore):
    """``engage_sequences``: keyed by lead id; the first write wins, later ones read it back."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sql = fast_sql(engine)

    def get(self, lead_id: str) -> StoredSequence | None:
        """The lead's sequence, or None."""
        with self.sql.unit() as unit:
            row = unit.first(self.sql.prepare("sequences.get", _by_lead), {"lead_id": lead_id})
        return None if row is None else _stored(row)

    def add(self, lead_id: str, owner_id: str, sequence: Mapping[str, Any], task_key: str,
            decision: Decision, task_id: str | None = None) -> StoredSequence:
        """See ``SequenceStore.add``."""
        created = dt.datetime.now(dt.UTC)
        values = dict(lead_id=lead_id, play_id=sequence["play_id"], owner_id=owner_id, composer=sequence["composer"],
                      fallback_reason=sequence.get("fallback_reason"), steps=dict(sequence), task_key=task_key,
                      task_id=task_id, decision=decision.model_dump(mode="json"), created_at=created)
        dialect = self.engine.dialect.name
        with self.sql.unit(write=True) as unit:
            written = unit.execute(self.sql.prepare("sequences.insert_new", lambda: _insert_new(dialect)), values)
        if written:
            return StoredSequence(lead_id, owner_id, sequence, task_key, task_id, decision, created)
        # a concurrent run for the same lead stored first: its sequence stands
        stored = self.get(lead_id)
        if stored is None:  # pragma: no cover - the insert or the concurrent one committed
            raise RuntimeError(f"the sequence of {lead_id} was neither stored nor found")
        return stored

    def set_task(self, lead_id: str, task_id: str) -> None:
        """Remember the task written for the lead's sequence."""
        with self.sql.unit(write=True) as unit:
            unit.execute(self.sql.prepare("sequences.set_task", _set_task), {"lead_id_": lead_id, "task_id": task_id})

    def all(self, since: dt.datetime | None = None) -> list[StoredSequence]:
        """Every stored sequence (from ``since`` on), oldest first."""
        stmt = sa.select(engage_sequences).order_by(engage_sequences.c.created_at)
        if since is not None:
            stmt = stmt.where(engage_sequences.c.created_at >= since)
        with self.engine.connect() as conn:
            return [_stored(r) for r in conn.execute(stmt)]
