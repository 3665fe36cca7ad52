"""POST /api/crm/events: signed CRM events (Salesforce Flow callouts) into the durable inbox; the inbox, the poll
and the CRM check for operators."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from pydantic import BaseModel, Field, ValidationError

from revloops.app.models import CrmCheck, CrmEvent, EventsAccepted, InboxView, PolledObject
from revloops.core.errors import InputError
from revloops.interfaces.api.deps import AppDep, CallerDep
from revloops.interfaces.api.responses import errors, raw_body

router = APIRouter(prefix="/api/crm", tags=["crm"])


class EventsIn(BaseModel):
    """A delivery of events."""

    events: list[CrmEvent] = Field(min_length=1, max_length=1000)


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "body"


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventsAccepted,
    openapi_extra=raw_body(EventsIn),
    responses=errors(401, 413, 422, meaning={401: "missing, wrong or stale signature: nothing recorded",
                                             422: "malformed body: `field` names the place"}),
)
async def receive_events(
    request: Request,
    app: AppDep,
    signature: Annotated[str | None, Header(alias="X-Revloops-Signature")] = None,
) -> EventsAccepted:
    """Record signed events once each; the same event id again counts as a duplicate with no effect.

    The signature is `t=<unix seconds>,v1=<hex HMAC-SHA256(REVLOOPS_EVENTS_SECRET, "<t>.<raw body>")>`,
    refused when older than five minutes.
    """
    body = await request.body()
    app.verify_events(body, signature)
    try:
        payload = EventsIn.model_validate_json(body)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise InputError(err["msg"], field=_field(tuple(err["loc"]))) from None
    return app.accept_events(payload.events, "webhook")


@router.get("/events", response_model=InboxView, responses=errors(401, 403, 422))
def list_events(app: AppDep, caller: CallerDep, status: str | None = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> InboxView:
    """The events inbox: counts by status and the oldest entries."""
    return app.list_events(caller, status=status, limit=limit)


@router.post("/poll", response_model=list[PolledObject], responses=errors(401, 403, 422, 502, 503))
def poll(app: AppDep, caller: CallerDep, since: dt.datetime | None = None) -> list[PolledObject]:
    """Read CRM changes by SystemModstamp watermark into the events inbox."""
    return app.poll_crm(caller, since=since)


@router.get("/check", response_model=CrmCheck, responses=errors(401, 403))
def check(app: AppDep, caller: CallerDep) -> CrmCheck:
    """What CRM is configured, whether sign-in works, API usage and the permissions the loops need."""
    return app.check_crm(caller)
