"""The sequence store: one composed sequence per lead in the state database, written once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from revloops.adapters.sql.tables import engage_sequences
from revloops.core.decisions import Decision
from revloops.loops.engage.logic import EngageSequence


@dataclass(frozen=True)
class StoredSequence:
    """A lead's stored sequence, the key of its task, the task's id once written, and the decision."""

    lead_id: str
    owner_id: str
    sequence: EngageSequence
    task_key: str
    task_id: str | None
    decision: Decision
    created_at: dt.datetime


def _stored(row: Any) -> StoredSequence:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
    seq = EngageSequence.model_validate(row.steps)  # the whole sequence, its steps included
    return StoredSequence(row.lead_id, row.owner_id, seq, row.task_key, row.task_id,
                          Decision.model_validate(row.decision), created)


class SequenceStore:
    """``engage_sequences``: keyed by lead id; the first write wins, later ones read it back."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def get(self, lead_id: str) -> StoredSequence | None:
        """The lead's sequence, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(engage_sequences).where(engage_sequences.c.lead_id == lead_id)).first()
        return None if row is None else _stored(row)

    def add(self, lead_id: str, owner_id: str, seq: EngageSequence, task_key: str,
            decision: Decision) -> StoredSequence:
        """Store the lead's sequence unless one is there already; answer the one stored."""
        created = dt.datetime.now(dt.UTC)
        values = dict(lead_id=lead_id, play_id=seq.play_id, owner_id=owner_id, composer=seq.composer,
                      fallback_reason=seq.fallback_reason, steps=seq.model_dump(mode="json"), task_key=task_key, task_id=None,
                      decision=decision.model_dump(mode="json"), created_at=created)
        try:
            with self.engine.begin() as conn:
                conn.execute(engage_sequences.insert().values(**values))
            return StoredSequence(lead_id, owner_id, seq, task_key, None, decision, created)
        except sa.exc.IntegrityError:
            pass  # a concurrent run for the same lead stored first: its sequence stands
        stored = self.get(lead_id)
        if stored is None:  # pragma: no cover - the insert or the concurrent one committed
            raise RuntimeError(f"the sequence of {lead_id} was neither stored nor found")
        return stored

    def set_task(self, lead_id: str, task_id: str) -> None:
        """Remember the task written for the lead's sequence."""
        with self.engine.begin() as conn:
            conn.execute(engage_sequences.update().where(engage_sequences.c.lead_id == lead_id)
                         .values(task_id=task_id))

    def all(self, since: dt.datetime | None = None) -> list[StoredSequence]:
        """Every stored sequence (from ``since`` on), oldest first."""
        stmt = sa.select(engage_sequences).order_by(engage_sequences.c.created_at)
        if since is not None:
            stmt = stmt.where(engage_sequences.c.created_at >= since)
        with self.engine.connect() as conn:
            return [_stored(r) for r in conn.execute(stmt)]
