"""Generate's outbound signals over HTTP: the ledger, a target's score, the targets, the budget, ticks."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from revloops.app.models import (
    AccountScore,
    BudgetView,
    Page,
    SignalMetrics,
    SignalRow,
    TargetEditResult,
    TargetRow,
)
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api/loops/generate", tags=["generate"], responses=errors(401, 403, 502, 503))


class TargetIn(BaseModel):
    """A target account to add."""

    name: str = Field(min_length=1, max_length=255, description="The company's name as the news writes it.")
    domain: str = Field(min_length=3, max_length=253, description="Its web domain (the target's key).")
    priority: int = Field(default=3, ge=1, le=5, description="1 (scanned first) to 5.")
    territory: str | None = Field(default=None, max_length=80, description="A territory developer name.")


@router.get("/signals", response_model=Page[SignalRow], responses=errors(422))
def signals(app: AppDep, caller: CallerDep, account: str | None = None, type: str | None = None,
            since: dt.date | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
            cursor: str | None = None) -> Page[SignalRow]:
    """The signal ledger, newest event first, each signal with its sources."""
    return app.list_signals(caller, domain=account, type=type, since=since, limit=limit, cursor=cursor)


@router.get("/targets", response_model=list[TargetRow])
def targets(app: AppDep, caller: CallerDep) -> list[TargetRow]:
    """Every target: last scanned, next due, signal score."""
    return app.signal_targets(caller)


@router.get("/targets/{domain}/score", response_model=AccountScore, responses=errors(404, 422))
def score(domain: str, app: AppDep, caller: CallerDep, on: dt.date | None = None) -> AccountScore:
    """A target's decayed signal score, term by term."""
    return app.account_signal_score(caller, domain, on=on)


@router.post("/targets", response_model=TargetEditResult, responses=errors(409, 422))
def add(body: TargetIn, app: AppDep, caller: CallerDep, dry_run: bool = True) -> TargetEditResult:
    """Add a target to generate/targets.yaml (a dry run shows the diff)."""
    return app.add_target(caller, name=body.name, domain=body.domain, priority=body.priority,
                          territory=body.territory, dry_run=dry_run)


@router.delete("/targets/{domain}", response_model=TargetEditResult, responses=errors(404, 409, 422))
def remove(domain: str, app: AppDep, caller: CallerDep, dry_run: bool = True) -> TargetEditResult:
    """Remove a target from generate/targets.yaml (a dry run shows the diff)."""
    return app.remove_target(caller, domain, dry_run=dry_run)


@router.get("/budget", response_model=BudgetView)
def budget(app: AppDep, caller: CallerDep) -> BudgetView:
    """Today's and this month's scan budget, used and allowed."""
    return app.signal_budget(caller)


@router.get("/metrics", response_model=SignalMetrics, responses=errors(422))
def metrics(app: AppDep, caller: CallerDep, since: dt.date | None = None) -> SignalMetrics:
    """Scans per day, cost and signals per scan, dedupe and no-citation rates, outreach share and outcomes."""
    return app.signal_metrics(caller, since=since)
