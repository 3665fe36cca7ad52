"""POST /api/crm/events: signed CRM events (Salesforce Flow callouts) into the durable inbox."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from pydantic import BaseModel, Field, ValidationError

from revloops.core.errors import InputError
from revloops.core.events import CrmEvent
from revloops.core.signing import BadSignature, verify
from revloops.interfaces.api.deps import PlatformDep

router = APIRouter(prefix="/api/crm", tags=["crm events"])


class EventsIn(BaseModel):
    """A delivery of events."""

    events: list[CrmEvent] = Field(min_length=1, max_length=1000)


class EventsAccepted(BaseModel):
    """What the delivery did."""

    accepted: int
    duplicates: int
    rejected: list[dict[str, str]]


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "body"


@router.post(
    "/events",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EventsAccepted,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": EventsIn.model_json_schema(ref_template="#/components/schemas/{model}")}}}},
    responses={401: {"description": "missing, wrong or stale signature: nothing recorded"},
               422: {"description": "malformed body; `field` names the place"}},
)
async def receive_events(
    request: Request,
    plat: PlatformDep,
    signature: Annotated[str | None, Header(alias="X-Revloops-Signature")] = None,
) -> EventsAccepted:
    """Record signed events once each; the same event id again counts as a duplicate with no effect.

    The signature is `t=<unix seconds>,v1=<hex HMAC-SHA256(REVLOOPS_EVENTS_SECRET, "<t>.<raw body>")>`,
    refused when older than five minutes.
    """
    body = await request.body()
    secret = plat.settings.events_secret
    if secret is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "events endpoint has no secret configured")
    try:
        verify(secret.get_secret_value(), body, signature)
    except BadSignature as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    try:
        payload = EventsIn.model_validate_json(body)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise InputError(err["msg"], field=_field(tuple(err["loc"]))) from None
    result = plat.inbox.accept(payload.events, "webhook")
    return EventsAccepted(accepted=result.accepted, duplicates=result.duplicates, rejected=result.rejected)
