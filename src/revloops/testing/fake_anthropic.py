"""A local fake of the Anthropic Messages API (``POST /v1/messages``) for contract tests and demos.

It speaks the wire format the SDK expects: ``Authorization: Bearer`` (or ``x-api-key``) and an
``anthropic-version`` header; a forced custom tool is answered with a ``tool_use`` block whose input
comes from a pluggable responder; when the web_search server tool is offered (and the answer tool is not
forced) it answers, per query, a ``server_tool_use`` block and a ``web_search_tool_result`` block
(``web_search_result`` items with an opaque ``encrypted_content``, as the real API sends, or a
``web_search_tool_result_error``), then text blocks with ``web_search_result_location`` citations,
optionally pausing the turn first (``pause_turn``); usage carries ``server_tool_use.web_search_requests``.

What a search finds is scripted per test: either fixed ``hits`` (every search returns them all) or a
corpus of ``pages`` searched by the query's keywords, filtered by the tool's ``allowed_domains`` /
``blocked_domains``; the scripted model's queries are ``queries`` (default: the prompt's first 80
characters), and searches past ``max_uses`` fail with ``max_uses_exceeded``. Faults are queued or made
permanent: 429 ``rate_limit_error`` with ``retry-after``, 529 ``overloaded_error``, 500, or a slow answer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import re
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
    results: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)


Responder = Callable[[ToolRequest], dict[str, Any]]


@dataclass(frozen=True)
class SearchHit:
    """One web search result the fake returns (and cites)."""

    url: str
    title: str
    cited_text: str
    page_age: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a test's web corpus.

    Attributes:
        url: its address (its host is what domain filters match).
        title: its title.
        text: its text, searched by keyword; never sent to the client (results carry it encrypted).
        page_age: how old the search engine says it is.
        cite: the passages the model cites from it; None: each sentence of ``text``; empty: none.
        in_results: False to cite the page without its appearing in any search result (a forged citation).
    """

    url: str
    title: str
    text: str
    page_age: str | None = None
    cite: tuple[str, ...] | None = None
    in_results: bool = True

    def passages(self) -> list[str]:
        """What the model cites from this page."""
        if self.cite is not None:
            return list(self.cite)
        return [s for s in re.split(r"(?<=[.!?])\s+", self.text.strip()) if s]


_STOPWORDS = frozenset({"the", "and", "for", "with", "from", "about", "news", "into", "that", "this", "what",
                        "when", "where", "which", "since", "has", "have", "are", "was", "were", "its", "their",
                        "our", "your", "any", "all"})


