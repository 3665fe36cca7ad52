"""The signal ledger port: every outbound signal with its sources, evidence and cost; every scan with what it
spent; and the scan budget, reserved before a scan calls out and settled after.

Signals are folded by event (one signal, several sources: the ledger's ``add`` merges a new source into the
signal of the same event); a scan's id is its tick's, so a re-run of a tick records nothing twice.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl


def _score_schema() -> Any:
    import polars as pl

    return pl.Schema({"domain": pl.String, "type": pl.String, "strength": pl.Float64, "event_date": pl.Date})


#: the columns the decayed score reads
SCORE_SCHEMA: Any = _score_schema()


@dataclass(frozen=True)
class StoredSignal:
    """A signal in the ledger.

    Attributes:
        id: stable: derived from the event (account, type, event date, headline), so a re-run adds nothing.
        domain: the target account's domain; account_id: its CRM account when tied.
        type: the signal type; headline; event_date: when it happened.
        sources: each source that reported it (url, title, outlet, published, quote), first first.
        strength, confidence: how strong the signal is (its type's), how sure the scanner was.
        provider: ``anthropic`` or ``offline``; synthetic: its news did not come from the web.
        scan_id: the scan that first found it; first_seen: when.
        outreach: the outbound run it started (None when it started none); outreach_at: when.
    """

    id: str
    domain: str
    account_id: str | None
    type: str
    headline: str
    event_date: dt.date
    sources: list[dict[str, Any]]
    strength: float
    confidence: float
    provider: str
    synthetic: bool
    scan_id: str
    first_seen: dt.datetime
    outreach: str | None = None
    outreach_at: dt.datetime | None = None


@dataclass(frozen=True)
class StoredScan:
    """One scan of one target: when, how it ended, what it found and what it cost."""

    id: str
    domain: str
    at: dt.datetime
    status: str  # done | skipped | failed
    reason: str | None = None
    provider: str = ""
    found: int = 0
    kept: int = 0
    folded: int = 0
    dropped: list[dict[str, str]] = field(default_factory=list)
    searches: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0


@dataclass(frozen=True)
class Budget:
    """The limits a scan's reservation must fit: per day (searches, tokens) and per month (dollars)."""

    searches_per_day: int
    tokens_per_day: int
    usd_per_month: float


@dataclass(frozen=True)
class Spend:
    """Reserved and spent amounts of one period (a day, or a month)."""

    period: str
    searches: int = 0
    tokens: int = 0
    usd: float = 0.0


class SignalLedger(abc.ABC):
    """Signals, scans and the scan budget on the state database."""

    @abc.abstractmethod
    def add(self, signal: StoredSignal, *, fold_days: int,
            same: Callable[[StoredSignal, StoredSignal], bool] | None = None) -> tuple[StoredSignal, str]:
        """Record a signal, folded into the signal of the same event when there is one: the same account and
        type, an event date within ``fold_days``, and (when given) ``same(stored, new)``. Answers the stored
        signal and what happened: ``new``, ``folded`` (a new source on an existing signal) or ``known``
        (nothing new: a re-run)."""

    @abc.abstractmethod
    def get(self, signal_id: str) -> StoredSignal | None:
        """One signal, or None."""

    @abc.abstractmethod
    def signals(self, *, domain: str | None = None, type: str | None = None, since: dt.date | None = None,
                limit: int = 100, offset: int = 0) -> tuple[list[StoredSignal], int]:
        """Signals matching every filter given, newest event first, and how many match."""

    @abc.abstractmethod
    def all_signals(self) -> list[StoredSignal]:
        """Every signal (the decay score reads the whole ledger as a frame)."""

    @abc.abstractmethod
    def set_outreach(self, signal_id: str, run_id: str, at: dt.datetime) -> bool:
        """Mark a signal as having started its outreach run at ``at``; False when it had one already."""

    @abc.abstractmethod
    def record_scan(self, scan: StoredScan) -> bool:
        """Record a scan once (False: its id was recorded before)."""

    @abc.abstractmethod
    def scans(self, *, domain: str | None = None, since: dt.datetime | None = None,
              limit: int = 1000) -> list[StoredScan]:
        """Scans, newest first."""

    @abc.abstractmethod
    def last_scanned(self) -> Mapping[str, dt.datetime]:
        """Domain → when it was last scanned (done or failed; a skipped tick scanned nothing)."""

    @abc.abstractmethod
    def reserve(self, day: dt.date, searches: int, tokens: int, usd: float, budget: Budget) -> bool:
        """Take a scan's worst case from the day's and the month's budget, atomically: two workers cannot both
        take the last of it. False (nothing taken) when it does not fit."""

    @abc.abstractmethod
    def settle(self, day: dt.date, reserved: tuple[int, int, float], actual: tuple[int, int, float]) -> None:
        """Give back a reservation and take what the scan really cost."""

    @abc.abstractmethod
    def spend(self, day: dt.date) -> tuple[Spend, Spend]:
        """The day's and the month's reserved-or-spent amounts."""

    def score_frame(self) -> pl.DataFrame:
        """Every signal's ``domain``, ``type``, ``strength`` and ``event_date`` as columns: what the decayed
        score reads. This default reads whole signals; the SQL ledger reads the four columns alone."""
        import polars as pl

        rows = [(s.domain, s.type, s.strength, s.event_date) for s in self.all_signals()]
        return pl.DataFrame(rows, schema=SCORE_SCHEMA, orient="row")

    def outreach_since(self, domain: str, since: dt.datetime) -> Sequence[StoredSignal]:
        """Signals of an account whose outreach started after ``since`` (the cool-down)."""
        found, _ = self.signals(domain=domain, limit=10_000)
        return [s for s in found if s.outreach_at is not None and s.outreach_at >= since]
