"""The one place API errors are translated: our error codes to HTTP statuses with a stable body."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

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


#: what the framework itself refuses (no route, a method a route lacks), in our codes
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def _field(error: dict[str, object]) -> str:
    if error.get("type") == "json_invalid":  # its place is a character offset, not a field
        return "body"
    loc = error.get("loc")
    parts = [str(p) for p in (loc if isinstance(loc, tuple | list) else ()) if p not in ("body", "query", "path")]
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
        errors = [{"field": _field(e), "message": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        return JSONResponse(
            {"error": "invalid_input", "message": f"{first['field']}: {first['message']}", "field": first["field"],
             "errors": errors},
            status_code=422,
        )

    @app.exception_handler(HTTPException)
    async def framework_refusal(_: Request, exc: HTTPException) -> JSONResponse:
        # FastAPI answers a body it cannot decode (not UTF-8) with 400: it is a malformed body like any other
        if exc.status_code == 400:
            return JSONResponse({"error": "invalid_input", "message": "body: not a UTF-8 JSON document",
                                 "field": "body"}, status_code=422)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse({"error": code, "message": str(exc.detail)}, status_code=exc.status_code,
                            headers=exc.headers)
