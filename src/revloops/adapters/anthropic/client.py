"""Claude through the official ``anthropic`` SDK: structured answers through a forced tool, with web search.

The SDK's own retries are off (``max_retries=0``): this adapter retries 429, 529, 5xx and connection
failures itself, a bounded number of times, waiting what ``retry-after`` asks for, so the workflow engine
sees one clear ``UpstreamUnavailable`` when the service stays down. A searching call sends at most
``max_requests`` requests and makes at most ``max_searches`` searches across them (``max_uses`` counts per
request, so a continued turn is offered only the searches left); its answer carries the pages the searches
returned and the codes of those that failed, besides the citations. Every answer's spend is logged before
its content is trusted, and a spent budget stops the call before anything is sent. The budget is read
before each request, so calls already in flight when it runs out may overshoot it by at most their own cost.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import anthropic
from pydantic import ValidationError

from revloops.adapters.anthropic.spend import Prices, SpendLedger
from revloops.core.errors import AdapterError, UpstreamRejected, UpstreamUnavailable
from revloops.ports.llm import LLM, BudgetExceeded, Citation, LLMResult, SearchResult, T, Usage

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_PAUSES = 4  # continuations of a paused server-tool turn before we force the answer
WEB_SEARCH_TOOL = "web_search_20250305"


def _retry_after(exc: anthropic.APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) * scale)
        except ValueError:
            continue
    return None


def _usage(message: Any) -> Usage:
    u = message.usage
    server = getattr(u, "server_tool_use", None)
    searches = int(getattr(server, "web_search_requests", 0) or 0) if server is not None else 0
    return Usage(int(u.input_tokens or 0), int(u.output_tokens or 0), searches, 1)


def _citations(message: Any) -> list[Citation]:
    out: list[Citation] = []
    for block in message.content:
        if getattr(block, "type", None) != "text":
            continue
        for cit in getattr(block, "citations", None) or []:
            if getattr(cit, "type", None) == "web_search_result_location":
                out.append(Citation(url=cit.url, title=cit.title, cited_text=cit.cited_text))
    return out


def _searches(message: Any) -> tuple[list[SearchResult], list[str]]:
    """The pages the answer's searches returned, and the error codes of those that failed."""
    queries: dict[str, str] = {}
    results: list[SearchResult] = []
    errors: list[str] = []
    for block in message.content:
        kind = getattr(block, "type", None)
        if kind == "server_tool_use":
            queries[block.id] = str((block.input or {}).get("query", ""))
        elif kind == "web_search_tool_result":
            query = queries.get(block.tool_use_id)
            if isinstance(block.content, list):
                results += [SearchResult(r.url, r.title, r.page_age, query) for r in block.content]
            else:
                errors.append(str(getattr(block.content, "error_code", "unknown")))
    return results, errors


def _search_tool(max_searches: int, allowed: Sequence[str], blocked: Sequence[str]) -> dict[str, Any]:
    if allowed and blocked:
        raise ValueError("web search takes allowed_domains or blocked_domains, not both")
    tool: dict[str, Any] = {"type": WEB_SEARCH_TOOL, "name": "web_search", "max_uses": max_searches}
    if allowed:
        tool["allowed_domains"] = list(allowed)
    if blocked:
        tool["blocked_domains"] = list(blocked)
    return tool


def _as_params(message: Any, *, ending: bool = False) -> list[dict[str, Any]]:
    """The answer's content blocks as request params, to send a paused turn back.

    ``ending``: the turn will not be continued (the answer is forced next), so a server tool use the pause
    left without its result is dropped rather than sent back dangling.
    """
    blocks = [block.model_dump(mode="json", exclude_none=True) for block in message.content]
    if ending:
        done = {b.get("tool_use_id") for b in blocks if b.get("type") == "web_search_tool_result"}
        blocks = [b for b in blocks if b.get("type") != "server_tool_use" or b.get("id") in done]
    return blocks


class _Searched:
    """The searches of a call's answers so far: pages found (once each, by URL), errors, searches tried."""

    def __init__(self) -> None:
        self.results: dict[str, SearchResult] = {}
        self.errors: list[str] = []
        self.uses = 0

    def add(self, message: Any) -> None:
        self.uses += sum(getattr(b, "type", None) == "server_tool_use" and getattr(b, "name", None) == "web_search"
                         for b in message.content)
        results, errors = _searches(message)
        for result in results:
            self.results.setdefault(result.url, result)
        self.errors += errors


