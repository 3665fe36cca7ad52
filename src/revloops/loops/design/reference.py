"""The capacity model written the straightforward way: plain Python loops over reps, months and draws.

It is the oracle the vectorised model (``logic.py``) is tested against and the baseline ``bench/design.py``
measures it against. It re-derives every lookup (tenure, ramp, productivity row, attrition) on its own
and shares only the random draws.
"""

from __future__ import annotations

import math

import numpy as np

from revloops.loops.design.config import CapacityConfig, Productivity, RosterEntry, TerritoriesFile
from revloops.loops.design.inherit import Scenario
from revloops.loops.design.logic import Draws, Figures, MonteCarlo
from revloops.loops.design.plan import FloatArray


def _lineage(territories: TerritoriesFile, name: str) -> list[str]:
    parent_of = {t.developer_name: t.parent for t in territories.territories}
    out = [name]
    while parent_of.get(out[-1]) is not None and len(out) <= len(parent_of):
        out.append(parent_of[out[-1]])  # type: ignore[arg-type]
    return out


def _productivity(rows: tuple[Productivity, ...], e: RosterEntry, lineage: list[str]) -> Productivity | None:
    chosen, chosen_rank = None, (10**9, 10**9)
    for row in rows:
        if row.motion != e.motion:
            continue
        if row.segment != "*" and row.segment != e.segment:
            continue
        if row.territory == "*":
            depth = len(lineage)
        elif row.territory in lineage:
            depth = lineage.index(row.territory)
        else:
            continue
        rank = (depth, 0 if row.segment == e.segment else 1)
        if rank < chosen_rank:
            chosen, chosen_rank = row, rank
    return chosen


def _rep_months(scenario: Scenario, capacity: CapacityConfig, e: RosterEntry,
                lineage: list[str]) -> tuple[list[float], int, float]:
    """Raw monthly capacity of one entry, its first horizon month, and its monthly attrition probability."""
    first_year, first_month = scenario.fiscal_year, capacity.fiscal_year_start
    row = _productivity(scenario.productivity, e, lineage) if e.motion else None
    curve = scenario.ramp_curves.get(e.motion or "")
    raw: list[float] = []
    first = -1
    for m in range(scenario.months):
        year = first_year + (first_month - 1 + m) // 12
        month = (first_month - 1 + m) % 12 + 1
        started = (year, month) >= (e.start.year, e.start.month)
        ended = e.end is not None and (year, month) > (e.end.year, e.end.month)
        if not started or ended or row is None:
            raw.append(0.0)
        else:
            tenure = (year - e.start.year) * 12 + (month - e.start.month)
            ramp = 1.0 if curve is None else curve.months[min(tenure, len(curve.months) - 1)]
            quarter = "Q" + str((m % 12) // 3 + 1)
            per_month = row.quarterly.get(quarter, row.monthly)  # type: ignore[call-overload]
            raw.append(ramp * per_month)
        if started and first < 0:
            first = m
    annual = scenario.assumptions.annual_attrition.get(e.role, scenario.assumptions.default_attrition)
    return raw, max(first, 0), 1.0 - (1.0 - annual) ** (1.0 / 12.0)


def reference_figures(scenario: Scenario, capacity: CapacityConfig,
                      territories: TerritoriesFile) -> Figures:
    """Every figure of ``logic.figures``, one rep and one month at a time."""
    segments = [s.id for s in capacity.segments]
    motions = [m.id for m in capacity.motions]
    names = [t.developer_name for t in territories.territories]
    months = scenario.months
    by_segment = {s: [0.0] * months for s in segments}
    by_territory = {t: [0.0] * months for t in names}
    by_motion = {m: [0.0] * months for m in motions}
    total = [0.0] * months
    rep_month = []
    for e in scenario.roster:
        lineage = _lineage(territories, e.territory)
        raw, first, p = _rep_months(scenario, capacity, e, lineage)
        row = []
        for m in range(months):
            value = raw[m] * (1.0 - p) ** max(m - first, 0)
            row.append(value)
            total[m] += value
            if e.segment in by_segment:
                by_segment[e.segment][m] += value
            if e.motion in by_motion:
                by_motion[e.motion][m] += value
            for t in lineage:
                if t in by_territory:
                    by_territory[t][m] += value
        rep_month.append(row)
    targets = scenario.targets
    shares = [q / targets.annual_bookings for q in targets.quarterly] if targets.quarterly else [0.25] * 4
    phase = [shares[(m % 12) // 3] / 3.0 * (1.0 + targets.annual_growth) ** (m // 12) for m in range(months)]

    def arr(values: list[float]) -> FloatArray:
        return np.array(values, dtype=np.float64)

    first_key = scenario.fiscal_year * 12 + capacity.fiscal_year_start - 1
    return Figures(
        months=[f"{k // 12:04d}-{k % 12 + 1:02d}" for k in range(first_key, first_key + months)],
        rep_month=np.array(rep_month, dtype=np.float64).reshape(len(rep_month), months),
        month_capacity=arr(total), month_target=arr([targets.annual_bookings * x for x in phase]),
        by_segment={k: arr(v) for k, v in by_segment.items()},
        by_territory={k: arr(v) for k, v in by_territory.items()},
        by_motion={k: arr(v) for k, v in by_motion.items()},
        segment_target={k: arr([v * x for x in phase]) for k, v in targets.by_segment.items()},
        territory_target={k: arr([v * x for x in phase]) for k, v in targets.by_territory.items()},
    )


def reference_simulate(scenario: Scenario, capacity: CapacityConfig, territories: TerritoriesFile,
                       draws: Draws) -> MonteCarlo:
    """The Monte Carlo one draw, one rep and one month at a time, on the same random draws."""
    segments = [s.id for s in capacity.segments]
    reps = []
    for e in scenario.roster:
        raw, first, p = _rep_months(scenario, capacity, e, _lineage(territories, e.territory))
        cv = scenario.assumptions.productivity_cv.get(e.motion or "", scenario.assumptions.default_cv)
        sigma = math.sqrt(math.log1p(cv * cv))  # log(1 + cv^2), exact for tiny cv
        reps.append((raw, first, p, sigma, e.segment))
    normal, uniform = draws.normal.tolist(), draws.uniform.tolist()
    totals, by_segment = [], []
    for d in range(len(normal)):
        total, per_segment = 0.0, dict.fromkeys(segments, 0.0)
        for r, (raw, first, p, sigma, segment) in enumerate(reps):
            multiplier = math.exp(sigma * normal[d][r] - 0.5 * sigma * sigma)
            stays = math.floor(math.log(uniform[d][r]) / math.log1p(-p)) if p > 0 else len(raw)
            booked = 0.0
            for m in range(len(raw)):
                if m - first <= stays:
                    booked += raw[m]
            booked *= multiplier
            total += booked
            if segment in per_segment:
                per_segment[segment] += booked
        totals.append(total)
        by_segment.append([per_segment[s] for s in segments])
    return MonteCarlo(np.array(totals), np.array(by_segment).reshape(len(totals), len(segments)),
                      tuple(segments))


def reference_percentiles(values: list[float], qs: tuple[float, ...] = (10.0, 50.0, 90.0)) -> list[float]:
    """Percentiles by sorting and linear interpolation between the two nearest ranks."""
    ordered = sorted(values)
    out = []
    for q in qs:
        pos = (len(ordered) - 1) * q / 100.0
        lo = math.floor(pos)
        hi = min(lo + 1, len(ordered) - 1)
        out.append(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))
    return out
