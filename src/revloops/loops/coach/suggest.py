"""Coach's feedback to Design: ramp curves and productivity adjusted from what named reps actually booked.

From the warehouse's ``rep_ramp`` (each named rep of the active scenario, month by month: tenure, the
full-ramp bookings Design plans for them, what they booked), per motion:

- **productivity**: reps past their ramp booked ``r`` times their planned full-ramp bookings on average; the
  motion's productivity rows are scaled by ``r``;
- **ramp**: at each tenure month, the share of full productivity reps actually reached (relative to ``r``),
  made monotone and capped at 100%.

Thin evidence moves the plan little: each figure is a blend ``w * actual + (1 - w) * planned`` with
``w = n / (n + 3)`` for ``n`` rep-months behind it. The answer is a new scenario file extending the active one;
nothing here writes it, and the active scenario is never changed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import polars as pl

from revloops.loops.design.config import Productivity
from revloops.loops.design.inherit import Scenario

PRIOR_WEIGHT = 3.0  # rep-months of evidence that count as much as the plan


@dataclass(frozen=True)
class MotionChange:
    """What the actuals say about one motion."""

    motion: str
    rep_months: int
    productivity_factor: float | None
    planned_ramp: list[float]
    suggested_ramp: list[float]


@dataclass(frozen=True)
class Suggestion:
    """A scenario file's text, extending ``base``, and the per-motion changes behind it."""

    scenario_id: str
    base: str
    text: str
    changes: list[MotionChange]


def _blend(actual: float, planned: float, n: int) -> float:
    w = n / (n + PRIOR_WEIGHT)
    return w * actual + (1.0 - w) * planned


def suggest(rep_months: pl.DataFrame, scenario: Scenario, *, as_of: dt.date, new_id: str) -> Suggestion:
    """The scenario suggested by ``rep_months`` (rows of ``rep_ramp``: motion, tenure_month, ramp,
    full_monthly, bookings) for ``scenario``, written as ``new_id``."""
    by_motion: dict[str, list[dict[str, float]]] = defaultdict(list)
    for row in rep_months.filter(pl.col("full_monthly") > 0).to_dicts():
        if row["motion"]:
            by_motion[row["motion"]].append(row)
    changes: list[MotionChange] = []
    ramps: dict[str, list[float]] = {}
    factors: dict[str, float] = {}
    for motion, curve in sorted(scenario.ramp_curves.items()):
        rows = by_motion.get(motion, [])
        planned = list(curve.months)
        ramped = [r for r in rows if r["tenure_month"] > len(planned)]
        factor = None
        if ramped:
            actual = sum(r["bookings"] for r in ramped) / sum(r["full_monthly"] for r in ramped)
            factor = round(_blend(actual, 1.0, len(ramped)), 3)
            factors[motion] = factor
        level = factor or 1.0
        suggested: list[float] = []
        for t, plan_value in enumerate(planned, start=1):
            at = [r for r in rows if r["tenure_month"] == t]
            value = plan_value
            if at:
                share = sum(r["bookings"] for r in at) / sum(r["full_monthly"] for r in at) / level
                value = _blend(min(share, 1.0), plan_value, len(at))
            suggested.append(round(min(max(value, suggested[-1] if suggested else 0.0), 1.0), 2))
        suggested[-1] = max(suggested[-1], planned[-1]) if planned[-1] >= 1.0 else suggested[-1]
        ramps[motion] = suggested
        changes.append(MotionChange(motion, len(rows), factor, planned, suggested))
    text = _render(scenario, new_id, as_of, ramps, factors, rep_months.height)
    return Suggestion(new_id, scenario.id, text, changes)


def _render(scenario: Scenario, new_id: str, as_of: dt.date, ramps: dict[str, list[float]],
            factors: dict[str, float], n: int) -> str:
    lines = [
        f"# Suggested by `revloops coach suggest` on {as_of.isoformat()} from the warehouse's actuals",
        f"# ({n} rep-months of named reps). It extends {scenario.id}; review it, then compare with",
        f"# `revloops design compare {scenario.id} {new_id}` and promote it if it holds.",
        f"name: {scenario.name or scenario.id} (adjusted to actuals)",
        f"description: Ramp curves and productivity of {scenario.id} adjusted from what named reps booked.",
        f"extends: {scenario.id}",
        "ramp_curves:",
    ]
    for motion, values in ramps.items():
        lines.append(f"  {motion}: {{months: [{', '.join(f'{v:.2f}' for v in values)}]}}")
    rows = [p for p in scenario.productivity if p.motion in factors]
    if rows:
        lines.append("productivity:")
        for p in rows:
            lines.append("  - " + _productivity(p, factors[p.motion]))
    return "\n".join(lines) + "\n"


def _productivity(p: Productivity, factor: float) -> str:
    parts = [f"motion: {p.motion}"]
    if p.segment != "*":
        parts.append(f"segment: {p.segment}")
    if p.territory != "*":
        parts.append(f"territory: {p.territory}")
    parts.append(f"monthly: {round(p.monthly * factor, -2):.0f}")
    if p.quarterly:
        quarters = ", ".join(f"{q}: {round(v * factor, -2):.0f}" for q, v in sorted(p.quarterly.items()))
        parts.append(f"quarterly: {{{quarters}}}")
    return "{" + ", ".join(parts) + "}"

