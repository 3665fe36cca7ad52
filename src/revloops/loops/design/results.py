"""What Design returns: the same models feed the CLI tables, ``--json``, the API and the MCP tools."""

from __future__ import annotations

from revloops.core.model import Frozen
from revloops.loops.design.gap import HireSuggestion


class ScenarioSummary(Frozen):
    """One scenario file."""

    id: str
    name: str
    description: str
    extends: str | None
    active: bool


class GroupRow(Frozen):
    """Capacity of a group (period, segment, territory, motion) over its months, against its target."""

    key: str
    capacity: float
    target: float | None
    coverage: float | None


class Percentiles(Frozen):
    """Monte Carlo bookings at P10 / P50 / P90, and as a fraction of the target."""

    p10: float
    p50: float
    p90: float
    p10_attainment: float
    p50_attainment: float
    p90_attainment: float


class MonteCarloSummary(Frozen):
    """Attainment of the horizon's target under productivity variance and random attrition."""

    draws: int
    seed: int
    total: Percentiles
    by_segment: dict[str, Percentiles]


class ScenarioRun(Frozen):
    """Every figure of one scenario over its horizon."""

    scenario: str
    name: str
    description: str
    chain: list[str]
    active: bool
    config_version: str
    months: list[str]
    month_capacity: list[float]
    month_target: list[float]
    quarters: list[GroupRow]
    years: list[GroupRow]
    segments: list[GroupRow]
    territories: list[GroupRow]
    motions: list[GroupRow]
    total: GroupRow
    headcount: dict[str, int]
    hiring_gap: list[HireSuggestion]
    monte_carlo: MonteCarloSummary


class DeltaRow(Frozen):
    """One figure in two scenarios, and B minus A."""

    section: str
    key: str
    a: float | None
    b: float | None
    delta: float | None
    delta_pct: float | None


class Comparison(Frozen):
    """Two scenarios side by side."""

    a: str
    b: str
    rows: list[DeltaRow]
    runs: list[ScenarioRun]


class PromoteResult(Frozen):
    """The one-line change to ``active_scenario``."""

    file: str
    previous: str
    active: str
    changed: bool
    diff: str
    dry_run: bool
    commit: str | None = None
