"""The capacity model, vectorised: effective capacity per rep and month, roll-ups, Monte Carlo, hiring gap.

Effective capacity of entry r in month m = active x ramp(tenure) x productivity(quarter) x survival, where
survival = (1 - p)^(months since the entry's first month in the horizon) and p is the monthly attrition
probability of its role. The Monte Carlo draws, per rep, a lognormal productivity multiplier (mean 1, the
motion's coefficient of variation) and a geometric month of leaving with the same p, so its mean matches
the expected figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from revloops.core.model import Frozen
from revloops.loops.design.config import CapacityConfig
from revloops.loops.design.plan import FloatArray, IntArray, Plan


def segment_of(capacity: CapacityConfig, employees: int | float | None) -> str | None:
    """The first segment (in file order) whose employee range holds ``employees``; None when none does.

    Fractions round down (a record with 199.5 employees counts as 199).
    """
    if employees is None or (isinstance(employees, float) and not math.isfinite(employees)):
        return None
    count = math.floor(employees)
    return next((s.id for s in capacity.segments if s.employees.contains(count)), None)


@dataclass(frozen=True)
class Figures:
    """Every figure of one run. Month arrays have the horizon's length; group maps are by id.

    ``by_territory`` rolls each entry up to its territory and every ancestor.
    """

    months: list[str]
    rep_month: FloatArray
    month_capacity: FloatArray
    month_target: FloatArray
    by_segment: dict[str, FloatArray]
    by_territory: dict[str, FloatArray]
    by_motion: dict[str, FloatArray]
    segment_target: dict[str, FloatArray]
    territory_target: dict[str, FloatArray]


def first_month(plan: Plan) -> IntArray:
    """Per entry, the horizon month from which it is exposed to attrition (0 for reps already on board)."""
    return np.clip(plan.start - plan.calendar.first_key, 0, None)


def raw_capacity(plan: Plan) -> FloatArray:
    """Capacity per entry and month before attrition: active x ramp x productivity."""
    keys = plan.calendar.first_key + np.arange(plan.calendar.months)
    tenure = keys[None, :] - plan.start[:, None]
    active = (tenure >= 0) & (keys[None, :] <= plan.end[:, None])
    ramp = np.take_along_axis(plan.ramp, np.clip(tenure, 0, plan.ramp.shape[1] - 1), axis=1)
    quarter = (np.arange(plan.calendar.months) % 12) // 3
    return np.where(active, ramp * plan.prod[:, quarter], 0.0)


def survival(plan: Plan) -> FloatArray:
    """Probability an entry is still there in each month."""
    exposure = np.clip(np.arange(plan.calendar.months)[None, :] - first_month(plan)[:, None], 0, None)
    return np.asarray((1.0 - plan.attrition)[:, None] ** exposure, dtype=np.float64)


def capacity_matrix(plan: Plan) -> FloatArray:
    """Expected (ramp- and attrition-adjusted) bookings capacity, entries x months."""
    return raw_capacity(plan) * survival(plan)


def members(plan: Plan, by: str) -> list[list[int]]:
    """Entry indices per segment, motion or territory (an entry belongs to its territory's ancestors too)."""
    names = {"segment": plan.segments, "motion": plan.motions, "territory": plan.territories}[by]
    slot = {name: i for i, name in enumerate(names)}
    out: list[list[int]] = [[] for _ in names]
    for r, e in enumerate(plan.entries):
        keys = plan.lineage[r] if by == "territory" else (getattr(e, by),)
        for key in keys:
            if key in slot:
                out[slot[key]].append(r)
    return out


def membership(plan: Plan, by: str) -> FloatArray:
    """Groups x entries 0/1 matrix of ``members``: group sums become one matrix product."""
    groups = members(plan, by)
    out = np.zeros((len(groups), plan.size))
    for g, idx in enumerate(groups):
        out[g, idx] = 1.0
    return out


def _group_sum(matrix: FloatArray, plan: Plan, by: str) -> list[FloatArray]:
    return list(membership(plan, by) @ matrix)


def figures(plan: Plan, matrix: FloatArray | None = None) -> Figures:
    """Roll the capacity matrix up by month, segment, territory (with ancestors) and motion."""
    cap = capacity_matrix(plan) if matrix is None else matrix
    seg = _group_sum(cap, plan, "segment")
    ter = _group_sum(cap, plan, "territory")
    mot = _group_sum(cap, plan, "motion")
    targets = plan.scenario.targets
    return Figures(
        months=plan.calendar.month_labels(), rep_month=cap, month_capacity=cap.sum(axis=0),
        month_target=plan.target_month(targets.annual_bookings),
        by_segment=dict(zip(plan.segments, seg, strict=True)),
        by_territory=dict(zip(plan.territories, ter, strict=True)),
        by_motion=dict(zip(plan.motions, mot, strict=True)),
        segment_target={k: plan.target_month(v) for k, v in targets.by_segment.items()},
        territory_target={k: plan.target_month(v) for k, v in targets.by_territory.items()},
    )


def period_sums(plan: Plan, monthly: FloatArray, by: str) -> list[float]:
    """Sum a month series by ``quarter`` or ``year`` of the fiscal calendar."""
    index = plan.calendar.quarter_index() if by == "quarter" else plan.calendar.year_index()
    return [float(v) for v in np.bincount(index, weights=monthly)]


# Monte Carlo ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Draws:
    """The random inputs of a Monte Carlo run: standard normals and uniforms in (0, 1], draws x entries."""

    normal: FloatArray
    uniform: FloatArray


def make_draws(n_draws: int, n_entries: int, seed: int) -> Draws:
    """Deterministic for a seed; the vectorised model and the reference loop consume the same draws."""
    rng = np.random.default_rng(seed)
    normal = rng.standard_normal((n_draws, n_entries))
    uniform = 1.0 - rng.random((n_draws, n_entries))
    return Draws(normal, uniform)


@dataclass(frozen=True)
class MonteCarlo:
    """Per draw, the horizon's total bookings and per-segment bookings (draws x segments)."""

    totals: FloatArray
    by_segment: FloatArray
    segments: tuple[str, ...]


def months_stayed(plan: Plan, uniform: FloatArray) -> FloatArray:
    """Per draw and entry, the whole months it stays after its first horizon month (geometric in p),
    capped at the horizon; float-valued so the caller can keep computing in place."""
    p = plan.attrition
    with np.errstate(divide="ignore", invalid="ignore"):
        stayed = np.log(uniform)
        stayed /= np.log1p(-p)[None, :]
    np.floor(stayed, out=stayed)
    stayed[:, p <= 0] = plan.calendar.months  # no attrition: never leaves
    np.minimum(stayed, plan.calendar.months, out=stayed)
    return stayed


def simulate(plan: Plan, draws: Draws) -> MonteCarlo:
    """Bookings per draw: each entry's raw capacity up to its month of leaving, times its multiplier."""
    months, n = plan.calendar.months, plan.size
    leave = months_stayed(plan, draws.uniform)
    leave += first_month(plan)[None, :] + 1
    np.minimum(leave, months, out=leave)
    cumulative = np.zeros((n, months + 1))
    np.cumsum(raw_capacity(plan), axis=1, out=cumulative[:, 1:])
    flat = leave.astype(np.intp)
    flat += (np.arange(n, dtype=np.intp) * (months + 1))[None, :]
    booked = np.take(cumulative, flat)
    sigma = plan.sigma[None, :]
    multiplier = draws.normal * sigma
    multiplier -= 0.5 * sigma * sigma
    np.exp(multiplier, out=multiplier)
    booked *= multiplier
    return MonteCarlo(booked.sum(axis=1), booked @ membership(plan, "segment").T, plan.segments)


def percentiles(values: FloatArray, qs: tuple[float, ...] = (10.0, 50.0, 90.0)) -> list[float]:
    """Linear-interpolated percentiles (numpy's default method)."""
    return [float(v) for v in np.percentile(values, qs)] if len(values) else [0.0] * len(qs)


# explanation of a figure ----------------------------------------------------------------------------------

class MonthDetail(Frozen):
    """How one entry's capacity in one month is made."""

    month: str
    tenure_month: int
    ramp: float
    productivity: float
    survival: float
    capacity: float


class Contribution(Frozen):
    """One roster entry's share of a figure, with the assumptions that produce it."""

    id: str
    kind: str
    user: str | None
    name: str | None
    role: str
    motion: str | None
    segment: str | None
    territory: str
    capacity: float
    productivity_row: str | None
    annual_attrition: float
    months: list[MonthDetail]


class Explanation(Frozen):
    """A figure (capacity of a group over a period) and the entries, ramp months and assumptions behind it."""

    scenario: str
    period: str
    filters: dict[str, str]
    value: float
    target: float | None
    contributions: list[Contribution]
    assumptions: dict[str, float | str]


def _matches(plan: Plan, r: int, filters: dict[str, str]) -> bool:
    e = plan.entries[r]
    return all(
        (plan.lineage[r] if key == "territory" else (getattr(e, key),)).__contains__(value)
        for key, value in filters.items()
    )


def explain(plan: Plan, filters: dict[str, str], period: str | None = None) -> Explanation:
    """Explain the capacity of the entries matching ``filters`` (segment, territory, motion, role, id)
    over ``period`` (a month ``2026-05``, quarter ``FY2026-Q2``, year ``FY2026``, or the whole horizon).

    Raises:
        KeyError: the period is not in the horizon.
    """
    months = plan.calendar.period_months(period)
    raw, surv = raw_capacity(plan), survival(plan)
    labels = plan.calendar.month_labels()
    keys = plan.calendar.first_key + np.arange(plan.calendar.months)
    rows: list[Contribution] = []
    for r in (r for r in range(plan.size) if _matches(plan, r, filters)):
        e = plan.entries[r]
        detail = [
            MonthDetail(month=labels[m], tenure_month=int(keys[m] - plan.start[r]),
                        ramp=float(plan.ramp[r, min(int(keys[m] - plan.start[r]), plan.ramp.shape[1] - 1)]),
                        productivity=float(plan.prod[r, (m % 12) // 3]), survival=float(surv[r, m]),
                        capacity=float(raw[r, m] * surv[r, m]))
            for m in months if raw[r, m] > 0
        ]
        row_index = plan.prod_row[r]
        row = plan.scenario.productivity[row_index] if row_index is not None else None
        rows.append(Contribution(
            id=e.id, kind=e.kind, user=e.user, name=e.name, role=e.role, motion=e.motion, segment=e.segment,
            territory=e.territory, capacity=sum(d.capacity for d in detail),
            productivity_row="/".join(row.key()) if row else None,
            annual_attrition=plan.scenario.assumptions.attrition(e.role), months=detail))
    rows.sort(key=lambda c: -c.capacity)
    return Explanation(
        scenario=plan.scenario.id, period=period or "horizon", filters=filters,
        value=sum(c.capacity for c in rows), target=_target(plan, filters, months), contributions=rows,
        assumptions={"hiring_lag_months": plan.scenario.assumptions.hiring_lag_months,
                     "survival": "(1 - monthly attrition) ^ months since first month in the horizon",
                     "ramp": "ramp curve of the motion at the month of tenure (last value holds)"})


def _target(plan: Plan, filters: dict[str, str], months: list[int]) -> float | None:
    targets = plan.scenario.targets
    if not filters:
        amount: float | None = targets.annual_bookings
    elif set(filters) == {"segment"}:
        amount = targets.by_segment.get(filters["segment"])
    elif set(filters) == {"territory"}:
        amount = targets.by_territory.get(filters["territory"])
    else:
        amount = None
    return None if amount is None else float(plan.target_month(amount)[months].sum())
