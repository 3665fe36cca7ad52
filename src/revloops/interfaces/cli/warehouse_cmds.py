"""`revloops warehouse|sql|metrics|report|coach ...`: the revenue warehouse, its metrics, the report and Coach."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, TaskID
from rich.table import Table

from revloops.app.models import (
    CoachInsights,
    Digest,
    MetricAnswer,
    ScenarioSuggestion,
    SqlAnswer,
    TeamPerformance,
    WarehouseRefresh,
)
from revloops.core.errors import InputError
from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    application,
    console,
    emit_json,
    handles_errors,
    operator,
    progress_bar,
)

warehouse_app = typer.Typer(help="The revenue warehouse: a DuckDB file loaded from the CRM and the loops' state.",
                            no_args_is_help=True)
metrics_app = typer.Typer(help="The metric registry (config/coach/metrics.yaml) over the warehouse.",
                          no_args_is_help=True)
coach_app = typer.Typer(help="Coach: per-rep figures, insights with their evidence, feedback to Design.",
                        no_args_is_help=True)

DayOpt = Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"])]


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def _per_table(bar: Progress) -> Callable[[str, int, int | None], None]:
    """A progress callback drawing one bar per table."""
    tasks: dict[str, TaskID] = {}

    def progress(name: str, done: int, total: int | None) -> None:
        if name not in tasks:
            tasks[name] = bar.add_task(name, total=total)
        bar.update(tasks[name], completed=done)

    return progress


# -- warehouse ----------------------------------------------------------------------------------------------


def print_refresh(found: WarehouseRefresh) -> None:
    """Each table's load, then the views and anything that could not be built."""
    table = Table("table", "load", "read", "rows", "watermark", "seconds")
    for load in found.loads:
        table.add_row(load.table, load.mode, f"{load.read:,}", f"{load.rows:,}",
                      load.watermark.isoformat(timespec="seconds") if load.watermark else "-", f"{load.seconds:.2f}")
    console.print(table)
    derived = ", ".join(f"{k} {v}" for k, v in found.derived.items()) or "unchanged (same config and day)"
    console.print(f"from the config: {derived}")
    console.print("facts: " + ", ".join(f"{k} {v}" for k, v in found.facts.items()))
    console.print(f"{len(found.views)} views · {found.read:,} rows read in {found.seconds:.1f} s · as of "
                  f"{found.as_of} · {found.location}")
    for problem in found.problems:
        console.print(f"[yellow]view not built[/]: {escape(problem)}")


@warehouse_app.command("refresh")
@handles_errors
def refresh_cmd(full: Annotated[bool, typer.Option("--full", help="Forget every mark and load everything again "
                                                   "(also drops rows deleted at the source).")] = False,
                as_of: Annotated[dt.datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"],
                                                                  help="The day windows and ages count to.")] = None,
                table: Annotated[list[str] | None, typer.Option("--table", help="Load only this table "
                                                                "(repeatable).")] = None,
                config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Load the warehouse incrementally from each table's last mark (SystemModstamp, the decision log's time),
    then Design's plan, Coach's SLA and the views."""
    app = application(config, db)
    with progress_bar() as bar:
        progress = _per_table(bar)
        found = app.refresh_warehouse(operator(), full=full, as_of=_day(as_of), tables=table, progress=progress)
    emit_json(found) if as_json else print_refresh(found)


@warehouse_app.command("tables")
@handles_errors
def tables_cmd(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The warehouse's tables and views, with rows and what a row is (`--json` adds the columns)."""
    found = application(config, db).warehouse_tables(operator())
    if as_json:
        emit_json(found)
        return
    table = Table("name", "kind", "rows", "columns", "a row is")
    for t in found:
        table.add_row(t.name, t.kind, "-" if t.rows is None else f"{t.rows:,}", str(len(t.columns)),
                      escape(t.description))
    console.print(table)


