"""The warehouse's sources in the state database and the CRM, read as columns.

CRM objects come through the CRM port's columnar read (the embedded CRM straight from its tables, Salesforce
through Bulk API 2.0 query jobs), incrementally by ``SystemModstamp``. The loops' own state (the decision log,
plans, the signal ledger, sequences, spend) is read from its tables with ``columns.read_table``, incrementally
by the column each table's rows are written or changed at. JSON columns arrive as their JSON text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import polars as pl
import sqlalchemy as sa

from revloops.adapters.sql import tables as t
from revloops.adapters.sql.columns import read_table
from revloops.core.errors import RevloopsError
from revloops.core.frames import frame_schema
from revloops.core.records import SOBJECTS
from revloops.ports.crm import CRM, Query
from revloops.ports.warehouse import Source, WarehouseSources


def _dtype(column: sa.Column[Any]) -> pl.DataType:
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return pl.Datetime("us", "UTC")
    if isinstance(kind, sa.Date):
        return pl.Date()
    if isinstance(kind, sa.Boolean):
        return pl.Boolean()
    if isinstance(kind, sa.Float):
        return pl.Float64()
    if isinstance(kind, sa.Integer):  # BigInteger and Integer
        return pl.Int64()
    return pl.String()  # text, strings, JSON (as its text)


def _schema(table: sa.Table, columns: tuple[str, ...]) -> pl.Schema:
    return pl.Schema({name: _dtype(table.c[name]) for name in columns})


#: the loops' state tables: (table, key, watermark column, columns left out, description)
_STATE: tuple[tuple[sa.Table, tuple[str, ...], str | None, frozenset[str], str], ...] = (
    (t.decisions, ("id",), "created_at", frozenset({"trace"}),
     "every decision of every loop: routing owners, scores, territories, plays (the trace stays in the log)"),
    (t.engage_sequences, ("lead_id",), "created_at", frozenset({"decision"}),
     "Engage's sequence per lead: its play, owner, composer and steps"),
    (t.plan_instances, ("id",), "updated_at", frozenset(),
     "Pursue, Onboard and Expand plans: the play, the record, the status and the outcome"),
    (t.plan_milestones, ("instance_id", "milestone_id"), "updated_at", frozenset(),
     "each plan's milestones: owner, due date, completion"),
    (t.signals, ("id",), None, frozenset(),
     "the signal ledger: outbound signals with their sources, strength and outreach"),
    (t.signal_scans, ("id",), "at", frozenset(), "each scan of a target account: found, kept, dropped, cost"),
    (t.llm_spend, ("id",), "created_at", frozenset(), "every LLM call's tokens and cost"),
    (t.enrichment_spend, ("id",), "created_at", frozenset(), "every enrichment call's status and credits"),
)


def crm_table(sobject: str) -> str:
    """The warehouse table of a CRM object: ``crm_`` and the object's name in lower case."""
    return f"crm_{sobject.lower()}"


class StateSources(WarehouseSources):
    """The warehouse's sources: every CRM object, and the loops' state tables."""

    def __init__(self, crm: CRM, engine: sa.Engine) -> None:
        self.crm = crm
        self.engine = engine
        self._state = {table.name: (table, skip) for table, _, _, skip, _ in _STATE}

    def sources(self) -> list[Source]:
        """See ``WarehouseSources.sources``."""
        crm = [Source(crm_table(name), "crm", name, ("Id",), "SystemModstamp", tuple(model.model_fields),
                      f"the CRM's {name} records")
               for name, model in SOBJECTS.items()]
        state = [Source(table.name, "state", table.name, key, mark,
                        tuple(c.name for c in table.columns if c.name not in skip), text)
                 for table, key, mark, skip, text in _STATE]
        return crm + state

    def read(self, source: Source, since: dt.datetime | None) -> Iterator[pl.DataFrame]:
        """See ``WarehouseSources.read``."""
        columns = source.columns or ()
        if source.kind == "crm":
            yield from self.crm.read_columns(source.origin, list(columns), modified_since=since)
            return
        table, _ = self._state[source.origin]
        where = table.c[source.watermark] >= since if since is not None and source.watermark else None
        yield from read_table(self.engine, table, _schema(table, columns), key=source.key[0], where=where)

    def schema(self, source: Source) -> pl.Schema:
        """See ``WarehouseSources.schema``."""
        columns = source.columns or ()
        if source.kind == "crm":
            return frame_schema(source.origin, columns)
        table, _ = self._state[source.origin]
        return _schema(table, columns)

    def count(self, source: Source) -> int | None:
        """See ``WarehouseSources.count``: the CRM's count for its objects, a COUNT(*) for the state's."""
        if source.kind == "crm":
            try:
                return self.crm.query(Query(source.origin, limit=1)).total
            except RevloopsError:  # a count is only for the progress bar: an object the org lacks is unknown
                return None
        table, _ = self._state[source.origin]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
