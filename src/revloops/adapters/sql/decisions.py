"""The decision log in the state database."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from revloops.adapters.sql.fast import fast_sql
from revloops.adapters.sql.tables import decisions
from revloops.core.decisions import Decision
from revloops.core.errors import NotFound
from revloops.ports.decisions import DecisionStore


def _row(d: Decision) -> dict[str, Any]:
    data = d.model_dump(mode="json")
    data["created_at"] = d.created_at
    return data


@functools.cache
def _insert_ignoring_duplicates(dialect: str) -> sa.Insert:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(decisions).on_conflict_do_nothing(index_elements=["id"])
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(decisions).on_conflict_do_nothing(index_elements=["id"])
    return decisions.insert().prefix_with("IGNORE")


def _decision(data: dict[str, Any]) -> Decision:
    if data["created_at"].tzinfo is None:
        data["created_at"] = data["created_at"].replace(tzinfo=dt.UTC)
    return Decision.model_validate(data)


def _for_record(loop: bool) -> sa.Select[Any]:
    stmt = sa.select(decisions).where(decisions.c.record_id == sa.bindparam("record_id"))
    if loop:
        stmt = stmt.where(decisions.c.loop == sa.bindparam("loop"))
    return stmt.order_by(decisions.c.created_at.desc(), decisions.c.id.desc()).limit(sa.bindparam("limit"))


class SqlDecisionStore(DecisionStore):
    """Decisions as rows; traces as JSON."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.sql = fast_sql(engine)

    def record(self, decision: Decision) -> Decision:
        self.record_many([decision])
        return decision

    def record_many(self, items: Sequence[Decision]) -> None:
        if not items:
            return
        # one statement: a decision already stored (same id) is left as it is
        insert = self.sql.prepare("decisions.insert", lambda: _insert_ignoring_duplicates(self.engine.dialect.name))
        with self.sql.unit(write=True) as unit:
            if len(items) == 1:
                unit.execute(insert, _row(items[0]))
            else:
                unit.execute_many(insert, [_row(d) for d in items])

    def get(self, decision_id: str) -> Decision:
        by_id = self.sql.prepare("decisions.get", lambda: sa.select(decisions).where(decisions.c.id == sa.bindparam("id")))
        with self.sql.unit() as unit:
            row = unit.first(by_id, {"id": decision_id})
        if row is None:
            raise NotFound(f"decision {decision_id} does not exist")
        return _decision(row)

    def for_record(self, record_id: str, limit: int = 20, loop: str | None = None) -> list[Decision]:
        stmt = self.sql.prepare(("decisions.for_record", bool(loop)), lambda: _for_record(bool(loop)))
        with self.sql.unit() as unit:
            rows = unit.all(stmt, {"record_id": record_id, "loop": loop, "limit": limit})
        return [_decision(r) for r in rows]

    def recent(self, loop: str | None = None, since: dt.datetime | None = None, limit: int = 100) -> list[Decision]:
        stmt = sa.select(decisions)
        if loop:
            stmt = stmt.where(decisions.c.loop == loop)
        if since:
            stmt = stmt.where(decisions.c.created_at >= since)
        stmt = stmt.order_by(decisions.c.created_at.desc(), decisions.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_decision(dict(r._mapping)) for r in conn.execute(stmt)]
