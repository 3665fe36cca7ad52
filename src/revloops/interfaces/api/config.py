"""The config directory and the loops over HTTP."""

from __future__ import annotations

from fastapi import APIRouter

from revloops.app.models import ConfigSummary, LoopInfo
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api", tags=["config"], responses=errors(401))


@router.post("/config/validate", response_model=ConfigSummary, responses=errors(403, 409, 502, 503))
def validate(app: AppDep, caller: CallerDep) -> ConfigSummary:
    """Check the config directory (409 listing every problem with file:line)."""
    return app.validate_config(caller)


@router.get("/loops", response_model=list[LoopInfo])
def loops(app: AppDep, caller: CallerDep) -> list[LoopInfo]:
    """The ten loops and which of their parts exist in code."""
    return app.list_loops(caller)
