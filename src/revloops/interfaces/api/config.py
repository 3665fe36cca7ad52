"""The config directory and the loops over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from revloops.app.models import ConfigSummary, Kind, LoopInfo, TestRun
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api", tags=["config"], responses=errors(401))


@router.post("/config/validate", response_model=ConfigSummary, responses=errors(403, 409, 502, 503))
def validate(app: AppDep, caller: CallerDep) -> ConfigSummary:
    """Check the config directory (409 listing every problem with file:line)."""
    return app.validate_config(caller)


@router.post("/config/test", response_model=TestRun, responses=errors(403, 409, 422, 502, 503))
def test_config(app: AppDep, caller: CallerDep,
                kind: Annotated[list[Kind] | None, Query(description="only the cases of this kind (repeatable)")] = None,
                ) -> TestRun:
    """Run the cases of ``config/tests/*.yaml`` against the config (`revloops test`): every kind, or those of
    ``kind``."""
    return app.test_config(caller, kinds=kind)


@router.get("/loops", response_model=list[LoopInfo])
def loops(app: AppDep, caller: CallerDep) -> list[LoopInfo]:
    """The ten loops and which of their parts exist in code."""
    return app.list_loops(caller)
