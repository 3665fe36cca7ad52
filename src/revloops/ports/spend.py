"""Spend readers: what the enrichment providers and the LLM have cost, for metrics, budgets and health.

The writers are the adapters' own (each call logs itself); loops and the application layer only read.
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class SpendTotals:
    """Enrichment calls and credits over a period, and calls by status (ok, not_found, rate_limited, error...)."""

    calls: int
    credits: float
    by_status: dict[str, int]


class EnrichmentSpend(abc.ABC):
    """What enrichment providers were asked and what it cost."""

    @abc.abstractmethod
    def totals(self, since: dt.datetime | None = None, provider: str | None = None) -> SpendTotals:
        """Calls and credits since ``since`` (all time when None), of one provider or all."""


class LlmSpend(abc.ABC):
    """What the LLM cost (every caller of the LLM port)."""

    @abc.abstractmethod
    def spent_since(self, since: dt.datetime) -> float:
        """USD spent from ``since`` on."""

    @abc.abstractmethod
    def totals(self, since: dt.datetime | None = None) -> dict[str, float]:
        """Answers, input and output tokens, web searches and USD since ``since`` (all time when None)."""
