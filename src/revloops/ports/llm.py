"""The LLM port: one structured answer per call, validated against our schema, with its sources and cost.

Loops ask for a pydantic model, never for free text: Engage's drafts, Deploy's ambiguous-geography
resolver and the outbound signal scanner all go through ``LLM.structured``. With ``web_search`` the
model may search the web first; the pages it cites come back as ``Citation`` values, the pages the
searches returned as ``SearchResult`` values (a failed search as its error code), and the searched
content is treated as data (the answer is still validated against the schema).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel

from revloops.core.errors import DomainError

T = TypeVar("T", bound=BaseModel)


class BudgetExceeded(DomainError):
    """The configured LLM budget is spent: the call was not made (callers fall back to offline logic)."""

    code = "llm_budget_exceeded"

    def __init__(self, message: str, spent_usd: float = 0.0, budget_usd: float = 0.0) -> None:
        super().__init__(message)
        self.spent_usd = spent_usd
        self.budget_usd = budget_usd


@dataclass(frozen=True)
class Citation:
    """A web page the answer relied on: its address, title and the passage cited."""

    url: str
    title: str | None = None
    cited_text: str | None = None


@dataclass(frozen=True)
class SearchResult:
    """A page a web search returned (whether or not the answer cited it): address, title, age, the query."""

    url: str
    title: str | None = None
    page_age: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class Usage:
    """What one structured call consumed, summed over its requests (a paused turn takes several)."""

    input_tokens: int = 0
    output_tokens: int = 0
    web_search_requests: int = 0
    requests: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.web_search_requests + other.web_search_requests,
            self.requests + other.requests,
        )


@dataclass(frozen=True)
class LLMResult(Generic[T]):
    """A validated structured answer.

    Attributes:
        value: the tool input, validated against the requested schema.
        citations: web sources cited while answering (empty without web search).
        search_results: the pages the searches returned, in order, each once (empty without web search).
        search_errors: the error codes of searches that failed (``unavailable``, ``max_uses_exceeded``...).
        usage: tokens and web searches consumed.
        cost_usd: what the call cost at the configured prices.
        model: the model that answered.
    """

    value: T
    citations: tuple[Citation, ...] = field(default_factory=tuple)
    search_results: tuple[SearchResult, ...] = field(default_factory=tuple)
    search_errors: tuple[str, ...] = field(default_factory=tuple)
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    model: str = ""


class LLM(abc.ABC):
    """A language model that answers through a forced tool whose input is our schema."""

    name: str = "llm"

    @abc.abstractmethod
    def structured(
        self,
        system: str,
        prompt: str,
        schema: type[T],
        *,
        tool_name: str,
        web_search: bool = False,
        max_searches: int = 3,
        allowed_domains: Sequence[str] = (),
        blocked_domains: Sequence[str] = (),
    ) -> LLMResult[T]:
        """Ask for one answer shaped as ``schema``.

        Args:
            system: the instructions (who the model is, what it must and must not do).
            prompt: the user turn: the task and the facts, as data.
            schema: the pydantic model the answer must validate against.
            tool_name: the name of the answer tool the model is made to call.
            web_search: offer the web search tool before answering.
            max_searches: at most this many searches in the call.
            allowed_domains: search only these domains (with ``web_search``).
            blocked_domains: never search these domains (with ``web_search``); not with ``allowed_domains``.

        Raises:
            ValueError: both ``allowed_domains`` and ``blocked_domains`` were given; nothing was sent.
            BudgetExceeded: the budget is spent; nothing was sent.
            UpstreamUnavailable: the service stayed unavailable after bounded retries.
            UpstreamRejected: the request was refused, or the answer did not validate.
        """
