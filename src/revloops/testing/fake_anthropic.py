"""A local fake of the Anthropic Messages API (``POST /v1/messages``) for contract tests and demos.

It speaks the wire format the SDK expects: ``Authorization: Bearer`` (or ``x-api-key``) and an
``anthropic-version`` header; a forced custom tool is answered with a ``tool_use`` block whose input
comes from a pluggable responder; when the web_search server tool is offered (and the answer tool is not
forced) it answers ``server_tool_use``, ``web_search_tool_result`` and a text block with
``web_search_result_location`` citations, optionally pausing the turn first (``pause_turn``); usage
carries ``server_tool_use.web_search_requests``. Faults are queued or made permanent: 429 with
``retry-after``, 529 overloaded, 500, or a slow answer.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

_ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error",
    500: "api_error", 529: "overloaded_error",
}


@dataclass(frozen=True)
class ToolRequest:
    """What a responder sees: the answer tool asked for and the conversation so far."""

    tool_name: str
    input_schema: dict[str, Any]
    system: str
    prompt: str
    messages: list[dict[str, Any]]
    searched: bool


Responder = Callable[[ToolRequest], dict[str, Any]]


@dataclass(frozen=True)
class SearchHit:
    """One web search result the fake returns (and cites)."""

    url: str
    title: str
    cited_text: str
    page_age: str | None = None


@dataclass(frozen=True)
class Fault:
    """A failure to answer with instead of a message (``status`` 0 with ``delay``: only slow)."""

    status: int
    retry_after: float | None = None
    delay: float = 0.0


@dataclass
class FakeAnthropic:
    """The fake's state: its key, responder, search hits and faults, and every request it received.

    Attributes:
        api_key: the only key accepted.
        responder: builds the answer tool's input (default: an empty object).
        hits: what a web search finds.
        pause_first: end the first searching answer with ``pause_turn`` (the client must continue it).
        answer_after_search: when False a searching turn ends with text only (the client must force the tool).
        search_error: answer searches with this ``web_search_tool_result_error`` code instead of hits.
        usage: input and output tokens reported per answer.
    """

    api_key: str = "test-key"
    responder: Responder = field(default=lambda req: {})
    hits: list[SearchHit] = field(default_factory=lambda: [
        SearchHit("https://news.example.com/acme-expands", "Acme opens a Berlin office",
                  "Acme GmbH opened its Berlin office in March.", "2 days ago"),
    ])
    pause_first: bool = False
    answer_after_search: bool = True
    search_error: str | None = None
    usage: tuple[int, int] = (120, 40)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    _faults: deque[Fault] = field(default_factory=deque)
    _always: Fault | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` (429, 529, 500...)."""
        with self._lock:
            self._faults.extend(Fault(status, retry_after) for _ in range(times))

    def fail_always(self, status: int | None, retry_after: float | None = None) -> None:
        """Answer every request with ``status`` until called with None."""
        self._always = None if status is None else Fault(status, retry_after)

    def slow_next(self, seconds: float, times: int = 1) -> None:
        """Delay the next ``times`` answers by ``seconds``."""
        with self._lock:
            self._faults.extend(Fault(0, delay=seconds) for _ in range(times))

    @property
    def app(self) -> FastAPI:
        """The ASGI app (serve it with ``revloops.testing.servers.serve``)."""
        api = FastAPI(title="fake anthropic")
        api.add_api_route("/v1/messages", self._messages, methods=["POST"])
        return api

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
        return self._always

    async def _messages(self, request: Request) -> JSONResponse:
        denied = self._check_headers(request)
        if denied is not None:
            return denied
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            self.headers.append(dict(request.headers))
        fault = self._next_fault()
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status:
                headers = {} if fault.retry_after is None else {"retry-after": f"{fault.retry_after:g}"}
                return _error(fault.status, f"fake {_ERROR_TYPES.get(fault.status, 'error')}", headers)
        problem = _invalid(body)
        if problem:
            return _error(400, problem)
        return JSONResponse(self._answer(body))

    def _check_headers(self, request: Request) -> JSONResponse | None:
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else request.headers.get("x-api-key")
        if key != self.api_key:
            return _error(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _error(400, "anthropic-version: header is required")
        return None

    def _answer(self, body: dict[str, Any]) -> dict[str, Any]:
        tools = body.get("tools") or []
        custom = [t for t in tools if t.get("type") in (None, "custom")]
        search_tool = next((t for t in tools if str(t.get("type", "")).startswith("web_search_")), None)
        choice = body.get("tool_choice") or {"type": "auto"}
        forced = choice.get("type") == "tool"
        messages = body["messages"]
        searched = any(_has_block(m, "web_search_tool_result") for m in messages)
        content: list[dict[str, Any]] = []
        searches = 0
        if search_tool is not None and not forced and not searched:
            content, searches = self._search_blocks(_first_text(messages))
            searched = True
            if self.pause_first and not any(m["role"] == "assistant" for m in messages):
                return self._message(body, content, "pause_turn", searches)
            if not self.answer_after_search:
                return self._message(body, content, "end_turn", searches)
        tool = next((t for t in custom if t["name"] == choice.get("name")), custom[0] if custom else None)
        if tool is None:
            content.append({"type": "text", "text": "No tool to answer with."})
            return self._message(body, content, "end_turn", searches)
        req = ToolRequest(tool["name"], tool.get("input_schema", {}), _system_text(body.get("system")),
                          _first_text(messages), messages, searched)
        content.append({"type": "tool_use", "id": f"toolu_fake{next(self._ids):06d}", "name": tool["name"],
                        "input": self.responder(req)})
        return self._message(body, content, "tool_use", searches)

    def _search_blocks(self, prompt: str) -> tuple[list[dict[str, Any]], int]:
        use_id = f"srvtoolu_fake{next(self._ids):06d}"
        blocks: list[dict[str, Any]] = [
            {"type": "server_tool_use", "id": use_id, "name": "web_search", "input": {"query": prompt[:80]}},
        ]
        if self.search_error:
            result: Any = {"type": "web_search_tool_result_error", "error_code": self.search_error}
            blocks.append({"type": "web_search_tool_result", "tool_use_id": use_id, "content": result})
            return blocks, 1
        results = [{"type": "web_search_result", "url": h.url, "title": h.title, "page_age": h.page_age,
                    "encrypted_content": "ZmFrZQ=="} for h in self.hits]
        blocks.append({"type": "web_search_tool_result", "tool_use_id": use_id, "content": results})
        cites = [{"type": "web_search_result_location", "url": h.url, "title": h.title,
                  "cited_text": h.cited_text, "encrypted_index": "ZmFrZQ=="} for h in self.hits]
        blocks.append({"type": "text", "text": "Here is what the search found.", "citations": cites})
        return blocks, 1

    def _message(self, body: dict[str, Any], content: list[dict[str, Any]], stop: str,
                 searches: int) -> dict[str, Any]:
        return {
            "id": f"msg_fake{next(self._ids):06d}", "type": "message", "role": "assistant",
            "model": body["model"], "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": self.usage[0], "output_tokens": self.usage[1],
                      "server_tool_use": {"web_search_requests": searches, "web_fetch_requests": 0}},
        }


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def _invalid(body: dict[str, Any]) -> str | None:
    for key in ("model", "max_tokens", "messages"):
        if key not in body:
            return f"{key}: Field required"
    for key in ("temperature", "top_p", "top_k"):
        if key in body:
            return f"{key}: not supported by this model"
    if not body["messages"] or body["messages"][0].get("role") != "user":
        return "messages: the first message must be from the user"
    return None


def _has_block(message: dict[str, Any], kind: str) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == kind for b in content)


def _first_text(messages: list[dict[str, Any]]) -> str:
    content = messages[0].get("content", "")
    if isinstance(content, str):
        return content
    return " ".join(b.get("text", "") for b in content if isinstance(b, dict))


def _system_text(system: Any) -> str:
    if isinstance(system, list):
        return " ".join(b.get("text", "") for b in system if isinstance(b, dict))
    return str(system or "")
