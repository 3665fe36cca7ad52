"""The Anthropic adapter of the LLM port (Claude Haiku, forced-tool answers, web search)."""

from __future__ import annotations

import sqlalchemy as sa

from revloops.adapters.anthropic.client import AnthropicLLM
from revloops.adapters.anthropic.spend import Prices, SpendLedger
from revloops.ports.llm import LLM
from revloops.settings import Settings

__all__ = ["AnthropicLLM", "Prices", "SpendLedger", "build_llm"]


def build_llm(settings: Settings, engine: sa.Engine) -> LLM | None:
    """Claude when ``REVLOOPS_ANTHROPIC_API_KEY`` is set, else None (loops use their offline logic).

    Args:
        settings: the platform settings (key, base URL, model, concurrency, budget).
        engine: the state database, where spend is logged.
    """
    if settings.anthropic_api_key is None or not settings.anthropic_api_key.get_secret_value().strip():
        return None
    return AnthropicLLM(
        settings.anthropic_api_key.get_secret_value(),
        settings.llm_model,
        SpendLedger(engine),
        budget_usd=settings.llm_budget_usd,
        base_url=settings.anthropic_base_url,
        concurrency=settings.llm_concurrency,
    )
