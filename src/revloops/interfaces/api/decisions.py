"""The decision log and the records it is about, within the caller's scope."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from revloops.app.models import Decision, LeadSummary, Page, SlaState
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api", tags=["decisions"], responses=errors(401, 422, 502, 503))


@router.get("/decisions/{decision_id}", response_model=Decision, responses=errors(404))
def get_decision(decision_id: str, app: AppDep, caller: CallerDep) -> Decision:
    """One decision with its trace, config version and inputs digest (404 outside the caller's scope)."""
    return app.decision(caller, decision_id)


@router.get("/records/{record_id}/decisions", response_model=list[Decision], responses=errors(404))
def record_decisions(record_id: str, app: AppDep, caller: CallerDep,
                     limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[Decision]:
    """The latest decisions on a record, newest first (404 outside the caller's scope)."""
    return app.record_decisions(caller, record_id, limit=limit)


@router.get("/explain/{ident}", response_model=list[Decision], responses=errors(404))
def explain(ident: str, app: AppDep, caller: CallerDep,
            limit: Annotated[int, Query(ge=1, le=200)] = 10) -> list[Decision]:
    """A decision by id, or the latest decisions on a record: why it got its owner, score, territory or play."""
    return app.explain(caller, ident, limit=limit)


@router.get("/leads", response_model=Page[LeadSummary])
def list_leads(app: AppDep, caller: CallerDep, status: str | None = None, qualification: str | None = None,
               min_score: Annotated[float | None, Query(description="lowest score")] = None,
               created_since: Annotated[dt.date | None, Query(description="created on or after")] = None,
               sla: Annotated[SlaState | None,
                              Query(description="first-touch SLA state")] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None) -> Page[LeadSummary]:
    """The leads the caller sees (a rep's own, a manager's team's, everyone's), newest first, each with its SLA
    state."""
    return app.my_leads(caller, status=status, qualification=qualification, min_score=min_score,
                        created_since=created_since, sla=sla, limit=limit, cursor=cursor)
