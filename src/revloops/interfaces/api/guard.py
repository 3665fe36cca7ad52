"""The door of the API, before any route runs: bodies are bounded and callers are known before a body is read.

A pure ASGI middleware (no per-request objects beyond what it must look at):
- a body larger than the limit (``REVLOOPS_API_MAX_BODY_BYTES``) is refused with 413: at once when its
  ``Content-Length`` says so, and as soon as a streamed body passes the limit otherwise;
- every endpoint that takes a bearer token refuses a missing or unknown one with 401 before the body is read,
  and the signed events endpoint refuses a missing or malformed signature the same way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from revloops.app import Revloops
from revloops.core.errors import RevloopsError, Unauthenticated, error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN = ("/health", "/docs", "/redoc", "/openapi.json")
SIGNED = "/api/crm/events"


async def _answer(send: Send, status: int, body: dict[str, object],
                  headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": data})


class TooLarge(Exception):
    """A streamed body passed the limit."""


class Guard:
    """Bound bodies and check callers first (see the module docstring)."""

    def __init__(self, app: ASGIApp, revloops: Revloops, max_body: int) -> None:
        self.app, self.revloops, self.max_body = app, revloops, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.lower(): v for k, v in scope["headers"]}
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _answer(send, 413, {"error": "body_too_large", "message": f"the body is over {self.max_body} bytes"})
            return
        refusal = self._refusal(path, scope["method"], headers)
        if refusal is not None:
            await _answer(send, 401, error_body(refusal), ((b"www-authenticate", b"Bearer"),))
            return
        await self._bounded(scope, receive, send)

    def _refusal(self, path: str, method: str, headers: dict[bytes, bytes]) -> RevloopsError | None:
        if path in OPEN or not path.startswith("/api/"):
            return None
        if path == SIGNED and method == "POST":
            if not headers.get(b"x-revloops-signature"):
                return Unauthenticated("missing signature")
            return None
        auth = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, token = auth.partition(" ")
        try:
            self.revloops.authenticate(token.strip() if scheme.lower() == "bearer" else None)
        except Unauthenticated as exc:
            return exc
        return None

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0
        started = False

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise TooLarge
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting, tracking)
        except TooLarge:
            if not started:
                await _answer(send, 413, {"error": "body_too_large",
                                          "message": f"the body is over {self.max_body} bytes"})
