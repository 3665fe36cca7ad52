"""Refreshing the revenue warehouse: every source loaded incrementally, Design's plan and the views rebuilt.

A source is read from its last mark on (``SystemModstamp`` for CRM objects, the decision log's ``created_at``,
a plan's ``updated_at``...): rows at or after the highest value the last load saw are read again and replace
the stored ones by key, so a refresh is idempotent and a row written in the instant of the last read is not
missed. A source whose columns changed, or that was never loaded, is loaded whole; ``full`` forgets every mark
first. Each table commits on its own, so a refresh stopped half way resumes where it stopped.

Deletes are not seen by an incremental read (the CRM's deleted records do not come back in a read by
modstamp); ``full`` reconciles them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from revloops.config.loader import GtmConfig
from revloops.loops.coach.config import MetricsFile
from revloops.loops.coach.views import FACTS, PLACEHOLDERS, VIEWS, Fact
from revloops.loops.design.config import CapacityConfig
from revloops.loops.design.flow import list_scenarios, load_plan, run_scenario
from revloops.ports.warehouse import (
    LoadMark,
    LoadResult,
    Source,
    Warehouse,
    WarehouseSources,
    schema_signature,
)

#: Progress: (table, rows done, rows in all or None)
Progress = Callable[[str, int, int | None], None]
_HISTORY_MONTHS = 36  # how far back a rep's months go in design_rep_months


@dataclass
class RefreshReport:
    """What a refresh did: per table its mode, rows read and held; the views; what could not be built."""

    location: str
    full: bool
    as_of: dt.date
    loads: list[LoadResult] = field(default_factory=list)
    derived: dict[str, int] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)
    views: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def read(self) -> int:
        return sum(r.read for r in self.loads)


def refresh(sources: WarehouseSources, warehouse: Warehouse, cfg: GtmConfig | Callable[[], GtmConfig], *,
            full: bool = False, as_of: dt.date | None = None, only: set[str] | None = None,
            progress: Progress | None = None, version: str | None = None) -> RefreshReport:
    """Load every source into the warehouse (incrementally unless ``full``), then Design's plan and the views.

    Args:
        sources: where the rows come from.
        warehouse: where they go.
        cfg: the config (Design's scenarios and roster, Coach's SLA and segments), or what loads it: it is
            only loaded when the tables made from it are out of date (``version`` tells, when given).
        full: forget every mark and load everything again (reconciles deletes).
        as_of: the day windows and ages count to (default: today, UTC).
        only: load only these tables (the views are rebuilt all the same).
        progress: called as rows land.
    """
    started = time.perf_counter()
    day = as_of or dt.datetime.now(dt.UTC).date()
    report = RefreshReport(warehouse.location, full, day)
    if full:
        warehouse.forget()
    marks = warehouse.marks()
    for source in sources.sources():
        if only is not None and source.table not in only:
            continue
        report.loads.append(_load(sources, warehouse, source, marks, progress))
    def config() -> GtmConfig:
        return cfg() if callable(cfg) else cfg

    if full or _stale(warehouse, version or config().version, day):
        for table, (frame, text) in derived_tables(config(), day).items():
            report.derived[table] = warehouse.put_frame(table, frame, text)
    for table, columns in PLACEHOLDERS.items():
        if not warehouse.has_table(table):
            warehouse.execute(f'CREATE TABLE "{table}" ({columns})')
            report.problems.append(f"{table}: not in the CRM; an empty table stands in for it")
    for fact in FACTS:
        report.facts[fact.table] = maintain(warehouse, fact)
    warehouse.settle()
    report.problems += warehouse.create_views([(v.name, v.sql, v.description) for v in VIEWS])
    failed = {p.split(":", 1)[0] for p in report.problems}
    report.views = [v.name for v in VIEWS if v.name not in failed]
    report.seconds = time.perf_counter() - started
    return report


def _stale(warehouse: Warehouse, version: str, day: dt.date) -> bool:
    """Whether the tables made from the config are missing, or from another config version or as-of day."""
    if not warehouse.has_table("warehouse_meta") or not warehouse.has_table("design_rep_months"):
        return True
    meta = warehouse.query("SELECT config_version, as_of FROM warehouse_meta")
    return meta.height != 1 or meta["config_version"][0] != version or meta["as_of"][0] != day


def maintain(warehouse: Warehouse, fact: Fact) -> str:
    """Bring a fact up to date with what changed since it last was: whole when it is missing or one of its
    sources was made anew (or a table it rebuilds on changed), else only the rows of the keys that changed.
    Answers how: ``full``, ``incremental`` or ``unchanged``."""
    rebuilt, changed = warehouse.pending()
    whole = (not warehouse.has_table(fact.table) or any(t in rebuilt for t in fact.sources)
             or any(t in changed for t in fact.rebuild))
    name = f'"{fact.table}"'
    if whole:
        warehouse.execute(f"CREATE OR REPLACE TABLE {name} AS {fact.select(False)}")
        return "full"
    parts = [sql for table, sql in fact.changes if table in changed]
    if not parts:
        return "unchanged"
    union = " UNION ALL ".join(f"({sql})" for sql in parts)
    warehouse.execute("BEGIN TRANSACTION")
    try:
        warehouse.execute(f"CREATE OR REPLACE TEMP TABLE _fact_keys AS SELECT DISTINCT k FROM ({union}) x(k) "
                          "WHERE k IS NOT NULL")
        warehouse.execute(f'DELETE FROM {name} WHERE "{fact.key}" IN (SELECT k FROM _fact_keys)')
        warehouse.execute(f"INSERT INTO {name} {fact.select(True)}")
        warehouse.execute("COMMIT")
    except BaseException:
        warehouse.execute("ROLLBACK")
        raise
    return "incremental"


def _load(sources: WarehouseSources, warehouse: Warehouse, source: Source, marks: dict[str, LoadMark],
          progress: Progress | None) -> LoadResult:
    schema = sources.schema(source)
    mark = marks.get(source.table)
    signature = schema_signature(schema)
    # loaded whole when never loaded, when its columns changed, or when it has no watermark column; a table
    # that was empty last time has no watermark yet and is read whole, but as an incremental load
    replace = mark is None or mark.signature != signature or source.watermark is None
    since = None if replace or mark is None else mark.watermark
    total = sources.count(source) if replace else None
    done = 0

    def on_rows(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(source.table, done, total)

    if progress:
        progress(source.table, 0, total)
    result = warehouse.load(source, schema, sources.read(source, since), replace=replace, on_rows=on_rows)
    if mark is not None and mark.signature != signature:
        result.notes.append("its columns changed since the last load: loaded whole")
    return result


# -- Design's plan and Coach's SLA as tables ----------------------------------------------------------------

def derived_tables(cfg: GtmConfig, as_of: dt.date) -> dict[str, tuple[pl.DataFrame, str]]:
    """The tables made from the config, not read from a store: Design's capacity by month of every scenario,
    its segments, the active roster's named reps month by month against their ramp, Coach's SLA, and the
    warehouse's as-of day."""
    out: dict[str, tuple[pl.DataFrame, str]] = {
        "warehouse_meta": (pl.DataFrame({"as_of": [as_of], "refreshed_at": [dt.datetime.now(dt.UTC)],
                                         "config_version": [cfg.version]}),
                           "the day windows and ages count to, when the warehouse was refreshed, the config"),
    }
    metrics = cfg.get("coach_metrics")
    sla = metrics.sla.first_touch_hours if isinstance(metrics, MetricsFile) else 4.0
    out["coach_sla"] = (pl.DataFrame({"first_touch_hours": [float(sla)]}), "Coach's first-touch SLA, in hours")
    capacity = cfg.get("capacity")
    if not isinstance(capacity, CapacityConfig):
        empty_capacity = pl.DataFrame(schema={"scenario": pl.String, "active": pl.Boolean, "month": pl.Date,
                                              "capacity": pl.Float64, "target": pl.Float64})
        out["design_capacity"] = (empty_capacity, "Design's capacity and target by scenario and month (none)")
        out["design_segments"] = (pl.DataFrame(schema={"id": pl.String, "label": pl.String,
                                                       "min_employees": pl.Int64, "max_employees": pl.Int64}), "")
        out["design_rep_months"] = (_rep_months_frame([]), "")
        return out
    out["design_segments"] = (pl.DataFrame({
        "id": [s.id for s in capacity.segments], "label": [s.label for s in capacity.segments],
        "min_employees": [s.employees.min for s in capacity.segments],
        "max_employees": [s.employees.max if s.employees.max is not None else 2**62 for s in capacity.segments],
    }), "Design's segments by employee range")
    rows: dict[str, list[object]] = {"scenario": [], "active": [], "month": [], "capacity": [], "target": []}
    for summary in list_scenarios(cfg):
        run = run_scenario(cfg, summary.id, draws=1)
        for label, cap, target in zip(run.months, run.month_capacity, run.month_target, strict=True):
            rows["scenario"].append(summary.id)
            rows["active"].append(summary.active)
            rows["month"].append(dt.date.fromisoformat(f"{label}-01"))
            rows["capacity"].append(float(cap))
            rows["target"].append(float(target))
    out["design_capacity"] = (pl.DataFrame(rows, schema={"scenario": pl.String, "active": pl.Boolean,
                                                         "month": pl.Date, "capacity": pl.Float64,
                                                         "target": pl.Float64}),
                              "Design's capacity and target by scenario and month")
    out["design_rep_months"] = (_rep_months_frame(_rep_months(cfg, capacity, as_of)),
                                "each named rep of the active scenario, month by month: tenure, ramp, "
                                "expected bookings")
    return out


