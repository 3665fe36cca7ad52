"""The workflow engine over HTTP: runs by state, and a parked run resumed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from revloops.app.models import EngineStatus, RetryResult
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api/workflows", tags=["workflows"], responses=errors(401, 403, 422))


@router.get("", response_model=EngineStatus)
def status(app: AppDep, caller: CallerDep, failures: Annotated[int, Query(ge=0, le=200)] = 10) -> EngineStatus:
    """Workflow runs by state and workflow, and the latest failures with their errors."""
    return app.workflow_status(caller, failures=failures)


@router.post("/{workflow_id}/retry", response_model=RetryResult,
             responses=errors(404, meaning={404: "no such workflow run"}))
def retry(workflow_id: str, app: AppDep, caller: CallerDep,
          dry_run: Annotated[bool, Query(description="say where it would resume, change nothing")] = False,
          ) -> RetryResult:
    """Resume a failed, cancelled or abandoned run from its last completed step (eng tier)."""
    return app.retry_workflow(caller, workflow_id, dry_run=dry_run)
