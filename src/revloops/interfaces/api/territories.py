"""Deploy over HTTP: the territory hierarchy synced, accounts assigned, pending ones reviewed, coverage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from revloops.app.models import AssignResult, Coverage, Decision, PendingAccount, SyncResult
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api/loops/deploy", tags=["deploy"], responses=errors(401, 403, 409, 502, 503))


class ResolveIn(BaseModel):
    """How to settle a pending account: a territory, or the proposed one approved; and why."""

    territory: str | None = None
    approve: bool = False
    reason: str = Field(default="", max_length=1000)


@router.post("/sync", response_model=SyncResult, responses=errors(422))
def sync(app: AppDep, caller: CallerDep, dry_run: bool = True, refresh: bool = False,
         plan: str | None = None) -> SyncResult:
    """Plan (the default) or apply the territory tree and user assignments; ``plan`` binds an apply to a plan."""
    return app.sync_territories(caller, dry_run=dry_run, refresh=refresh, plan=plan)


@router.post("/assign", response_model=AssignResult, responses=errors(422))
def assign(app: AppDep, caller: CallerDep, dry_run: bool = True, against: str | None = None,
           min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.8, plan: str | None = None) -> AssignResult:
    """Plan (the default) or apply account-to-territory matching; ``against`` lists the accounts that would move."""
    return app.assign_territories(caller, dry_run=dry_run, against=against, min_confidence=min_confidence,
                                  plan=plan)


@router.get("/pending", response_model=list[PendingAccount], responses=errors(422))
def pending(app: AppDep, caller: CallerDep, status: str | None = None) -> list[PendingAccount]:
    """Accounts in a ``pending:*`` state, with the evidence for each."""
    return app.pending_territories(caller, status)


@router.post("/pending/{account_id}", response_model=Decision,
             responses=errors(404, 413, 422, meaning={404: "no such pending account"}))
def resolve(account_id: str, body: ResolveIn, app: AppDep, caller: CallerDep,
            dry_run: Annotated[bool, Query(description="check it and answer the decision, writing nothing")] = False,
            ) -> Decision:
    """Settle a pending account; logged with who and why."""
    return app.resolve_pending_territory(caller, account_id, territory=body.territory, approve=body.approve,
                                         reason=body.reason, dry_run=dry_run)


@router.get("/coverage", response_model=Coverage)
def coverage(app: AppDep, caller: CallerDep) -> Coverage:
    """Per territory: accounts, open pipeline, people by role; and the accounts in no territory."""
    return app.territory_coverage(caller)
