"""POST /api/loops/route/resolve and /preview: the Route loop over HTTP."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field, model_validator

from revloops.core.decisions import Decision
from revloops.core.errors import InputError
from revloops.core.records import SObject, parse_record
from revloops.interfaces.api.deps import Caller, PlatformDep, _bearer, get_caller, get_platform, require
from revloops.loops.route import flow
from revloops.loops.route.types import Move, Preview, summarise
from revloops.ports.crm import Query as CrmQuery

router = APIRouter(prefix="/api/loops/route", tags=["route"])
RoutedObject = Literal["Lead", "Account", "Contact", "Opportunity"]
OpsCaller = Annotated[Caller, Depends(require("ops"))]
_ops_check = require("ops")


async def _ops_caller(request: Request,
                      creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    """The shared token and tier checks, run in the event loop: as sync dependencies each costs a
    thread-pool hop per request, which is most of a cheap endpoint's time."""
    return _ops_check(get_caller(get_platform(request), creds))  # type: ignore[no-any-return]


class ResolveIn(BaseModel):
    """One record to route: inline (Salesforce field names) or by id."""

    object: RoutedObject = "Lead"
    record: dict[str, Any] | None = Field(default=None, description="the record's fields by API name")
    record_id: str | None = Field(default=None, min_length=15, max_length=18)

    @model_validator(mode="after")
    def _one_of(self) -> ResolveIn:
        if (self.record is None) == (self.record_id is None):
            raise ValueError("give exactly one of record or record_id")
        return self


class PreviewIn(BaseModel):
    """Many records to simulate: inline, or the CRM's (at most ``limit``)."""

    object: RoutedObject = "Lead"
    records: list[dict[str, Any]] | None = Field(default=None, max_length=50_000)
    from_crm: bool = False
    limit: int = Field(default=10_000, ge=1, le=200_000)
    rules: dict[str, Any] | None = Field(default=None, description="a proposed rules file (as JSON) to diff against")

    @model_validator(mode="after")
    def _source(self) -> PreviewIn:
        if (self.records is None) == (not self.from_crm):
            raise ValueError("give records or from_crm: true")
        return self


class PreviewOut(BaseModel):
    """The distribution, and with ``rules`` every record that would move."""

    preview: Preview
    moves: list[Move] | None = None
    summary: dict[str, dict[str, int]] | None = None


@router.post("/resolve", response_model=Decision)
def resolve(body: ResolveIn, request: Request, caller: Annotated[Caller, Depends(_ops_caller)],
            apply: Annotated[bool, Query(description="write OwnerId to the CRM and store the decision")] = False,
            ) -> Response:
    """Route one record with the full trace (a dry run unless ``apply=true``)."""
    decision = flow.resolve(get_platform(request), sobject=body.object, record=body.record, record_id=body.record_id, apply=apply,
                            actor=caller.actor)
    # already a validated Decision: serialise it once instead of FastAPI's dump, re-validate and dump again
    return Response(decision.model_dump_json(), media_type="application/json")


def _records(plat: Any, body: PreviewIn) -> list[SObject]:
    if body.records is not None:
        return [parse_record(body.object, rec, f"records.{i}") for i, rec in enumerate(body.records)]
    out = []
    for rec in plat.crm.query_all(CrmQuery(body.object)):
        out.append(rec)
        if len(out) >= body.limit:
            break
    return out


@router.post("/preview", response_model=PreviewOut)
def preview(body: PreviewIn, plat: PlatformDep, _caller: OpsCaller) -> PreviewOut:
    """Simulate routing (no side effects; round robin simulated from the current state)."""
    from pydantic import ValidationError

    from revloops.loops.route.config import RulesFile

    records = _records(plat, body)
    result = flow.preview(plat, records, sobject=body.object)
    if body.rules is None:
        return PreviewOut(preview=result)
    try:
        proposed = RulesFile.model_validate(body.rules)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise InputError(str(err["msg"]), field="rules." + ".".join(str(p) for p in err["loc"])) from None
    moves = flow.diff(plat, records, other_rules=proposed, sobject=body.object)
    return PreviewOut(preview=result, moves=moves, summary=summarise(moves))