def _month_key(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def _rep_months(cfg: GtmConfig, capacity: CapacityConfig, as_of: dt.date) -> list[dict[str, object]]:
    """Per named rep of the active scenario and month from their start (at most three years back) to
    ``as_of``: tenure month (1 = the month they started), the ramp then, the full-ramp monthly bookings for
    their motion, segment and territory, and the two multiplied: what Design expects of them that month."""
    plan = load_plan(cfg)
    rows: list[dict[str, object]] = []
    last = _month_key(as_of)
    for r, entry in enumerate(plan.entries):
        if entry.kind != "rep" or not entry.user:
            continue
        start = _month_key(entry.start)
        end = min(last, _month_key(entry.end) if entry.end else last)
        for key in range(max(start, last - _HISTORY_MONTHS + 1), end + 1):
            tenure = key - start
            ramp = float(plan.ramp[r, min(tenure, plan.ramp.shape[1] - 1)])
            quarter = ((key % 12) - (capacity.fiscal_year_start - 1)) % 12 // 3
            full = float(plan.prod[r, quarter])
            rows.append({"month": dt.date(key // 12, key % 12 + 1, 1), "username": entry.user,
                         "name": entry.name, "motion": entry.motion, "start": entry.start,
                         "tenure_month": tenure + 1, "ramp": ramp, "full_monthly": full, "expected": ramp * full})
    return rows


def _rep_months_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    schema = {"month": pl.Date, "username": pl.String, "name": pl.String, "motion": pl.String, "start": pl.Date,
              "tenure_month": pl.Int64, "ramp": pl.Float64, "full_monthly": pl.Float64, "expected": pl.Float64}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