class AnthropicLLM(LLM):
    """The LLM port on Claude (Haiku by default).

    Args:
        api_key: the Anthropic API key (always explicit: the environment is never read here).
        model: the model id.
        ledger: where spend is logged and the budget read.
        budget_usd: the monthly budget; at or over it, calls raise ``BudgetExceeded``.
        base_url: another endpoint (a proxy, or the local fake in tests).
        prices: token and search prices.
        timeout: seconds per HTTP request.
        max_attempts: tries per request for retryable failures.
        max_wait: the longest ``retry-after`` honoured in-process; longer waits are left to the engine.
        concurrency: requests in flight at once from this process.
        max_tokens: the answer's token cap.
        sleep: how to wait between tries (tests pass a recorder).
    """

    name = "anthropic"

    def __init__(self, api_key: str, model: str, ledger: SpendLedger, *, budget_usd: float,
                 base_url: str | None = None, prices: Prices | None = None, timeout: float = 30.0,
                 max_attempts: int = 4, max_wait: float = 30.0, concurrency: int = 4, max_tokens: int = 2048,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout)
        self.model = model
        self.ledger = ledger
        self.budget_usd = budget_usd
        self.prices = prices or Prices()
        self.max_attempts = max(1, max_attempts)
        self.max_wait = max_wait
        self.max_tokens = max_tokens
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(max(1, concurrency))

    @property
    def max_requests(self) -> int:
        """The most requests one ``structured`` call sends (a searching call continues paused turns)."""
        return MAX_PAUSES + 1

    def structured(self, system: str, prompt: str, schema: type[T], *, tool_name: str,
                   web_search: bool = False, max_searches: int = 3, allowed_domains: Sequence[str] = (),
                   blocked_domains: Sequence[str] = ()) -> LLMResult[T]:
        tools: list[dict[str, Any]] = []
        if web_search:
            tools.append(_search_tool(max_searches, allowed_domains, blocked_domains))
        self._check_budget()
        answer_tool = {
            "name": tool_name,
            "description": (schema.__doc__ or f"Answer as {schema.__name__}.").strip(),
            "input_schema": schema.model_json_schema(),
        }
        tools.append(answer_tool)
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        forced = {"type": "tool", "name": tool_name}
        usage, citations, searched = Usage(), [], _Searched()
        # A forced custom tool would answer before searching, so a searching call lets the model
        # choose, continues paused turns, and forces the answer only when it has not given one.
        choice: dict[str, Any] = {"type": "auto"} if web_search else forced
        for _ in range(MAX_PAUSES + 1):
            message = self._create(system, messages, tools, choice, tool_name)
            usage += _usage(message)
            citations += _citations(message)
            searched.add(message)
            found = [b for b in message.content if getattr(b, "type", None) == "tool_use"]
            if found:
                return self._result(found, tool_name, schema, citations, usage, searched)
            if choice is forced:
                raise UpstreamRejected(f"the answer called no {tool_name} tool (stop_reason {message.stop_reason})")
            # max_uses counts per request: a continued turn gets only the searches the call has left.
            left = max_searches - searched.uses
            ending = message.stop_reason != "pause_turn" or left <= 0
            messages.append({"role": "assistant", "content": _as_params(message, ending=ending)})
            if ending:
                messages.append({"role": "user", "content": f"Now answer with the {tool_name} tool."})
                choice = forced
            else:
                tools = [{**tools[0], "max_uses": left}, *tools[1:]]
                self._check_budget()
        raise UpstreamRejected(f"no {tool_name} answer after {MAX_PAUSES} paused turns")

    def _result(self, found: list[Any], tool_name: str, schema: type[T], citations: list[Citation],
                usage: Usage, searched: _Searched) -> LLMResult[T]:
        block = next((b for b in found if b.name == tool_name), None)
        if block is None:
            raise UpstreamRejected(f"the answer called {found[0].name!r}, not {tool_name!r}")
        try:
            value = schema.model_validate(block.input)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors())
            raise UpstreamRejected(f"the {tool_name} answer does not match {schema.__name__}: {problems}") from None
        unique = tuple(dict.fromkeys(citations))
        return LLMResult(value=value, citations=unique, usage=usage, cost_usd=self.prices.cost(usage),
                         model=self.model, search_results=tuple(searched.results.values()),
                         search_errors=tuple(searched.errors))

    def _check_budget(self) -> None:
        spent = self.ledger.spent_this_month()
        if spent >= self.budget_usd:
            raise BudgetExceeded(
                f"the LLM budget is spent this month (${spent:.2f} of ${self.budget_usd:.2f})",
                spent_usd=spent, budget_usd=self.budget_usd,
            )

    def _create(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                choice: dict[str, Any], purpose: str) -> Any:
        for attempt in range(1, self.max_attempts + 1):
            try:
                params: dict[str, Any] = {"model": self.model, "max_tokens": self.max_tokens, "system": system,
                                          "messages": messages, "tools": tools, "tool_choice": choice}
                with self._slots:
                    message = self.client.messages.create(**params)
            except anthropic.APIStatusError as exc:
                error = self._status_error(exc)
            except anthropic.APIConnectionError as exc:
                error = UpstreamUnavailable(f"Anthropic is unreachable: {exc}")
            except anthropic.APIError as exc:
                raise UpstreamRejected(f"Anthropic answered something we cannot read: {exc}") from None
            else:
                usage = _usage(message)
                self.ledger.record(self.model, purpose, usage, self.prices.cost(usage), dt.datetime.now(dt.UTC))
                return message
            if not isinstance(error, UpstreamUnavailable) or attempt == self.max_attempts:
                raise error
            wait = error.retry_after if error.retry_after is not None else min(0.5 * 2 ** (attempt - 1), 8.0)
            if wait > self.max_wait:
                raise error  # a long pause is the engine's to schedule, not a thread's to sleep
            self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _status_error(exc: anthropic.APIStatusError) -> AdapterError:
        kind = exc.type or "error"
        detail = exc.api_message or str(exc)
        if exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500:
            return UpstreamUnavailable(f"Anthropic {exc.status_code} {kind}: {detail}", retry_after=_retry_after(exc))
        return UpstreamRejected(f"Anthropic {exc.status_code} {kind}: {detail}")

