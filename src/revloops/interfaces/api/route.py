"""POST /api/loops/route/resolve, /preview and /test (the route cases; /api/config/test runs every kind): the
Route loop over HTTP."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from revloops.app.models import Decision, PreviewResult, Proposal, RecordSource, RoutedObject, TestRun
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors

router = APIRouter(prefix="/api/loops/route", tags=["route"], responses=errors(401, 403, 409, 502, 503))

#: a lead as the examples of the bodies show it
LEAD: JsonDict = {"LastName": "Ng", "Company": "Bluepeak", "Email": "ng@bluepeak.example", "Title": "VP Sales",
                  "Country": "Germany", "NumberOfEmployees": 800}


class ResolveIn(BaseModel):
    """One record to route: inline (Salesforce field names) or by id."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"record": LEAD}]})

    object: RoutedObject = "Lead"
    record: dict[str, Any] | None = Field(default=None, description="the record's fields by API name")
    record_id: str | None = Field(default=None, min_length=15, max_length=18)


class PreviewIn(BaseModel):
    """Many records to simulate: inline, or the CRM's (at most ``limit``); optionally a proposed rules file."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"records": [LEAD]}, {"from_crm": True, "limit": 100}]})

    object: RoutedObject = "Lead"
    records: list[dict[str, Any]] | None = Field(default=None, max_length=50_000)
    from_crm: bool = False
    limit: int = Field(default=10_000, ge=1, le=200_000)
    rules: dict[str, Any] | None = Field(default=None, description="a proposed rules file (as JSON) to diff against")
    against: str | None = Field(default=None, description="a git revision of the config: the old side of the diff")
    caps: bool = Field(default=True, description="hold pools' daily caps per day the records were created")


@router.post("/resolve", response_model=Decision,
             responses=errors(404, 413, 422, meaning={404: "`record_id` is not in the CRM"}))
def resolve(body: ResolveIn, app: AppDep, caller: CallerDep,
            apply: Annotated[bool, Query(description="write OwnerId to the CRM and store the decision")] = False,
            ) -> Response:
    """Route one record with the full trace (a dry run unless ``apply=true``)."""
    decision = app.resolve_route(caller, sobject=body.object, record=body.record, record_id=body.record_id,
                                 dry_run=not apply)
    # already a validated Decision: serialise it once instead of FastAPI's dump, re-validate and dump again
    return Response(decision.model_dump_json(), media_type="application/json")


@router.post("/preview", response_model=PreviewResult, responses=errors(413, 422))
async def preview(body: PreviewIn, request: Request, app: AppDep, caller: CallerDep) -> PreviewResult:
    """Simulate routing (no side effects; round robin simulated from the current state); with ``rules`` or
    ``against`` every record that would move.

    At most ``REVLOOPS_API_PREVIEW_CONCURRENCY`` previews run at once; the others wait their turn asleep, so a
    burst of previews (CPU-bound, holding the interpreter) does not slow every other request."""
    source = RecordSource(sobject=body.object, records=body.records, from_crm=body.from_crm,
                          limit=body.limit if body.from_crm else None)
    proposal = Proposal(rules=body.rules, against=body.against) \
        if body.rules is not None or body.against is not None else None
    state = request.app.state
    if getattr(state, "preview_limiter", None) is None:
        state.preview_limiter = anyio.CapacityLimiter(app.settings.api_preview_concurrency)
    run = functools.partial(app.preview_routing, caller, source, proposal, caps=body.caps)
    return await anyio.to_thread.run_sync(run, limiter=state.preview_limiter)


@router.post("/test", response_model=TestRun, deprecated=True)
def test_cases(app: AppDep, caller: CallerDep) -> TestRun:
    """Run the route cases of ``config/tests/*.yaml``; ``POST /api/config/test`` runs every kind."""
    return app.test_config(caller, kinds=["route"])
