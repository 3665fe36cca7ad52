"""Scoring, pure: every fit and intent rule is evaluated on the lead's context; the ones that hold add their
points; the total against the thresholds gives the band. The breakdown says which rules counted and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from revloops.core.model import Frozen
from revloops.core.rules.single import compile_condition
from revloops.core.rules.trace import ConditionTrace
from revloops.loops.qualify.config import Band, ScoringFile, ScoringRule, Thresholds

Group = Literal["fit", "intent"]
#: Score_Reasons__c is a long text area of this many characters
REASONS_MAX = 32768


class ScoreLine(Frozen):
    """One rule that counted: its points, its reason, and the tests that made it hold."""

    rule_id: str
    group: Group
    points: int
    reason: str
    evidence: list[str]


class ScoreStep(Frozen):
    """One rule evaluated (held or not), with each condition test: the trace."""

    rule_id: str
    group: Group
    matched: bool
    points: int
    conditions: list[ConditionTrace]


class Score(Frozen):
    """A lead's score.

    Attributes:
        total: fit + intent.
        fit: points from fit rules.
        intent: points from intent rules.
        band: ``mql`` (total >= thresholds.mql), ``nurture`` (>= thresholds.nurture) or ``disqualified``.
        thresholds: the thresholds used.
        breakdown: the rules that counted, fit first, in file order.
        trace: every rule evaluated, in file order.
    """

    total: int
    fit: int
    intent: int
    band: Band
    thresholds: Thresholds
    breakdown: list[ScoreLine]
    trace: list[ScoreStep]

    @property
    def reasons(self) -> str:
        """One line per rule that counted: ``+25 C-level or founder (title-c-level)`` (cut to fit the field)."""
        text = "\n".join(f"{line.points:+d} {line.reason} ({line.rule_id})" for line in self.breakdown)
        return text if len(text) <= REASONS_MAX else text[: REASONS_MAX - 3].rstrip() + "..."

    @property
    def qualification(self) -> str:
        """``MQL``, ``Nurture`` or ``disqualified:<rule>`` naming the rule that took most points away
        (``disqualified:low_score`` when none did)."""
        if self.band == "mql":
            return "MQL"
        if self.band == "nurture":
            return "Nurture"
        worst = min((line for line in self.breakdown if line.points < 0), key=lambda line: line.points, default=None)
        return f"disqualified:{worst.rule_id if worst else 'low_score'}"[:80]

    @property
    def explanation(self) -> str:
        """One line: the band, the total against its threshold, and the rules that counted."""
        t = self.thresholds
        if self.band == "mql":
            where = f">= mql {t.mql}"
        elif self.band == "nurture":
            where = f">= nurture {t.nurture}, < mql {t.mql}"
        else:
            where = f"< nurture {t.nurture}"
        parts = [f"{line.rule_id} {line.points:+d} ({'; '.join(line.evidence)})" for line in self.breakdown]
        counted = ", ".join(parts) if parts else "no rule held"
        return f"{self.band.upper()}: {self.total} points (fit {self.fit}, intent {self.intent}) {where}: {counted}"


def band_for(total: int, thresholds: Thresholds) -> Band:
    """The band a total falls in."""
    if total >= thresholds.mql:
        return "mql"
    if total >= thresholds.nurture:
        return "nurture"
    return "disqualified"


def _evaluate(rule: ScoringRule, group: Group, ctx: Mapping[str, Any]) -> tuple[ScoreStep, ScoreLine | None]:
    matched, conditions, evidence = compile_condition(rule.condition).evaluate_why(ctx)
    step = ScoreStep(rule_id=rule.id, group=group, matched=matched, points=rule.points if matched else 0,
                     conditions=conditions)
    if not matched:
        return step, None
    line = ScoreLine(rule_id=rule.id, group=group, points=rule.points, reason=rule.reason, evidence=evidence)
    return step, line


def score(ctx: Mapping[str, Any], scoring: ScoringFile) -> Score:
    """Score one lead.

    Args:
        ctx: the lead's flat evaluation context (``build_context``): record fields, ``geo.*``,
            ``enrichment.*``, ``signal.*``...
        scoring: the scoring config.

    Returns:
        The score with its band, breakdown (rules that held) and trace (every rule evaluated).
    """
    totals: dict[Group, int] = {"fit": 0, "intent": 0}
    breakdown: list[ScoreLine] = []
    trace: list[ScoreStep] = []
    groups: tuple[tuple[Group, list[ScoringRule]], ...] = (("fit", scoring.fit), ("intent", scoring.intent))
    for group, rules in groups:
        for rule in rules:
            step, line = _evaluate(rule, group, ctx)
            trace.append(step)
            if line is not None:
                breakdown.append(line)
                totals[group] += line.points
    total = totals["fit"] + totals["intent"]
    return Score(total=total, fit=totals["fit"], intent=totals["intent"], band=band_for(total, scoring.thresholds),
                 thresholds=scoring.thresholds, breakdown=breakdown, trace=trace)


def scoring_inputs(ctx: Mapping[str, Any], scoring: ScoringFile) -> dict[str, Any]:
    """The part of the context the scoring reads: what the decision's inputs digest covers."""
    return {name: ctx[name] for name in scoring.fields if name in ctx}
