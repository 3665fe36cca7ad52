"""GET /api/decisions/{id} and /api/records/{id}/decisions: the decision log over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from revloops.core.decisions import Decision
from revloops.interfaces.api.deps import CallerDep, PlatformDep

router = APIRouter(prefix="/api", tags=["decisions"])


@router.get("/decisions/{decision_id}", response_model=Decision)
def get_decision(decision_id: str, plat: PlatformDep, _caller: CallerDep) -> Decision:
    """One decision with its trace, config version and inputs digest."""
    return plat.decisions.get(decision_id)


@router.get("/records/{record_id}/decisions", response_model=list[Decision])
def record_decisions(
    record_id: str, plat: PlatformDep, _caller: CallerDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[Decision]:
    """The latest decisions on a record, newest first."""
    return plat.decisions.for_record(record_id, limit=limit)
