"""The signal scanner port: read the news about one target account and answer the buying signals it holds,
each with the passage it rests on and where that passage was read, and what the scan cost.

Two adapters: Claude with web search (``adapters/anthropic/signals.py``) and the offline scanner over the
example org's news corpus (``adapters/offline/signals.py``), which says in every answer that its news is a
shipped corpus, not the web.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Sequence

from pydantic import Field

from revloops.core.model import Frozen


class SignalKind(Frozen):
    """A signal type the scanner looks for: its id and what to look for (from ``generate/targets.yaml``)."""

    id: str
    label: str
    look_for: str


class ScanTarget(Frozen):
    """The account to scan and what to look for."""

    name: str
    domain: str
    kinds: list[SignalKind]
    since: dt.date = Field(description="ignore news older than this day")


class Source(Frozen):
    """Where a signal was read: the page and the passage of it the signal rests on."""

    url: str
    title: str | None = None
    outlet: str | None = None
    published: dt.date | None = None
    quote: str = Field(min_length=1)


class FoundSignal(Frozen):
    """One signal: its type, what happened, when, the sources (each with its quoted passage), and how sure."""

    type: str
    headline: str = Field(min_length=1, max_length=300)
    event_date: dt.date | None = None
    sources: list[Source] = Field(min_length=1)
    confidence: float = Field(ge=0, le=1)


class ScanCost(Frozen):
    """What a scan consumed (or, as a reservation, may consume at most)."""

    searches: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0


class ScanResult(Frozen):
    """A scan's answer.

    Attributes:
        signals: the signals kept (each quoted passage found in a source the answer cites).
        dropped: signals the answer gave that were dropped, with why (``no citation``, ``stale``, ``off type``...).
        cost: what it consumed.
        provider: ``anthropic`` or ``offline``.
        synthetic: the news did not come from the web (the offline corpus); shown wherever signals show.
        model: the model that read it, when one did.
    """

    signals: list[FoundSignal] = Field(default_factory=list)
    dropped: list[dict[str, str]] = Field(default_factory=list)
    cost: ScanCost = Field(default_factory=ScanCost)
    provider: str
    synthetic: bool = False
    model: str | None = None


class SignalScanner(abc.ABC):
    """Reads the news of one target account into signals."""

    name: str = "scanner"
    synthetic: bool = False

    @abc.abstractmethod
    def scan(self, target: ScanTarget, *, now: dt.datetime, max_searches: int,
             allowed_domains: Sequence[str] = (), blocked_domains: Sequence[str] = ()) -> ScanResult:
        """Scan one account.

        Raises:
            UpstreamUnavailable: the service stayed unavailable after bounded retries (the tick retries).
        """

    @abc.abstractmethod
    def worst_case(self, max_searches: int) -> ScanCost:
        """The most one scan with ``max_searches`` can cost: what a scan reserves from the budget first."""
