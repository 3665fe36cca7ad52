"""A merged scenario compiled to arrays: one row per roster entry, one column per month of the horizon.

Calendar rules: a rep counts from the month that holds ``start`` (tenure month 0) through the month that
holds ``end``; quarters and years are fiscal, counted from the scenario's first month.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from revloops.loops.design.config import CapacityConfig, Productivity, RosterEntry, TerritoriesFile
from revloops.loops.design.inherit import Scenario

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
OPEN_END = 10**9  # month key of an entry without end date


def month_key(d: date) -> int:
    """Months since year 0: comparable across years."""
    return d.year * 12 + d.month - 1


def key_date(key: int) -> date:
    """The first day of the month with this key."""
    return date(key // 12, key % 12 + 1, 1)


@dataclass(frozen=True)
class Calendar:
    """The horizon: ``months`` months from the first month of fiscal year ``fiscal_year``."""

    fiscal_year: int
    start_month: int
    months: int

    @property
    def first_key(self) -> int:
        return self.fiscal_year * 12 + self.start_month - 1

    def month_labels(self) -> list[str]:
        return [f"{k // 12:04d}-{k % 12 + 1:02d}" for k in range(self.first_key, self.first_key + self.months)]

    def quarter_index(self) -> IntArray:
        """Per month, the index of its fiscal quarter within the horizon (0, 0, 0, 1, ...)."""
        return np.arange(self.months, dtype=np.int64) // 3

    def year_index(self) -> IntArray:
        return np.arange(self.months, dtype=np.int64) // 12

    def quarter_labels(self) -> list[str]:
        n = (self.months + 2) // 3
        return [f"FY{self.fiscal_year + q // 4}-Q{q % 4 + 1}" for q in range(n)]

    def year_labels(self) -> list[str]:
        return [f"FY{self.fiscal_year + y}" for y in range((self.months + 11) // 12)]

    def period_months(self, period: str | None) -> list[int]:
        """Month indices of a period label (``2026-05``, ``FY2026-Q2``, ``FY2026``); None is the horizon."""
        if period is None:
            return list(range(self.months))
        for labels, index in ((self.month_labels(), np.arange(self.months)),
                              (self.quarter_labels(), self.quarter_index()),
                              (self.year_labels(), self.year_index())):
            if period in labels:
                return [int(m) for m in np.flatnonzero(index == labels.index(period))]
        raise KeyError(period)


def pick_productivity(rows: Sequence[Productivity], motion: str, segment: str | None,
                      lineage: Sequence[str]) -> int | None:
    """Index of the row for (motion, segment, territory): nearest territory first, then exact segment."""
    best: tuple[int, int] | None = None
    found: int | None = None
    for i, row in enumerate(rows):
        if row.motion != motion or row.segment not in ("*", segment):
            continue
        if row.territory == "*":
            distance = len(lineage)
        elif row.territory in lineage:
            distance = list(lineage).index(row.territory)
        else:
            continue
        score = (distance, 0 if row.segment == segment else 1)
        if best is None or score < best:
            best, found = score, i
    return found


def _lineage(parents: dict[str, str | None], name: str) -> tuple[str, ...]:
    out = [name]
    while (parent := parents.get(out[-1])) is not None and parent not in out:
        out.append(parent)
    return tuple(out)


def _sigma(cv: float) -> float:
    """Lognormal sigma giving coefficient of variation ``cv`` (mean fixed at 1)."""
    return math.sqrt(math.log1p(cv * cv))


@dataclass(frozen=True)
class Plan:
    """Arrays of one scenario. Row ``r`` is ``entries[r]``; ``prod[r, q]`` is monthly bookings in fiscal
    quarter ``q`` (0-3); ``ramp[r, t]`` the ramp at tenure month ``t`` (the last column holds)."""

    scenario: Scenario
    capacity: CapacityConfig
    hierarchy: TerritoriesFile
    calendar: Calendar
    entries: tuple[RosterEntry, ...]
    start: IntArray
    end: IntArray
    ramp: FloatArray
    prod: FloatArray
    prod_row: tuple[int | None, ...]
    attrition: FloatArray  # monthly probability of leaving
    sigma: FloatArray
    lineage: tuple[tuple[str, ...], ...]  # per entry, its territory and ancestors
    segments: tuple[str, ...]
    territories: tuple[str, ...]
    motions: tuple[str, ...]
    phase: FloatArray  # per month, the share of the annual target (growth applied)

    @property
    def size(self) -> int:
        return len(self.entries)

    def target_month(self, amount: float) -> FloatArray:
        """An annual amount phased over the horizon's months."""
        return amount * self.phase


