"""The one place API errors are translated: our error codes to HTTP statuses with a stable body."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from revloops.core.errors import (
    AdapterError,
    ConfigError,
    DomainError,
    Forbidden,
    InputError,
    NotFound,
    RevloopsError,
    Unauthenticated,
    UpstreamUnavailable,
    error_body,
)

_STATUS: list[tuple[type[RevloopsError], int]] = [
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (InputError, 422),
    (ConfigError, 409),
    (DomainError, 409),
    (UpstreamUnavailable, 503),
    (AdapterError, 502),
]


def _field(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(RevloopsError)
    async def revloops_error(_: Request, exc: RevloopsError) -> JSONResponse:
        code = next((s for cls, s in _STATUS if isinstance(exc, cls)), 500)
        body = error_body(exc)
        headers = {}
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, UpstreamUnavailable) and exc.retry_after:
            headers["Retry-After"] = str(int(exc.retry_after))
        return JSONResponse(body, status_code=code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_body(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        return JSONResponse(
            {"error": "invalid_input", "message": f"{first['field']}: {first['message']}", "field": first["field"],
             "errors": errors},
            status_code=422,
        )