@warehouse_app.command("publish")
@handles_errors
def publish_cmd(to: Annotated[str, typer.Option("--to", help="The Postgres URL, e.g. postgresql://user@host/db.")],
                schema: Annotated[str, typer.Option("--schema", help="The schema to (re)create.")] = "revloops",
                config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Copy every table and view to a Postgres schema (views as tables), for Hex and other notebooks; the
    schema is swapped in whole at the end."""
    app = application(config, db)
    with progress_bar() as bar:
        progress = _per_table(bar)
        found = app.publish_warehouse(operator(), to, schema=schema, progress=progress)
    if as_json:
        emit_json(found)
        return
    console.print(f"published {len(found.tables)} tables, {found.rows:,} rows to schema {found.schema_name} in "
                  f"{found.seconds:.1f} s ({found.rows_per_second:,.0f} rows/s)")


# -- sql ------------------------------------------------------------------------------------------------------


def print_sql(found: SqlAnswer) -> None:
    """The rows as a table, and whether there were more."""
    table = Table(*[escape(c) for c in found.columns])
    for row in found.rows:
        table.add_row(*[_cell(v) for v in row])
    console.print(table)
    more = " (capped: more rows exist; add a LIMIT or aggregate)" if found.truncated else ""
    console.print(f"{len(found.rows)} rows in {found.elapsed_ms:.0f} ms{more}")


@handles_errors
def sql(statement: Annotated[str, typer.Argument(help="One read-only statement: SELECT, WITH, DESCRIBE, SHOW "
                                                     "or EXPLAIN.")],
            config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Read-only SQL over the warehouse: anything but a query is refused, and so is reading files or the
    network; rows are capped (REVLOOPS_SQL_MAX_ROWS) and a slow query is interrupted."""
    found = application(config, db).run_sql(operator(), statement)
    emit_json(found) if as_json else print_sql(found)


# -- metrics ---------------------------------------------------------------------------------------------------


@metrics_app.command("list")
@handles_errors
def metrics_list_cmd(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every metric of the registry: kind, unit, the view it reads, its dimensions."""
    found = application(config, db).list_metrics(operator())
    if as_json:
        emit_json(found)
        return
    table = Table("metric", "label", "type", "unit", "view", "dimensions")
    for m in found:
        table.add_row(m.id, escape(m.label), m.type, m.unit, m.view or "-", ", ".join(m.dimensions) or "-")
    console.print(table)


def _where(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"--where takes DIMENSION=VALUE, not {item!r}", field="where")
        out[name.strip()] = value.strip()
    return out


def print_metric(found: MetricAnswer, show_sql: bool) -> None:
    """A metric's rows."""
    table = Table(*found.columns)
    for row in found.rows:
        table.add_row(*[_cell(row[c]) for c in found.columns])
    console.print(f"[bold]{escape(found.label)}[/] ({found.metric}, {found.unit})"
                  + (" · your scope" if found.scoped else ""))
    console.print(table)
    if show_sql:
        console.print(f"[dim]{escape(found.sql)}[/]\n[dim]params: {found.params}[/]")


@metrics_app.command("show")
@handles_errors
def metrics_show_cmd(metric: Annotated[str, typer.Argument(help="The metric's id (see `metrics list`).")],
                     grain: Annotated[str, typer.Option("--grain", help="day, week, month, quarter, year, or "
                                                        "none for one figure.")] = "month",
                     by: Annotated[list[str] | None, typer.Option("--by", help="A dimension to break it down by "
                                                                  "(repeatable).")] = None,
                     where: Annotated[list[str] | None, typer.Option("--where", help="DIMENSION=VALUE "
                                                                     "(repeatable).")] = None,
                     start: DayOpt = None, end: DayOpt = None,
                     show_sql: Annotated[bool, typer.Option("--sql", help="Print the compiled SQL.")] = False,
                     config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Compute one metric by period and dimensions (`--start`/`--end` bound the window, end exclusive)."""
    found = application(config, db).metric(operator(), metric, grain=None if grain == "none" else grain,
                                           by=by or [], where=_where(where), start=_day(start), end=_day(end))
    emit_json(found) if as_json else print_metric(found, show_sql)


@metrics_app.command("funnel")
@handles_errors
def metrics_funnel_cmd(by: Annotated[list[str] | None, typer.Option("--by", help="A dimension: segment, source, "
                                                                    "owner_name, route_rule... (repeatable).")] = None,
                       grain: Annotated[str, typer.Option("--grain", help="The period, or none.")] = "month",
                       start: DayOpt = None, end: DayOpt = None,
                       config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The funnel: leads, MQLs, conversions, the stage rates and speed to lead, by the dimensions asked."""
    found = application(config, db).funnel_report(operator(), by=by or [], grain=None if grain == "none" else grain,
                                                  start=_day(start), end=_day(end))
    if as_json:
        emit_json(found)
        return
    for answer in found:
        print_metric(answer, False)


# -- report ----------------------------------------------------------------------------------------------------


@handles_errors
def report(out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path("report.html"),
               config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Write the static report: one HTML file that opens offline (every style inside it, charts drawn as SVG)."""
    found = application(config, db).build_report(operator(), out)
    if as_json:
        emit_json(found)
        return
    console.print(f"wrote {found.path} ({found.bytes / 1024:.0f} KiB, {len(found.sections)} sections, "
                  f"{found.charts} charts) in {found.seconds:.1f} s")


# -- coach -----------------------------------------------------------------------------------------------------


def print_team(found: TeamPerformance) -> None:
    """Per rep: speed to lead, SLA, conversion, activity, pipeline, wins."""
    table = Table("rep", "owned", "first touch p50", "p95", f"within {found.sla_hours:g} h", "breaches", "MQLs",
                  "converted", "activities", "open pipeline", "won")
    for r in found.reps:
        table.add_row(escape(r.owner_name or r.owner_id), str(r.leads_owned),
                      "-" if r.first_touch_p50_h is None else f"{r.first_touch_p50_h:.1f} h",
                      "-" if r.first_touch_p95_h is None else f"{r.first_touch_p95_h:.1f} h",
                      "-" if r.sla_rate is None else f"{r.sla_rate:.0%}", str(r.sla_breaches), str(r.mqls),
                      str(r.converted), str(r.activities), f"{r.open_pipeline:,.0f}", f"{r.won_amount:,.0f}")
    console.print(table)
    console.print(f"from {found.start} to {found.end} (exclusive)")


def print_insights(found: CoachInsights) -> None:
    """Insights, most severe first, each with why."""
    colours = {"high": "red", "medium": "yellow", "low": "cyan"}
    for i in found.insights:
        console.print(f"[{colours[i.severity]}]{i.severity:6}[/] {escape(i.title)}")
        console.print(f"       [dim]{escape(i.detail)}[/]")
    console.print(f"{len(found.insights)} insights over the {found.window_days} days to {found.as_of} "
                  "(--json for each one's evidence rows and query)")


@coach_app.command("team")
@handles_errors
def team_cmd(start: DayOpt = None, end: DayOpt = None, config: ConfigOpt = None, db: DbOpt = None,
             as_json: JsonOpt = False) -> None:
    """Every rep's speed to lead (system and human), SLA, conversion, activity, pipeline and wins."""
    found = application(config, db).team_performance(operator(), start=_day(start), end=_day(end))
    emit_json(found) if as_json else print_team(found)


@coach_app.command("insights")
@handles_errors
def insights_cmd(kind: Annotated[list[str] | None, typer.Option("--kind", help="slow_first_touch, stalled_deal, "
                                                                "ramp_behind or weak_rule (repeatable).")] = None,
                 config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Coach's insights: slow first touch, stalled deals, ramp behind the curve, weak routing rules."""
    found = application(config, db).coach_insights(operator(), kinds=kind)
    emit_json(found) if as_json else print_insights(found)


@coach_app.command("digest")
@handles_errors
def digest_cmd(manager: Annotated[str, typer.Option("--manager", help="The manager's username, e-mail or id.")],
               config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """A manager's digest: the team's figures and Coach's insights about its members."""
    found: Digest = application(config, db).coach_digest(operator(), manager)
    if as_json:
        emit_json(found)
        return
    console.print(f"[bold]Digest for {escape(found.manager_name or found.manager_id)}[/] · as of {found.as_of}")
    print_team(found.team)
    print_insights(CoachInsights(as_of=found.as_of, window_days=(found.team.end - found.team.start).days,
                                 insights=found.insights))


@coach_app.command("suggest")
@handles_errors
def suggest_cmd(write: Annotated[bool, typer.Option("--write", help="Write the scenario file (default: show "
                                                    "it).")] = False,
                scenario: Annotated[str | None, typer.Option("--scenario", help="The scenario to adjust "
                                                             "(default: the active one).")] = None,
                config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """A new scenario with ramp curves and productivity adjusted from the named reps' actuals, as a diff with
    its effect on capacity; the active scenario is never changed."""
    found: ScenarioSuggestion = application(config, db).coach_suggest(operator(), write=write, scenario=scenario)
    if as_json:
        emit_json(found)
        return
    table = Table("motion", "rep-months", "productivity x", "planned ramp", "suggested ramp")
    for m in found.motions:
        table.add_row(m.motion, str(m.rep_months), "-" if m.productivity_factor is None else f"{m.productivity_factor:.2f}",
                      " ".join(f"{v:.2f}" for v in m.planned_ramp), " ".join(f"{v:.2f}" for v in m.suggested_ramp))
    console.print(table)
    console.print(escape(found.diff) or "(the file already says this)")
    console.print(f"capacity over the horizon: {found.capacity_before:,.0f} → {found.capacity_after:,.0f} "
                  f"(target {found.target:,.0f})")
    console.print(f"wrote {found.file}" if found.written else
                  f"not written: --write creates {found.file} (it extends {found.extends}; the active scenario "
                  "does not change)")
