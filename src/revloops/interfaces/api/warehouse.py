"""The revenue warehouse over HTTP: refresh, tables, read-only SQL, metrics, the funnel, Coach and the report."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from revloops.app.models import (
    CoachInsights,
    Digest,
    MetricAnswer,
    MetricInfo,
    ScenarioSuggestion,
    SqlAnswer,
    TeamPerformance,
    WarehouseRefresh,
    WarehouseTable,
)
from revloops.core.errors import InputError
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api", tags=["warehouse", "coach"], responses=errors(401, 403, 404, 409, 422, 503))
GrainIn = Literal["day", "week", "month", "quarter", "year", "none"]
InsightKind = Literal["slow_first_touch", "stalled_deal", "ramp_behind", "weak_rule"]


class RefreshIn(BaseModel):
    """A refresh: incremental by default."""

    full: bool = Field(default=False, description="Forget every mark and load everything (drops deleted rows).")
    as_of: dt.date | None = Field(default=None, description="The day windows and ages count to.")
    tables: list[Annotated[str, Field(max_length=80)]] | None = Field(default=None, max_length=50,
                                                                      description="Load only these tables.")


class SqlIn(BaseModel):
    """One read-only statement."""

    sql: str = Field(min_length=1, max_length=20_000, description="SELECT, WITH, DESCRIBE, SHOW or EXPLAIN.")


class SuggestIn(BaseModel):
    """Ask Coach for a scenario adjusted to actuals."""

    write: bool = Field(default=False, description="Write the scenario file (default: only show it).")
    scenario: str | None = Field(default=None, max_length=60, description="The scenario to adjust (default: active).")


def _where(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition(":")
        if not sep or not name:
            raise InputError(f"where takes DIMENSION:VALUE, not {item!r}", field="where")
        out[name] = value
    return out


@router.post("/warehouse/refresh", response_model=WarehouseRefresh)
def refresh(app: AppDep, caller: CallerDep, body: RefreshIn | None = None) -> WarehouseRefresh:
    """Load the warehouse from the CRM and the loops' state, incrementally from each table's last mark."""
    body = body or RefreshIn()
    return app.refresh_warehouse(caller, full=body.full, as_of=body.as_of, tables=body.tables)


@router.get("/warehouse/tables", response_model=list[WarehouseTable])
def tables(app: AppDep, caller: CallerDep) -> list[WarehouseTable]:
    """The warehouse's tables and views, with their columns and what a row is."""
    return app.warehouse_tables(caller)


@router.post("/warehouse/sql", response_model=SqlAnswer)
def sql(body: SqlIn, app: AppDep, caller: CallerDep) -> SqlAnswer:
    """One read-only statement over the warehouse; anything that is not a query is refused (422)."""
    return app.run_sql(caller, body.sql)


@router.get("/metrics", response_model=list[MetricInfo])
def metrics(app: AppDep, caller: CallerDep) -> list[MetricInfo]:
    """The metric registry."""
    return app.list_metrics(caller)


@router.get("/metrics/{metric}", response_model=MetricAnswer)
def metric(metric: str, app: AppDep, caller: CallerDep, grain: GrainIn = "month",
           by: Annotated[list[str] | None, Query(max_length=6, description="Dimensions to break down by.")] = None,
           where: Annotated[list[str] | None, Query(max_length=10, description="DIMENSION:VALUE filters.")] = None,
           start: dt.date | None = None, end: dt.date | None = None) -> MetricAnswer:
    """One metric by period and dimensions (a rep: their own rows; a manager: their team's)."""
    return app.metric(caller, metric, grain=None if grain == "none" else grain, by=by or [], where=_where(where),
                      start=start, end=end)


@router.get("/reports/funnel", response_model=list[MetricAnswer])
def funnel(app: AppDep, caller: CallerDep, grain: GrainIn = "month",
           by: Annotated[list[str] | None, Query(max_length=4, description="Dimensions to break down by.")] = None,
           start: dt.date | None = None, end: dt.date | None = None) -> list[MetricAnswer]:
    """The funnel: leads, MQLs, conversions, stage rates and speed to lead, by the dimensions asked."""
    return app.funnel_report(caller, by=by or [], grain=None if grain == "none" else grain, start=start, end=end)


@router.get("/coach/team", response_model=TeamPerformance)
def team(app: AppDep, caller: CallerDep, start: dt.date | None = None, end: dt.date | None = None) -> TeamPerformance:
    """Per rep in the caller's scope: speed to lead, SLA, conversion, activity, pipeline and wins."""
    return app.team_performance(caller, start=start, end=end)


@router.get("/coach/insights", response_model=CoachInsights)
def insights(app: AppDep, caller: CallerDep,
             kind: Annotated[list[InsightKind] | None, Query(max_length=4)] = None) -> CoachInsights:
    """Coach's insights in the caller's scope, each with its evidence rows and query."""
    return app.coach_insights(caller, kinds=kind)


@router.get("/coach/digest", response_model=Digest)
def digest(app: AppDep, caller: CallerDep,
           manager: Annotated[str, Query(min_length=1, max_length=120, description="Username, e-mail or id.")]
           ) -> Digest:
    """A manager's digest: the team's figures and the insights about its members."""
    return app.coach_digest(caller, manager)


@router.post("/coach/suggest", response_model=ScenarioSuggestion)
def suggest(app: AppDep, caller: CallerDep, body: SuggestIn | None = None) -> ScenarioSuggestion:
    """A scenario with ramp and productivity adjusted from actuals, as a diff; written only with ``write``."""
    body = body or SuggestIn()
    return app.coach_suggest(caller, write=body.write, scenario=body.scenario)


@router.get("/report", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}},
                       **{code: {**answer, "content": {"application/json": {"schema": {
                           "$ref": "#/components/schemas/ErrorBody"}}}}
                          for code, answer in errors(401, 403, 404, 409, 422, 503).items()}})
def report(app: AppDep, caller: CallerDep) -> HTMLResponse:
    """The static report as one self-contained HTML page."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        app.build_report(caller, path)
        return HTMLResponse(path.read_text(encoding="utf-8"))
