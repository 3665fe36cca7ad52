"""Dependencies shared by the routers: the application and the caller (bearer token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from revloops.app import Caller, Revloops

_bearer = HTTPBearer(auto_error=False, description="A token from REVLOOPS_API_TOKENS")


def get_app(request: Request) -> Revloops:
    """The application the server was started on."""
    return request.app.state.revloops  # type: ignore[no-any-return]


AppDep = Annotated[Revloops, Depends(get_app)]


async def get_caller(request: Request,
                     creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
    """The caller named by the bearer token (401 when missing or unknown). Async: as a sync dependency it would
    cost a thread-pool hop per request, which is most of a cheap endpoint's time."""
    token = creds.credentials if creds is not None and creds.scheme.lower() == "bearer" else None
    return get_app(request).authenticate(token, channel="api")


CallerDep = Annotated[Caller, Depends(get_caller)]
