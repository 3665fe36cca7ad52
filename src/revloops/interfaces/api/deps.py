"""Dependencies shared by the routers: the platform, the caller (bearer token) and its tier."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from revloops.bootstrap import Platform

TIERS = ("rep", "manager", "leadership", "ops", "eng")
_bearer = HTTPBearer(auto_error=False, description="A token from REVLOOPS_API_TOKENS")


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's user and tier."""

    user: str
    tier: str

    def at_least(self, tier: str) -> bool:
        return TIERS.index(self.tier) >= TIERS.index(tier)

    @property
    def actor(self) -> str:
        return f"api:{self.user}"


def get_platform(request: Request) -> Platform:
    return request.app.state.platform  # type: ignore[no-any-return]


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_caller(
    plat: PlatformDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Caller:
    """The caller named by the bearer token; 401 when missing or unknown."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    presented = creds.credentials.encode()
    for tok in plat.settings.api_tokens:
        if hmac.compare_digest(tok.token.get_secret_value().encode(), presented):
            return Caller(tok.user, tok.tier)
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid bearer token", {"WWW-Authenticate": "Bearer"})


CallerDep = Annotated[Caller, Depends(get_caller)]


def require(tier: str):  # type: ignore[no-untyped-def]
    """A dependency that refuses callers below ``tier`` with 403."""

    def check(caller: CallerDep) -> Caller:
        if not caller.at_least(tier):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs the {tier} tier")
        return caller

    return check