def _phase(scenario: Scenario, calendar: Calendar) -> FloatArray:
    shares = scenario.targets.phasing()
    m = np.arange(calendar.months)
    quarter_share = np.array(shares)[(m % 12) // 3] / 3.0
    return np.asarray(quarter_share * (1.0 + scenario.targets.annual_growth) ** (m // 12), dtype=np.float64)


def compile_plan(scenario: Scenario, capacity: CapacityConfig, territories: TerritoriesFile) -> Plan:
    """Arrays for the vectorised model; one Python pass over entries, none over months."""
    calendar = Calendar(scenario.fiscal_year, capacity.fiscal_year_start, scenario.months)
    entries = scenario.roster
    width = max([len(c.months) for c in scenario.ramp_curves.values()] or [1])
    n = len(entries)
    # one lookup per distinct motion, territory and (motion, segment, territory), not per entry
    curves = {m: np.array(c.months + [c.months[-1]] * (width - len(c.months)))
              for m, c in scenario.ramp_curves.items()}
    curve_slot = {m: i + 1 for i, m in enumerate(curves)}
    ramp_table = np.vstack([np.ones(width), *curves.values()])
    ramp = ramp_table[[curve_slot.get(e.motion or "", 0) for e in entries]]
    parents = territories.parents()
    lineage_of: dict[str, tuple[str, ...]] = {}
    for e in entries:
        if e.territory not in lineage_of:
            lineage_of[e.territory] = _lineage(parents, e.territory)
    row_of: dict[tuple[str | None, str | None, str], int | None] = {}
    for e in entries:
        key = (e.motion, e.segment, e.territory)
        if key not in row_of:
            row_of[key] = pick_productivity(scenario.productivity, e.motion, e.segment,
                                            lineage_of[e.territory]) if e.motion else None
    rows = [row_of[(e.motion, e.segment, e.territory)] for e in entries]
    quarterly = np.vstack([np.zeros(4), *([r.in_quarter(q) for q in range(4)] for r in scenario.productivity)])
    prod = quarterly[[0 if r is None else r + 1 for r in rows]].reshape(n, 4)
    lineages = [lineage_of[e.territory] for e in entries]
    annual = np.array([scenario.assumptions.attrition(e.role) for e in entries], dtype=np.float64)
    return Plan(
        scenario=scenario, capacity=capacity, hierarchy=territories, calendar=calendar, entries=entries,
        start=np.array([month_key(e.start) for e in entries], dtype=np.int64),
        end=np.array([month_key(e.end) if e.end else OPEN_END for e in entries], dtype=np.int64),
        ramp=ramp.reshape(n, width), prod=prod, prod_row=tuple(rows),
        attrition=1.0 - (1.0 - annual) ** (1.0 / 12.0),
        sigma=np.array([_sigma(scenario.assumptions.cv(e.motion)) for e in entries], dtype=np.float64).reshape(n),
        lineage=tuple(lineages), segments=tuple(capacity.segment_ids()),
        territories=tuple(t.developer_name for t in territories.territories),
        motions=tuple(m.id for m in capacity.motions), phase=_phase(scenario, calendar),
    )
