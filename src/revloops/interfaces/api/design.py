"""Design over HTTP: the capacity scenarios listed, run, compared, explained, promoted and checked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from revloops.app.models import (
    ComparisonResult,
    DesignCheck,
    Explanation,
    PromoteResult,
    ScenarioRunResult,
    ScenarioSummary,
)
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api/loops/design", tags=["design"], responses=errors(401, 403, 409))
NAMED = errors(404, 422, meaning={404: "no such scenario"})
Draws = Annotated[int, Query(ge=1, le=100_000, description="Monte Carlo draws")]
Scenario = Annotated[str, Path(examples=["base"])]
Named = Annotated[str, Query(examples=["base"])]
Seed = Annotated[int, Query(ge=0, description="the draws' random seed (numpy takes no negative seed)")]


@router.get("/scenarios", response_model=list[ScenarioSummary])
def scenarios(app: AppDep, caller: CallerDep) -> list[ScenarioSummary]:
    """Every scenario, which one it extends, and which is active."""
    return app.list_scenarios(caller)


@router.get("/scenarios/{scenario}/run", response_model=ScenarioRunResult, responses=NAMED)
def run(scenario: Scenario, app: AppDep, caller: CallerDep, draws: Draws = 1000, seed: Seed = 7) -> ScenarioRunResult:
    """Capacity against target by month, quarter, segment, territory and motion; hiring gap; P10/P50/P90."""
    return app.run_scenario(caller, scenario, draws=draws, seed=seed)


@router.get("/compare", response_model=ComparisonResult, responses=NAMED)
def compare(a: Named, b: Named, app: AppDep, caller: CallerDep, draws: Draws = 1000,
            seed: Seed = 7) -> ComparisonResult:
    """Two scenarios side by side, with B minus A on every figure."""
    return app.compare_scenarios(caller, a, b, draws=draws, seed=seed)


@router.get("/explain", response_model=Explanation, responses=NAMED)
def explain(app: AppDep, caller: CallerDep, scenario: str | None = None, period: str | None = None,
            segment: str | None = None, territory: str | None = None, motion: str | None = None) -> Explanation:
    """Which reps, ramp months and assumptions make a capacity figure."""
    return app.explain_capacity(caller, scenario, period=period, segment=segment, territory=territory,
                                motion=motion)


@router.post("/scenarios/{scenario}/promote", response_model=PromoteResult, responses=NAMED)
def promote(scenario: Scenario, app: AppDep, caller: CallerDep, dry_run: bool = True) -> PromoteResult:
    """Make a scenario active (the one-line change, shown as a diff; written only with ``dry_run=false``)."""
    return app.promote_scenario(caller, scenario, dry_run=dry_run)


@router.post("/validate", response_model=DesignCheck)
def validate(app: AppDep, caller: CallerDep) -> DesignCheck:
    """Check the design config and every scenario's merged plan."""
    return app.validate_design(caller)
