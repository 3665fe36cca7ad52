"""Pursue, Onboard and Expand over HTTP: deal plays, plans, onboarding, health, renewals, milestone tasks."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from revloops.app.models import (
    BacktestResult,
    Due,
    HealthDetail,
    HealthList,
    HealthWrite,
    NoPlay,
    OnboardingResult,
    Page,
    PipelineRow,
    PlanResult,
    PlayRecord,
    RenewalsResult,
    TaskRow,
    TriggeredResult,
)
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api/loops", tags=["pursue", "onboard", "expand"], responses=errors(401, 403, 502, 503))
NOT_FOUND = errors(404, 422, meaning={404: "no such record in the caller's scope"})


class StartIn(BaseModel):
    """Start a deal play: the rules' choice, or ``play_id``."""

    play_id: str | None = Field(default=None, max_length=60, description="A deal play of pursue/deal_plays.yaml.")


@router.get("/pursue/plays", response_model=list[PlayRecord])
def plays(app: AppDep, caller: CallerDep) -> list[PlayRecord]:
    """Every deal play compared: started, open, won, lost, win rate by count and by amount, cycle, on time."""
    return app.pursue_plays(caller)


@router.post("/pursue/{opportunity_id}/start", response_model=PlanResult | NoPlay, responses=NOT_FOUND)
def start(opportunity_id: str, app: AppDep, caller: CallerDep, body: StartIn | None = None) -> PlanResult | NoPlay:
    """Start the deal play for an opportunity (once; again answers the plan as it stands)."""
    return app.pursue_start(caller, opportunity_id, play_id=body.play_id if body else None)


@router.get("/plans/{record_id}", response_model=list[PlanResult], responses=NOT_FOUND)
def plans(record_id: str, app: AppDep, caller: CallerDep) -> list[PlanResult]:
    """Every plan of an opportunity or account, reconciled with its tasks now."""
    return app.plans_for(caller, record_id)


@router.get("/onboard/{account_id}", response_model=list[OnboardingResult], responses=NOT_FOUND)
def onboarding(account_id: str, app: AppDep, caller: CallerDep) -> list[OnboardingResult]:
    """An account's onboarding: team, handoff gaps, time to value, milestones."""
    return app.onboard_status(caller, account_id)


@router.get("/expand/health", response_model=HealthList, responses=errors(422))
def health(app: AppDep, caller: CallerDep, as_of: dt.date | None = None, band: str | None = None,
           limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: str | None = None) -> HealthList:
    """Customers' health at a date, worst first, with counts per band."""
    return app.expand_health(caller, as_of=as_of, band=band, limit=limit, cursor=cursor)


@router.post("/expand/health", response_model=HealthWrite, responses=errors(422))
def write_health(app: AppDep, caller: CallerDep, as_of: dt.date | None = None, dry_run: bool = True) -> HealthWrite:
    """Put every customer's health on its account where it changed (a dry run unless ``dry_run=false``)."""
    return app.write_health(caller, as_of=as_of, dry_run=dry_run)


@router.get("/expand/health/{account_id}", response_model=HealthDetail, responses=NOT_FOUND)
def account_health(account_id: str, app: AppDep, caller: CallerDep, as_of: dt.date | None = None) -> HealthDetail:
    """One account's health, term by term."""
    return app.expand_account_health(caller, account_id, as_of=as_of)


@router.get("/expand/backtest", response_model=BacktestResult, responses=errors(422))
def backtest(app: AppDep, caller: CallerDep, as_of: dt.date,
             horizon_days: Annotated[int, Query(ge=1, le=1095)] = 180) -> BacktestResult:
    """Health as of a past date against the churn that followed: the AUC."""
    return app.expand_backtest(caller, as_of=as_of, horizon_days=horizon_days)


@router.post("/expand/renewals", response_model=RenewalsResult, responses=errors(422))
def renewals(app: AppDep, caller: CallerDep, due_within: Annotated[int, Query(ge=0, le=730)] = 90,
             as_of: dt.date | None = None, dry_run: bool = True) -> RenewalsResult:
    """Contracts ending soon (the default: a dry run); ``dry_run=false`` opens the renewals whose window is open."""
    return app.expand_renewals(caller, due_within=due_within, as_of=as_of, dry_run=dry_run)


@router.post("/expand/plays", response_model=TriggeredResult, responses=errors(422))
def expand_plays(app: AppDep, caller: CallerDep, as_of: dt.date | None = None, dry_run: bool = True) -> TriggeredResult:
    """Expansion and save plays customers' usage or health trigger (a dry run unless ``dry_run=false``)."""
    return app.expand_triggered(caller, as_of=as_of, dry_run=dry_run)


@router.get("/pursue/pipeline", response_model=Page[PipelineRow], responses=errors(422))
def pipeline(app: AppDep, caller: CallerDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
             cursor: str | None = None) -> Page[PipelineRow]:
    """Open opportunities in the caller's scope, closing soonest, each with its next milestone."""
    return app.my_pipeline(caller, limit=limit, cursor=cursor)


@router.get("/tasks", response_model=Page[TaskRow], responses=errors(422))
def tasks(app: AppDep, caller: CallerDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
          cursor: str | None = None,
          due: Annotated[Due | None,
                         Query(description="only those overdue, due today, or due this week")] = None,
          ) -> Page[TaskRow]:
    """Open milestone tasks in the caller's scope, soonest due first."""
    return app.my_tasks(caller, due=due, limit=limit, cursor=cursor)


@router.post("/tasks/{task_id}/complete", response_model=PlanResult, responses=NOT_FOUND)
def complete(task_id: str, app: AppDep, caller: CallerDep) -> PlanResult:
    """Complete a milestone task; the milestones after it get their tasks."""
    return app.complete_task(caller, task_id)


@router.post("/tasks/{task_id}/reopen", response_model=PlanResult, responses=NOT_FOUND)
def reopen(task_id: str, app: AppDep, caller: CallerDep) -> PlanResult:
    """Reopen a completed milestone task; its dependents move back to waiting (none deleted)."""
    return app.reopen_task(caller, task_id)
