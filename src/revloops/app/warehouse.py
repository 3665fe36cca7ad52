"""The revenue warehouse's actions: refresh, tables, read-only SQL, metrics, Coach, the report, publish.

Metrics and Coach read the warehouse opened read-only; a refresh opens it for writing (DuckDB lets one
process write a file at a time, so a query during a refresh waits for a clear "busy" answer). Data scope is
applied here: a rep's metrics are their own rows, a manager's their team's (through ``ManagerId``); metrics
over views without an owner (ARR, capacity) are org-wide figures, for leadership and up.
"""

from __future__ import annotations

import datetime as dt
import difflib
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from revloops.app.base import AppBase
from revloops.config.loader import load_config
from revloops.config.version import config_version
from revloops.core.errors import Forbidden, InputError
from revloops.core.identity import Caller
from revloops.core.model import Frozen
from revloops.loops.coach import config as coach_config
from revloops.loops.coach import insights as coach
from revloops.loops.coach import report_build
from revloops.loops.coach.config import MetricsFile
from revloops.loops.coach.metrics import GRAINS, MetricRequest, Registry
from revloops.loops.coach.suggest import suggest
from revloops.loops.coach.warehouse import RefreshReport, refresh
from revloops.loops.design import flow as design_flow
from revloops.loops.design.inherit import resolve_scenario
from revloops.ports.warehouse import Warehouse

Progress = Callable[[str, int, int | None], None]
Scalar = str | int | float | bool


class TableLoad(Frozen):
    """One table of a refresh: full or incremental, rows read, rows held, its new watermark."""

    table: str
    mode: str
    read: int
    rows: int
    watermark: dt.datetime | None = None
    seconds: float
    notes: list[str] = []


class WarehouseRefresh(Frozen):
    """What a refresh did."""

    location: str
    full: bool
    as_of: dt.date
    read: int
    seconds: float
    loads: list[TableLoad]
    derived: dict[str, int]
    facts: dict[str, str]
    views: list[str]
    problems: list[str]


class WarehouseTable(Frozen):
    """A table or view of the warehouse."""

    name: str
    kind: str
    rows: int | None
    columns: list[tuple[str, str]]
    description: str


class SqlAnswer(Frozen):
    """The rows of one read-only statement."""

    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
    truncated: bool
    elapsed_ms: float


class MetricInfo(Frozen):
    """A metric of the registry."""

    id: str
    label: str
    type: str
    unit: str
    description: str
    view: str | None
    dimensions: list[str]
    timed: bool


class MetricAnswer(Frozen):
    """A metric computed: its rows (``period`` when a grain, the dimensions, ``value``; ratios also their
    numerator and denominator), and the SQL that computed them."""

    metric: str
    label: str
    unit: str
    grain: str | None
    by: list[str]
    columns: list[str]
    rows: list[dict[str, Any]]
    sql: str
    params: list[Any]
    scoped: bool


class TeamPerformance(Frozen):
    """Per rep of the caller's scope: speed to lead, SLA, conversion, activity, pipeline, wins."""

    start: dt.date
    end: dt.date
    sla_hours: float
    reps: list[coach.RepRow]


class CoachInsights(Frozen):
    """Coach's insights for a scope, most severe first."""

    as_of: dt.date
    window_days: int
    insights: list[coach.Insight]


class Digest(Frozen):
    """A manager's digest: the team's figures and the insights about its members."""

    manager_id: str
    manager_name: str | None
    as_of: dt.date
    team: TeamPerformance
    insights: list[coach.Insight]


class MotionSuggestion(Frozen):
    """What the actuals say about one motion."""

    motion: str
    rep_months: int
    productivity_factor: float | None
    planned_ramp: list[float]
    suggested_ramp: list[float]


class ScenarioSuggestion(Frozen):
    """A scenario file suggested from the actuals: its text, its diff, what it changes in capacity."""

    scenario: str
    extends: str
    file: str
    diff: str
    written: bool
    motions: list[MotionSuggestion]
    capacity_before: float
    capacity_after: float
    target: float


class ReportResult(Frozen):
    """The static report written: where, its sections and charts, how long it took."""

    path: str
    sections: list[str]
    charts: int
    seconds: float
    bytes: int


