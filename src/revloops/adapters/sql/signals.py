"""The signal ledger on the state database: ``signals``, ``signal_scans`` and ``signal_budget``.

Folding a signal into its event and reserving budget are each one transaction: on SQLite a writer holds the
database's write lock for it (``BEGIN IMMEDIATE``); on Postgres the fold takes a transaction-scoped advisory
lock on (account, type) and the reservation is a conditional ``UPDATE`` (re-checked under the row lock), so
two workers can neither both add one event nor both take the last of the budget.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl
import sqlalchemy as sa

from revloops.adapters.sql.tables import signal_budget as sb
from revloops.adapters.sql.tables import signal_scans as ss
from revloops.adapters.sql.tables import signals as sg
from revloops.ports.ledger import SCORE_SCHEMA, Budget, SignalLedger, Spend, StoredScan, StoredSignal

#: dollars are summed as floats (reserve, then settle the difference): a reservation that fits the month to the
#: cent must not be refused for the 1e-17 those sums drift by
_USD_SLACK = 1e-9


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _signal(row: Mapping[str, Any]) -> StoredSignal:
    return StoredSignal(id=row["id"], domain=row["domain"], account_id=row["account_id"], type=row["type"],
                        headline=row["headline"], event_date=row["event_date"], sources=list(row["sources"]),
                        strength=row["strength"], confidence=row["confidence"], provider=row["provider"],
                        synthetic=bool(row["synthetic"]), scan_id=row["scan_id"],
                        first_seen=_aware(row["first_seen"]), outreach=row["outreach"],
                        outreach_at=_aware(row["outreach_at"]) if row["outreach_at"] is not None else None)


def _scan(row: Mapping[str, Any]) -> StoredScan:
    return StoredScan(id=row["id"], domain=row["domain"], at=_aware(row["at"]), status=row["status"],
                      reason=row["reason"], provider=row["provider"], found=row["found"], kept=row["kept"],
                      folded=row["folded"], dropped=list(row["dropped"]), searches=row["searches"],
                      input_tokens=row["input_tokens"], output_tokens=row["output_tokens"], usd=row["usd"])


def _insert_ignore(table: sa.Table, dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()


class SqlSignalLedger(SignalLedger):
    """The ledger on one SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def _begin(self) -> Any:
        conn = self.engine.connect()
        if self.dialect == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.begin()
        return conn

    def add(self, signal: StoredSignal, *, fold_days: int,
            same: Callable[[StoredSignal, StoredSignal], bool] | None = None) -> tuple[StoredSignal, str]:
        """See ``SignalLedger.add``."""
        lo = signal.event_date - dt.timedelta(days=fold_days)
        hi = signal.event_date + dt.timedelta(days=fold_days)
        conn = self._begin()
        try:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                             {"k": f"signal:{signal.domain}:{signal.type}"})
            found = conn.execute(sa.select(sg).where(sg.c.id == signal.id)).mappings().first()
            if found is None:
                near = conn.execute(
                    sa.select(sg).where(sg.c.domain == signal.domain, sg.c.type == signal.type,
                                        sg.c.event_date >= lo, sg.c.event_date <= hi)
                    .order_by(sg.c.first_seen, sg.c.id)).mappings().all()
                found = next((r for r in near if same is None or same(_signal(dict(r)), signal)), None)
            if found is not None:
                stored = _signal(dict(found))
                urls = {s.get("url") for s in stored.sources}
                fresh = [s for s in signal.sources if s.get("url") not in urls]
                if not fresh:
                    conn.commit()
                    return stored, "known"
                sources = [*stored.sources, *fresh]
                conn.execute(sg.update().where(sg.c.id == stored.id)
                             .values(sources=sources, confidence=max(stored.confidence, signal.confidence)))
                conn.commit()
                return StoredSignal(**{**stored.__dict__, "sources": sources,
                                       "confidence": max(stored.confidence, signal.confidence)}), "folded"
            conn.execute(sg.insert().values(**signal.__dict__))
            conn.commit()
            return signal, "new"
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def get(self, signal_id: str) -> StoredSignal | None:
        """See ``SignalLedger.get``."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sg).where(sg.c.id == signal_id)).mappings().first()
        return None if row is None else _signal(dict(row))

    def signals(self, *, domain: str | None = None, type: str | None = None, since: dt.date | None = None,
                limit: int = 100, offset: int = 0) -> tuple[list[StoredSignal], int]:
        """See ``SignalLedger.signals``."""
        where = []
        if domain is not None:
            where.append(sg.c.domain == domain)
        if type is not None:
            where.append(sg.c.type == type)
        if since is not None:
            where.append(sg.c.event_date >= since)
        stmt = sa.select(sg).where(*where).order_by(sg.c.event_date.desc(), sg.c.id).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            rows = [_signal(dict(r)) for r in conn.execute(stmt).mappings()]
            total = int(conn.execute(sa.select(sa.func.count()).select_from(sg).where(*where)).scalar_one())
        return rows, total

    def all_signals(self) -> list[StoredSignal]:
        """See ``SignalLedger.all_signals``."""
        with self.engine.connect() as conn:
            return [_signal(dict(r)) for r in conn.execute(sa.select(sg).order_by(sg.c.id)).mappings()]

    def score_frame(self) -> pl.DataFrame:
        """See ``SignalLedger.score_frame``: the four columns read as columns (``columns.read_table``)."""
        from revloops.adapters.sql.columns import read_table

        chunks = list(read_table(self.engine, sg, SCORE_SCHEMA, key="id"))
        return pl.concat(chunks) if chunks else pl.DataFrame(schema=SCORE_SCHEMA)

    def set_outreach(self, signal_id: str, run_id: str, at: dt.datetime) -> bool:
        """See ``SignalLedger.set_outreach``."""
        with self.engine.begin() as conn:
            done = conn.execute(sg.update().where(sg.c.id == signal_id, sg.c.outreach.is_(None))
                                .values(outreach=run_id, outreach_at=at))
        return bool(done.rowcount)

    def record_scan(self, scan: StoredScan) -> bool:
        """See ``SignalLedger.record_scan``."""
        with self.engine.begin() as conn:
            done = conn.execute(_insert_ignore(ss, self.dialect).values(**scan.__dict__))
        return bool(done.rowcount)

    def scans(self, *, domain: str | None = None, since: dt.datetime | None = None,
              limit: int = 1000) -> list[StoredScan]:
        """See ``SignalLedger.scans``."""
        stmt = sa.select(ss).order_by(ss.c.at.desc(), ss.c.id).limit(limit)
        if domain is not None:
            stmt = stmt.where(ss.c.domain == domain)
        if since is not None:
            stmt = stmt.where(ss.c.at >= since)
        with self.engine.connect() as conn:
            return [_scan(dict(r)) for r in conn.execute(stmt).mappings()]

    def last_scanned(self) -> Mapping[str, dt.datetime]:
        """See ``SignalLedger.last_scanned``."""
        stmt = (sa.select(ss.c.domain, sa.func.max(ss.c.at).label("at")).where(ss.c.status != "skipped")
                .group_by(ss.c.domain))
        with self.engine.connect() as conn:
            return {str(r["domain"]): _aware(r["at"]) for r in conn.execute(stmt).mappings()}

    def reserve(self, day: dt.date, searches: int, tokens: int, usd: float, budget: Budget) -> bool:
        """See ``SignalLedger.reserve``."""
        day_key, month_key = day.isoformat(), day.strftime("%Y-%m")
        conn = self._begin()
        try:
            for key in (day_key, month_key):
                conn.execute(_insert_ignore(sb, self.dialect).values(period=key, searches=0, tokens=0, usd=0.0))
            took_day = conn.execute(
                sb.update().where(sb.c.period == day_key, sb.c.searches + searches <= budget.searches_per_day,
                                  sb.c.tokens + tokens <= budget.tokens_per_day)
                .values(searches=sb.c.searches + searches, tokens=sb.c.tokens + tokens)).rowcount
            took_month = conn.execute(
                sb.update().where(sb.c.period == month_key, sb.c.usd + usd <= budget.usd_per_month + _USD_SLACK)
                .values(usd=sb.c.usd + usd)).rowcount
            if not (took_day and took_month):
                conn.rollback()
                return False
            conn.commit()
            return True
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def settle(self, day: dt.date, reserved: tuple[int, int, float], actual: tuple[int, int, float]) -> None:
        """See ``SignalLedger.settle``."""
        ds, dt_, du = (a - r for a, r in zip(actual, reserved, strict=True))
        with self.engine.begin() as conn:
            conn.execute(sb.update().where(sb.c.period == day.isoformat())
                         .values(searches=sb.c.searches + ds, tokens=sb.c.tokens + dt_))
            conn.execute(sb.update().where(sb.c.period == day.strftime("%Y-%m")).values(usd=sb.c.usd + du))

    def spend(self, day: dt.date) -> tuple[Spend, Spend]:
        """See ``SignalLedger.spend``."""
        keys = (day.isoformat(), day.strftime("%Y-%m"))
        with self.engine.connect() as conn:
            rows = {r.period: r for r in conn.execute(sa.select(sb).where(sb.c.period.in_(keys)))}
        out = []
        for key in keys:
            r = rows.get(key)
            out.append(Spend(key, int(r.searches), int(r.tokens), float(r.usd)) if r is not None else Spend(key))
        return out[0], out[1]