def _keywords(query: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", query.lower()) if len(w) >= 3 and w not in _STOPWORDS}


def _host(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    return host.removeprefix("www.")


def _in_domains(url: str, domains: list[str]) -> bool:
    host = _host(url)
    return any(host == d.lower().removeprefix("www.") or host.endswith("." + d.lower()) for d in domains)


def _opaque(*parts: str) -> str:
    return base64.b64encode(hashlib.sha256("|".join(parts).encode()).digest()).decode()


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
        hits: what every web search finds (used when ``pages`` is empty).
        pages: a web corpus searched by keyword (each page found is cited, see ``Page.cite``).
        queries: the queries the scripted model searches for (default: the prompt's first 80 characters).
        results_per_search: the most pages one search returns.
        pause_first: end the first searching answer with ``pause_turn`` (the client must continue it).
        pause_dangling: the pause leaves one more search started, its result not yet in (the client may
            continue the turn; sending it back otherwise is refused, as a tool use without its result).
        answer_after_search: when False a searching turn ends with text only (the client must force the tool).
        search_error: answer searches with this ``web_search_tool_result_error`` code instead of hits
            (still counted as a search; a search past ``max_uses`` is not).
        usage: input and output tokens reported per answer (a searching answer over ``pages`` adds
            a quarter of the found pages' characters to its input tokens, as searched content is billed).
    """

    api_key: str = "test-key"
    responder: Responder = field(default=lambda req: {})
    hits: list[SearchHit] = field(default_factory=lambda: [
        SearchHit("https://news.example.com/acme-expands", "Acme opens a Berlin office",
                  "Acme GmbH opened its Berlin office in March.", "2 days ago"),
    ])
    pages: list[Page] = field(default_factory=list)
    queries: list[str] | None = None
    results_per_search: int = 5
    pause_first: bool = False
    pause_dangling: bool = False
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
        searches = extra = 0
        if search_tool is not None and not forced and not searched:
            content, searches, extra = self._search_blocks(_first_text(messages), search_tool)
            searched = True
            if self.pause_first and not any(m["role"] == "assistant" for m in messages):
                if self.pause_dangling:
                    content.append({"type": "server_tool_use", "id": f"srvtoolu_fake{next(self._ids):06d}",
                                    "name": "web_search", "input": {"query": "more"}})
                return self._message(body, content, "pause_turn", searches, extra)
            if not self.answer_after_search:
                return self._message(body, content, "end_turn", searches, extra)
        tool = next((t for t in custom if t["name"] == choice.get("name")), custom[0] if custom else None)
        if tool is None:
            content.append({"type": "text", "text": "No tool to answer with."})
            return self._message(body, content, "end_turn", searches)
        seen = [*(b for m in messages if m["role"] == "assistant" for b in _blocks(m)), *content]
        req = ToolRequest(tool["name"], tool.get("input_schema", {}), _system_text(body.get("system")),
                          _first_text(messages), messages, searched, _results_of(seen), _citations_of(seen))
        content.append({"type": "tool_use", "id": f"toolu_fake{next(self._ids):06d}", "name": tool["name"],
                        "input": self.responder(req)})
        return self._message(body, content, "tool_use", searches, extra)

    def _search_blocks(self, prompt: str, tool: dict[str, Any]) -> tuple[list[dict[str, Any]], int, int]:
        """One searching turn: each query's use and result blocks, then the cited passages as text."""
        max_uses = tool.get("max_uses") or 10**6
        blocks: list[dict[str, Any]] = []
        found: dict[str, Page] = {}
        searches = 0
        for i, query in enumerate(self.queries or [prompt[:80]]):
            use_id = f"srvtoolu_fake{next(self._ids):06d}"
            blocks.append({"type": "server_tool_use", "id": use_id, "name": "web_search", "input": {"query": query}})
            error = "max_uses_exceeded" if i >= max_uses else self.search_error
            searches += i < max_uses
            if error:
                result: Any = {"type": "web_search_tool_result_error", "error_code": error}
            else:
                pages = self._find(query, tool)
                found.update((p.url, p) for p in pages)
                result = [{"type": "web_search_result", "url": p.url, "title": p.title, "page_age": p.page_age,
                           "encrypted_content": _opaque("content", p.url)} for p in pages if p.in_results]
            blocks.append({"type": "web_search_tool_result", "tool_use_id": use_id, "content": result})
        for page in found.values():
            cites = [{"type": "web_search_result_location", "url": page.url, "title": page.title,
                      "cited_text": text, "encrypted_index": _opaque("index", page.url, text)}
                     for text in page.passages()]
            if cites:
                blocks.append({"type": "text", "text": " ".join(page.passages()), "citations": cites})
        extra = sum(len(p.text) for p in found.values()) // 4 if self.pages else 0
        return blocks, searches, extra

    def _find(self, query: str, tool: dict[str, Any]) -> list[Page]:
        """The pages a query finds: every hit, or the corpus pages sharing its keywords, best first."""
        if not self.pages:
            corpus = [Page(h.url, h.title, h.cited_text, h.page_age, (h.cited_text,)) for h in self.hits]
            ranked = corpus
        else:
            words = _keywords(query)
            scored = [(len(words & _keywords(f"{p.title} {p.text} {p.url}")), i, p) for i, p in enumerate(self.pages)]
            ranked = [p for score, _, p in sorted(scored, key=lambda t: (-t[0], t[1])) if score]
        if tool.get("allowed_domains"):
            ranked = [p for p in ranked if _in_domains(p.url, tool["allowed_domains"])]
        if tool.get("blocked_domains"):
            ranked = [p for p in ranked if not _in_domains(p.url, tool["blocked_domains"])]
        return ranked[: self.results_per_search]

    def _message(self, body: dict[str, Any], content: list[dict[str, Any]], stop: str,
                 searches: int, extra_input: int = 0) -> dict[str, Any]:
        return {
            "id": f"msg_fake{next(self._ids):06d}", "type": "message", "role": "assistant",
            "model": body["model"], "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": self.usage[0] + extra_input, "output_tokens": self.usage[1],
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
    for i, message in enumerate(body["messages"][:-1]):  # only the last may be a turn to continue
        blocks = _blocks(message)
        done = {b.get("tool_use_id") for b in blocks if b.get("type") == "web_search_tool_result"}
        if any(b.get("type") == "server_tool_use" and b.get("id") not in done for b in blocks):
            return f"messages.{i}: a server_tool_use block has no web_search_tool_result"
    for i, tool in enumerate(body.get("tools") or []):
        if tool.get("allowed_domains") and tool.get("blocked_domains"):
            return f"tools.{i}: allowed_domains and blocked_domains cannot both be specified"
    return None


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _results_of(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for b in blocks if b.get("type") == "web_search_tool_result" and isinstance(b.get("content"), list)
            for r in b["content"]]


def _citations_of(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for b in blocks if b.get("type") == "text" for c in b.get("citations") or []]


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
