"""How well Engage works: sequences by play and composer, the offline-fallback rate, tasks landed, LLM spend."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from revloops.core.model import Frozen
from revloops.loops.engage.logic import EngageSequence
from revloops.ports.sequences import SequenceStore
from revloops.ports.spend import LlmSpend


class EngageMetrics(Frozen):
    """Engage's health over a period.

    Attributes:
        sequences: sequences composed.
        by_play: sequences per play id.
        by_composer: sequences per composer (``offline``, ``llm``).
        fallbacks: LLM drafts that fell back offline.
        fallback_rate: fallbacks over the sequences the LLM was asked for (0 when none was).
        fallback_reasons: the most common reasons, first words only (``the LLM was unavailable``...).
        tasks_landed: sequences whose task is in the CRM.
        avg_steps: steps per sequence.
        moved_steps: steps moved off their nominal day (a weekend, a holiday, a passed send time).
        llm_cost_usd: LLM spend in the period (every caller of the LLM port).
    """

    sequences: int
    by_play: dict[str, int]
    by_composer: dict[str, int]
    fallbacks: int
    fallback_rate: float
    fallback_reasons: dict[str, int]
    tasks_landed: int
    avg_steps: float
    moved_steps: int
    llm_cost_usd: float


def engage_metrics(sequences: SequenceStore, llm_spend: LlmSpend, since: dt.datetime | None = None) -> EngageMetrics:
    """Engage's metrics from the stored sequences and the LLM's spend (from ``since`` on; all time when None)."""
    stored = sequences.all(since)
    seqs = [EngageSequence.model_validate(s.sequence) for s in stored]
    fallbacks = [s for s in seqs if s.fallback_reason]
    asked_llm = len(fallbacks) + sum(1 for s in seqs if s.composer == "llm")
    reasons = Counter((s.fallback_reason or "").split(" (")[0] for s in fallbacks)
    steps = [step for s in seqs for step in s.steps]
    spend = llm_spend.totals(since)
    return EngageMetrics(
        sequences=len(seqs),
        by_play=dict(Counter(s.play_id for s in seqs)),
        by_composer=dict(Counter(s.composer for s in seqs)),
        fallbacks=len(fallbacks),
        fallback_rate=len(fallbacks) / asked_llm if asked_llm else 0.0,
        fallback_reasons=dict(reasons.most_common(5)),
        tasks_landed=sum(1 for s in stored if s.task_id),
        avg_steps=len(steps) / len(seqs) if seqs else 0.0,
        moved_steps=sum(1 for step in steps if step.moved),
        llm_cost_usd=spend["cost_usd"],
    )
