"""The hiring gap: how many seats, of which kind, starting by when, close each segment's shortfall.

Per segment with a target, shortfall = target - expected capacity over the horizon. The seat kind is the
(motion, territory) most of the segment's quota carriers already have. One seat's capacity is computed by
the same model (ramp, productivity, attrition) for every possible start month; a requisition opened at
``as_of`` starts ``hiring_lag_months`` later at the earliest. ``seats`` is the fewest that close the
shortfall from the earliest start, ``start_by`` the latest month those seats may start and still close it.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date

import numpy as np

from revloops.core.model import Frozen
from revloops.loops.design.config import CapacityConfig, RosterEntry, TerritoriesFile
from revloops.loops.design.logic import Figures, capacity_matrix, figures
from revloops.loops.design.plan import FloatArray, Plan, compile_plan, key_date, month_key


class HireSuggestion(Frozen):
    """Seats that close one group's shortfall (``seats`` is None when no hire can close it in time)."""

    group: str
    target: float
    capacity: float
    shortfall: float
    role: str | None = None
    motion: str | None = None
    segment: str | None = None
    territory: str | None = None
    seats: int | None = None
    per_seat: float = 0.0
    earliest_start: date | None = None
    start_by: date | None = None
    open_requisition_by: date | None = None
    note: str = ""


def _template(plan: Plan, capacity: CapacityConfig, territories: TerritoriesFile,
              segment: str | None) -> tuple[str, str, str] | None:
    """(motion, territory, role) of the seat to add for ``segment`` (None: the whole plan)."""
    kinds: Counter[tuple[str, str, str]] = Counter()
    for r, e in enumerate(plan.entries):
        if e.motion and (segment is None or e.segment == segment) and plan.prod[r].max() > 0:
            kinds[(e.motion, e.territory, e.role)] += 1
    if kinds:
        return kinds.most_common(1)[0][0]
    rows = [p for p in plan.scenario.productivity if p.segment in ("*", segment) and p.monthly > 0]
    if not rows:
        return None
    row = max(rows, key=lambda p: p.monthly)
    motion = capacity.motion(row.motion)
    root = next(t.developer_name for t in territories.territories if t.parent is None)
    return row.motion, row.territory if row.territory != "*" else root, motion.role if motion else ""


def per_seat_by_start(plan: Plan, capacity: CapacityConfig, territories: TerritoriesFile, motion: str,
                      territory: str, role: str, segment: str | None) -> FloatArray:
    """Horizon capacity one seat adds, for each possible start month of the horizon."""
    first = plan.calendar.first_key
    seats = tuple(RosterEntry(id=f"probe_{j}", kind="seat", role=role, motion=motion, segment=segment,
                              territory=territory, start=key_date(first + j))
                  for j in range(plan.calendar.months))
    probe = compile_plan(plan.scenario.with_roster(seats), capacity, territories)
    return np.asarray(capacity_matrix(probe).sum(axis=1), dtype=np.float64)


def _suggest(plan: Plan, capacity: CapacityConfig, territories: TerritoriesFile, group: str,
             segment: str | None, target: float, have: float, earliest: int) -> HireSuggestion:
    out = HireSuggestion(group=group, target=target, capacity=have, shortfall=max(target - have, 0.0))
    if out.shortfall <= 0:
        return out.model_copy(update={"note": "capacity covers the target"})
    kind = _template(plan, capacity, territories, segment)
    if kind is None:
        return out.model_copy(update={"note": "no motion carries bookings for this group"})
    motion, territory, role = kind
    lag = plan.scenario.assumptions.hiring_lag_months
    first = plan.calendar.first_key
    base = out.model_copy(update={"motion": motion, "territory": territory, "role": role, "segment": segment,
                                  "earliest_start": key_date(first + earliest)})
    per_seat = per_seat_by_start(plan, capacity, territories, motion, territory, role, segment)
    if earliest >= len(per_seat) or per_seat[earliest] <= 0:
        return base.model_copy(update={"note": "a seat opened now starts too late to add capacity"})
    seats = math.ceil(out.shortfall / per_seat[earliest] * (1 - 1e-12))
    latest = max(j for j in range(earliest, len(per_seat)) if seats * per_seat[j] >= out.shortfall * (1 - 1e-12))
    return base.model_copy(update={
        "seats": seats, "per_seat": float(per_seat[earliest]), "start_by": key_date(first + latest),
        "open_requisition_by": key_date(first + latest - lag),
        "note": f"ramp and {lag}-month hiring lag applied",
    })


def hiring_gap(plan: Plan, capacity: CapacityConfig, territories: TerritoriesFile,
               figs: Figures | None = None, as_of: date | None = None) -> list[HireSuggestion]:
    """One suggestion per segment target (or one for the total when targets are not split by segment).

    Args:
        as_of: when requisitions can be opened; defaults to the horizon's first month.
    """
    figs = figs or figures(plan)
    offset = 0 if as_of is None else max(month_key(as_of) - plan.calendar.first_key, 0)
    earliest = offset + plan.scenario.assumptions.hiring_lag_months
    if not figs.segment_target:
        return [_suggest(plan, capacity, territories, "total", None, float(figs.month_target.sum()),
                         float(figs.month_capacity.sum()), earliest)]
    return [
        _suggest(plan, capacity, territories, seg, seg, float(target.sum()),
                 float(figs.by_segment.get(seg, np.zeros(1)).sum()), earliest)
        for seg, target in figs.segment_target.items()
    ]


def seats_closing(suggestion: HireSuggestion, prefix: str = "gap") -> list[RosterEntry]:
    """The roster entries that implement a suggestion (its seats starting at ``start_by``)."""
    if not suggestion.seats or suggestion.start_by is None or not suggestion.motion:
        return []
    return [
        RosterEntry(id=f"{prefix}_{suggestion.group}_{i + 1}", kind="seat", role=suggestion.role or "",
                    motion=suggestion.motion, segment=suggestion.segment,
                    territory=suggestion.territory or "", start=suggestion.start_by)
        for i in range(suggestion.seats)
    ]
