"""LLM spend: every answer's tokens and searches priced and logged, and the monthly budget read back."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from revloops.adapters.sql.tables import llm_spend
from revloops.ports.llm import Usage
from revloops.ports.spend import LlmSpend


@dataclass(frozen=True)
class Prices:
    """USD prices: per million input and output tokens, and per web search (Haiku 4.5 list prices)."""

    input_per_mtok: float = 1.0
    output_per_mtok: float = 5.0
    per_web_search: float = 0.01  # $10 per 1,000 searches

    def cost(self, usage: Usage) -> float:
        """The price of ``usage``."""
        return (
            usage.input_tokens * self.input_per_mtok / 1_000_000
            + usage.output_tokens * self.output_per_mtok / 1_000_000
            + usage.web_search_requests * self.per_web_search
        )


def month_start(now: dt.datetime) -> dt.datetime:
    """The first instant of ``now``'s calendar month in UTC: budgets are monthly."""
    now = now.astimezone(dt.UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class SpendLedger(LlmSpend):
    """The ``llm_spend`` table: one row per answer received (a paused turn records each of its answers)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def record(self, model: str, purpose: str, usage: Usage, cost_usd: float,
               when: dt.datetime | None = None) -> None:
        """Log the spend of one answer."""
        with self.engine.begin() as conn:
            conn.execute(llm_spend.insert().values(
                model=model, purpose=purpose[:64], input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens, web_search_requests=usage.web_search_requests,
                cost_usd=cost_usd, created_at=when or dt.datetime.now(dt.UTC),
            ))

    def spent_since(self, since: dt.datetime) -> float:
        """USD spent from ``since`` on."""
        stmt = sa.select(sa.func.coalesce(sa.func.sum(llm_spend.c.cost_usd), 0.0)).where(
            llm_spend.c.created_at >= since
        )
        with self.engine.connect() as conn:
            return float(conn.execute(stmt).scalar_one())

    def spent_this_month(self, now: dt.datetime | None = None) -> float:
        """USD spent in the current calendar month (UTC)."""
        return self.spent_since(month_start(now or dt.datetime.now(dt.UTC)))

    def totals(self, since: dt.datetime | None = None) -> dict[str, float]:
        """Calls, tokens, searches and USD since ``since`` (all time when None), for health and metrics."""
        cols = [sa.func.count(), sa.func.sum(llm_spend.c.input_tokens), sa.func.sum(llm_spend.c.output_tokens),
                sa.func.sum(llm_spend.c.web_search_requests), sa.func.sum(llm_spend.c.cost_usd)]
        stmt = sa.select(*cols)
        if since is not None:
            stmt = stmt.where(llm_spend.c.created_at >= since)
        with self.engine.connect() as conn:
            row: tuple[Any, ...] = tuple(conn.execute(stmt).one())
        keys = ("answers", "input_tokens", "output_tokens", "web_search_requests", "cost_usd")
        return {k: float(v or 0) for k, v in zip(keys, row, strict=True)}