class PublishResult(Frozen):
    """The warehouse copied to a Postgres schema: tables and rows, rows per second."""

    schema_name: str
    tables: dict[str, int]
    rows: int
    seconds: float
    rows_per_second: float


def _grain(grain: str | None) -> Any:
    if grain is not None and grain not in GRAINS:
        raise InputError(f"grain must be one of {', '.join(GRAINS)}", field="grain")
    return grain


class WarehouseActions(AppBase):
    """The warehouse, metrics and Coach."""

    # -- plumbing -----------------------------------------------------------------------------------------
    def _reader(self) -> Warehouse:
        if not Path(self.settings.warehouse_path).exists():  # a refresh makes the file; nothing else does
            raise InputError("the warehouse has not been loaded: run `revloops warehouse refresh` first",
                             field="warehouse")
        return self.platform.warehouse(read_only=True)

    def _metrics_file(self) -> MetricsFile:
        path = Path(self.settings.config) / "coach" / "metrics.yaml"
        stamp = (str(path), path.stat().st_mtime_ns if path.exists() else 0)
        cached = getattr(self, "_metrics_cache", None)
        if cached is not None and cached[0] == stamp:
            return cached[1]  # type: ignore[no-any-return]
        found = self._load_metrics_file()
        self._metrics_cache = (stamp, found)
        return found

    def _load_metrics_file(self) -> MetricsFile:
        if "config" in vars(self.platform):  # the whole config is loaded already (a server, the engine)
            found = self.platform.config.get("coach_metrics")
        else:  # a CLI command: parse Coach's file alone (with its checks), not the whole directory
            found = load_config(self.settings.config, specs=coach_config.FILES,
                                checks=coach_config.CHECKS).get("coach_metrics")
        if not isinstance(found, MetricsFile):
            raise InputError("the config has no coach/metrics.yaml", field="config")
        return found

    def _registry(self) -> Registry:
        return Registry(self._metrics_file().definitions)

    def _as_of(self, wh: Warehouse) -> dt.date:
        frame = wh.query("SELECT as_of FROM warehouse_meta")
        value = frame["as_of"][0] if frame.height else None
        return value if isinstance(value, dt.date) else dt.datetime.now(dt.UTC).date()

    # -- refresh, tables, sql -----------------------------------------------------------------------------
    def refresh_warehouse(self, caller: Caller, *, full: bool = False, as_of: dt.date | None = None,
                          tables: Sequence[str] | None = None, progress: Progress | None = None) -> WarehouseRefresh:
        """Load the warehouse from the CRM and the loops' state: incrementally from each table's last mark, or
        everything with ``full`` (which also drops rows deleted at the source); then Design's plan, Coach's
        SLA and the views. Each table commits on its own: a refresh stopped half way resumes."""
        self.require(caller, "ops")
        known = {s.table for s in self.platform.warehouse_sources.sources()}
        unknown = sorted(set(tables or ()) - known)
        if unknown:
            raise InputError(f"no source table {', '.join(unknown)} (tables: {', '.join(sorted(known))})",
                             field="tables")
        wh = self.platform.warehouse(read_only=False)
        try:
            # the config is parsed only when the tables made from it are out of date (its version tells)
            report = refresh(self.platform.warehouse_sources, wh, lambda: self.platform.config, full=full,
                             as_of=as_of or self.settings.warehouse_as_of, only=set(tables) if tables else None,
                             progress=progress, version=config_version(Path(self.settings.config)))
        finally:
            wh.close()
        return _refresh_view(report)

    def warehouse_tables(self, caller: Caller) -> list[WarehouseTable]:
        """The warehouse's tables (with rows) and views, with their columns and what a row is."""
        self.require(caller, "ops")
        wh = self._reader()
        try:
            return [WarehouseTable(name=t.name, kind=t.kind, rows=t.rows, columns=list(t.columns),
                                   description=t.description) for t in wh.tables()]
        finally:
            wh.close()

    def run_sql(self, caller: Caller, sql: str) -> SqlAnswer:
        """One read-only statement over the warehouse (SELECT, WITH, DESCRIBE, SHOW, EXPLAIN): anything else,
        and reading files or the network, is refused; rows are capped and a slow query is interrupted."""
        self.require(caller, "ops")
        answer = self.platform.warehouse_sql(sql)
        return SqlAnswer(columns=answer.columns, types=answer.types,
                         rows=[[_jsonable(v) for v in row] for row in answer.rows], truncated=answer.truncated,
                         elapsed_ms=answer.elapsed_ms)

    # -- metrics ------------------------------------------------------------------------------------------
    def list_metrics(self, caller: Caller) -> list[MetricInfo]:
        """The metric registry: each metric's label, kind, unit, dimensions and whether it has a time grain."""
        reg = self._registry()
        out = []
        for d in self._metrics_file().definitions:
            view = reg.view_of(d.id)
            out.append(MetricInfo(id=d.id, label=d.label, type=d.type, unit=d.unit, description=d.description,
                                  view=view.name if view else None, dimensions=list(reg.dimensions(d.id)),
                                  timed=reg.has_time(d.id)))
        return out

    def metric(self, caller: Caller, metric: str, *, grain: str | None = "month", by: Sequence[str] = (),
               where: Mapping[str, Scalar | Sequence[Scalar]] | None = None, start: dt.date | None = None,
               end: dt.date | None = None) -> MetricAnswer:
        """One metric by period and dimensions, from the registry's definition; a scoped caller sees the
        rows of their own records (a rep) or their team's (a manager)."""
        return self._answers(caller, [metric], grain=grain, by=by, where=where, start=start, end=end)[0]

    def _answers(self, caller: Caller, metrics: Sequence[str], *, grain: str | None, by: Sequence[str],
                 where: Mapping[str, Scalar | Sequence[Scalar]] | None, start: dt.date | None,
                 end: dt.date | None) -> list[MetricAnswer]:
        """Metrics compiled from the registry and run over one opening of the warehouse."""
        reg = self._registry()
        owners = self.visible_owners(caller)
        if start is not None and end is not None and end <= start:
            raise InputError("end must be after start", field="end")
        asked = []
        for metric in metrics:
            definition = reg.get(metric)
            scope = None
            if owners is not None:
                view = reg.view_of(metric)
                if view is None or "owner_id" not in view.dimensions:
                    raise Forbidden(f"{metric} is an org-wide figure: it needs the leadership tier",
                                    needs="leadership")
                scope = ("owner_id", tuple(sorted(owners)))
            its_grain = _grain(grain) if reg.has_time(metric) else None
            req = MetricRequest(metric, grain=its_grain, by=tuple(by), where=dict(where or {}), start=start,
                                end=end, scope=scope)
            asked.append((metric, definition, its_grain, scope, reg.compile(req)))
        wh = self._reader()
        try:
            frames = [wh.query(compiled.sql, compiled.params) for *_, compiled in asked]
        finally:
            wh.close()
        return [MetricAnswer(metric=metric, label=definition.label, unit=definition.unit, grain=its_grain,
                             by=list(by), columns=frame.columns,
                             rows=[{k: _jsonable(v) for k, v in row.items()} for row in frame.to_dicts()],
                             sql=compiled.sql, params=[_jsonable(p) for p in compiled.params],
                             scoped=scope is not None)
                for (metric, definition, its_grain, scope, compiled), frame in zip(asked, frames, strict=True)]

    def funnel_report(self, caller: Caller, *, by: Sequence[str] = (), grain: str | None = "month",
                      start: dt.date | None = None, end: dt.date | None = None) -> list[MetricAnswer]:
        """The funnel: leads, MQLs, conversions, the stage rates and speed to lead, by the dimensions and
        period asked (segment, source, owner, route rule...), over one opening of the warehouse."""
        self.require(caller, "ops")
        ids = ("leads", "mqls", "conversions", "lead_to_mql", "mql_to_opportunity", "first_touch_p50_h",
               "sla_compliance")
        return self._answers(caller, ids, grain=grain, by=by, where=None, start=start, end=end)

    # -- Coach --------------------------------------------------------------------------------------------
    def _window(self, metrics: MetricsFile, kind: str, default: int = 30) -> int:
        return next((m.window_days for m in metrics.metrics if m.kind == kind), default)

    def team_performance(self, caller: Caller, *, start: dt.date | None = None,
                         end: dt.date | None = None) -> TeamPerformance:
        """Per rep in the caller's scope: speed to lead (p50, p95), SLA breaches, conversion, activity,
        pipeline and wins over the window (default: the SLA metric's window up to the warehouse's as-of)."""
        self.require(caller, "manager")
        metrics = self._metrics_file()
        wh = self._reader()
        try:
            as_of = self._as_of(wh)
            last = end or as_of + dt.timedelta(days=1)
            first = start or last - dt.timedelta(days=self._window(metrics, "speed_to_lead"))
            if last <= first:
                raise InputError("end must be after start", field="end")
            rows = coach.team_rows(wh, first, last, self.visible_owners(caller))
        finally:
            wh.close()
        return TeamPerformance(start=first, end=last, sla_hours=metrics.sla.first_touch_hours, reps=rows)

    def coach_insights(self, caller: Caller, *, kinds: Sequence[str] | None = None) -> CoachInsights:
        """Coach's insights in the caller's scope: slow first touch, stalled deals, ramp behind the curve, and
        (org-wide callers) routing rules whose leads convert far below the rest; each with its evidence rows
        and the query that found them."""
        metrics = self._metrics_file()
        allowed = ("slow_first_touch", "stalled_deal", "ramp_behind", "weak_rule")
        bad = sorted(set(kinds or ()) - set(allowed))
        if bad:
            raise InputError(f"unknown insight kind {', '.join(bad)} (kinds: {', '.join(allowed)})", field="kinds")
        window = self._window(metrics, "speed_to_lead")
        target = next((m.target for m in metrics.metrics if m.kind == "sla_breaches"), 0.05)
        wh = self._reader()
        try:
            as_of = self._as_of(wh)
            found = coach.insights(wh, as_of=as_of, window_days=window, sla_hours=metrics.sla.first_touch_hours,
                                   sla_target=target, owners=self.visible_owners(caller),
                                   kinds=[k for k in allowed if k in (kinds or allowed)])  # type: ignore[misc]
        finally:
            wh.close()
        return CoachInsights(as_of=as_of, window_days=window, insights=found)

    def coach_digest(self, caller: Caller, manager: str) -> Digest:
        """A manager's digest: their team's figures and Coach's insights about its members. ``manager`` is a
        user id, username or e-mail; a manager asks for their own, leadership and ops for anyone's."""
        self.require(caller, "manager")
        manager_id = self._crm_user_id(manager)
        if manager_id is None:
            raise InputError(f"no user {manager!r}", field="manager")
        if not caller.org_wide and manager_id != caller.user_id:
            raise Forbidden("a manager reads their own digest", needs="leadership")
        as_manager = Caller(user_id=manager_id, tier="manager", name=manager, channel=caller.channel)
        team = self.team_performance(as_manager)
        found = self.coach_insights(as_manager).insights
        user = self.platform.crm.get("User", manager_id)
        return Digest(manager_id=manager_id, manager_name=getattr(user, "Name", None), as_of=team.end
                      - dt.timedelta(days=1), team=team, insights=found)

    def coach_suggest(self, caller: Caller, *, write: bool = False, scenario: str | None = None) -> ScenarioSuggestion:
        """A new scenario file with ramp curves and productivity adjusted from the named reps' actuals, as a
        diff and its effect on capacity against the base scenario (the active one by default). Written only
        with ``write``; the active scenario is never changed."""
        self.require(caller, "ops")
        cfg = load_config(self.settings.config)
        capacity = design_flow.list_scenarios(cfg)
        base = scenario or next((s.id for s in capacity if s.active), None)
        if base is None:
            raise InputError("no active scenario", field="scenario")
        plan = resolve_scenario(cfg, base)
        wh = self._reader()
        try:
            as_of = self._as_of(wh)
            rows = wh.query("SELECT motion, tenure_month, ramp, full_monthly, bookings FROM rep_ramp "
                            "WHERE month <= ? AND full_monthly > 0", [as_of])
        finally:
            wh.close()
        new_id = f"{base}_actuals"
        found = suggest(rows, plan, as_of=as_of, new_id=new_id)
        root = Path(self.settings.config)
        target = root / "design" / "scenarios" / f"{new_id}.yaml"
        before = target.read_text() if target.exists() else ""
        diff = "".join(difflib.unified_diff(before.splitlines(keepends=True), found.text.splitlines(keepends=True),
                                            fromfile=f"a/design/scenarios/{new_id}.yaml",
                                            tofile=f"b/design/scenarios/{new_id}.yaml"))
        with tempfile.TemporaryDirectory() as tmp:  # the capacity effect, computed on a copy of the config
            copy = Path(tmp) / "config"
            shutil.copytree(root, copy)
            (copy / "design" / "scenarios" / f"{new_id}.yaml").write_text(found.text)
            compared = design_flow.compare_scenarios(load_config(copy), base, new_id, draws=200)
        a, b = compared.runs
        if write:
            target.write_text(found.text)
        return ScenarioSuggestion(
            scenario=new_id, extends=base, file=str(target), diff=diff, written=write,
            motions=[MotionSuggestion(**vars(c)) for c in found.changes],
            capacity_before=a.total.capacity, capacity_after=b.total.capacity, target=a.total.target or 0.0)

    # -- the report and publishing ------------------------------------------------------------------------
    def build_report(self, caller: Caller, out: Path) -> ReportResult:
        """One static HTML file (every script and style inside it, no network): funnel, speed to lead, routing,
        coverage, capacity against plan, pipeline, retention and Coach's insights, with charts."""
        self.require(caller, "leadership")
        started = dt.datetime.now(dt.UTC)
        registry = self._registry()
        found = self.coach_insights(caller).insights
        wh = self._reader()
        try:
            model = report_build.build(wh, registry, found, as_of=self._as_of(wh),
                                       synthetic=self._synthetic_data(wh))
        finally:
            wh.close()
        html = report_build.render(model)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
        seconds = (dt.datetime.now(dt.UTC) - started).total_seconds()
        return ReportResult(path=str(out), sections=[s.title for s in model.sections],
                            charts=sum(len(s.charts) for s in model.sections), seconds=seconds,
                            bytes=len(html.encode()))

    def _synthetic_data(self, wh: Warehouse) -> list[str]:
        notes = []
        frame = wh.query("SELECT count(*) FILTER (WHERE synthetic) AS n FROM signals")
        if frame.height and int(frame["n"][0] or 0):
            notes.append("Signals come from the offline scanner's example news corpus, not the web.")
        enriched = wh.query("SELECT count(*) AS n FROM decisions WHERE loop = 'qualify' "
                            "AND detail->>'enrichment_synthetic' = 'true'")
        if enriched.height and int(enriched["n"][0] or 0):
            notes.append("Enrichment comes from the offline provider, which invents firmographics.")
        return notes

    def publish_warehouse(self, caller: Caller, url: str, *, schema: str = "revloops",
                          progress: Progress | None = None) -> PublishResult:
        """Copy every table and view of the warehouse to a Postgres schema (views as tables) for Hex and other
        notebooks; the schema is replaced whole in one transaction at the end, so readers never see half."""
        self.require(caller, "ops")
        wh = self._reader()
        try:
            result = self.platform.publish_warehouse(wh, url, schema, progress)
        finally:
            wh.close()
        return PublishResult(schema_name=schema, tables=result.tables, rows=result.rows, seconds=result.seconds,
                             rows_per_second=result.rows / result.seconds if result.seconds else 0.0)


def _refresh_view(report: RefreshReport) -> WarehouseRefresh:
    return WarehouseRefresh(
        location=report.location, full=report.full, as_of=report.as_of, read=report.read, seconds=report.seconds,
        loads=[TableLoad(table=r.table, mode=r.mode, read=r.read, rows=r.rows, watermark=r.watermark,
                         seconds=r.seconds, notes=r.notes) for r in report.loads],
        derived=report.derived, facts=report.facts, views=report.views, problems=report.problems)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool | dt.date | dt.datetime):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
