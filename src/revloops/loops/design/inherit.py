"""Scenario inheritance: a scenario file plus its ``extends`` chain becomes one complete plan.

Every merged piece remembers the file (and the path in it) it came from, so a problem found in the merged
plan is reported at the line that introduced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from revloops.core.errors import ConfigError, Location, NotFound
from revloops.loops.design.config import (
    Assumptions,
    Productivity,
    RampCurve,
    RosterEntry,
    ScenarioFile,
    Targets,
)

if TYPE_CHECKING:
    from revloops.config.loader import GtmConfig

Origin = tuple[str, tuple[str | int, ...]]  # (scenario file stem, path inside that file)


@dataclass(frozen=True)
class Scenario:
    """A complete plan after inheritance.

    Attributes:
        id: the scenario file's stem.
        chain: the scenario and its ancestors, the scenario first.
        origins: where each roster entry (by id), productivity row (by key), ramp curve (by motion) and the
            targets came from: ``("roster", id) -> (stem, ("roster", index))``.
    """

    id: str
    name: str
    description: str
    chain: tuple[str, ...]
    fiscal_year: int
    months: int
    roster: tuple[RosterEntry, ...]
    ramp_curves: Mapping[str, RampCurve]
    productivity: tuple[Productivity, ...]
    targets: Targets
    assumptions: Assumptions
    origins: Mapping[tuple[str, object], Origin] = field(default_factory=dict)

    def with_roster(self, roster: tuple[RosterEntry, ...]) -> Scenario:
        """The same plan with another roster (what-if: the suggested hires added)."""
        return Scenario(self.id, self.name, self.description, self.chain, self.fiscal_year, self.months, roster,
                        self.ramp_curves, self.productivity, self.targets, self.assumptions, self.origins)


def extends_chain(files: Mapping[str, ScenarioFile], scenario_id: str) -> tuple[list[str], str | None]:
    """The ids from ``scenario_id`` up its ``extends`` links, and the problem that stopped it (if any)."""
    chain: list[str] = []
    current: str | None = scenario_id
    while current is not None:
        if current in chain:
            return chain, f"scenario inheritance has a cycle: {' -> '.join([*chain, current])}"
        if current not in files:
            known = ", ".join(sorted(files)) or "none"
            return chain, f"scenario {current!r} does not exist (scenarios: {known})"
        chain.append(current)
        current = files[current].extends
    return chain, None


def _merge_assumptions(base: Assumptions | None, child: Assumptions) -> Assumptions:
    if base is None:
        return child
    data = base.model_dump()
    for name in child.model_fields_set:
        value = getattr(child, name)
        data[name] = {**data[name], **value} if isinstance(value, dict) else value
    return Assumptions.model_validate(data)


def merge_roster(roster: list[RosterEntry], stem: str, sf: ScenarioFile,
                  origins: dict[tuple[str, object], Origin]) -> list[RosterEntry]:
    if sf.remove_seats:
        roster = [e for e in roster if e.kind != "seat"]
    removed = set(sf.remove)
    roster = [e for e in roster if e.id not in removed]
    for i, entry in enumerate(sf.roster):
        origins[("roster", entry.id)] = (stem, ("roster", i))
        at = next((j for j, e in enumerate(roster) if e.id == entry.id), None)
        if at is None:
            roster.append(entry)
        else:
            roster[at] = entry
    return roster


def merge(files: Mapping[str, ScenarioFile], scenario_id: str) -> Scenario:
    """Merge ``scenario_id`` with its ancestors (root first, the scenario last).

    Raises:
        NotFound: the scenario does not exist.
        ConfigError: a broken ``extends`` chain, or no file in the chain sets fiscal_year or targets.
    """
    if scenario_id not in files:
        known = ", ".join(sorted(files)) or "none"
        raise NotFound(f"scenario {scenario_id!r} does not exist (scenarios: {known})")
    chain, problem = extends_chain(files, scenario_id)
    if problem:
        raise ConfigError(problem)
    origins: dict[tuple[str, object], Origin] = {}
    roster: list[RosterEntry] = []
    ramps: dict[str, RampCurve] = {}
    productivity: dict[tuple[str, str, str], Productivity] = {}
    targets: Targets | None = None
    assumptions: Assumptions | None = None
    fiscal_year: int | None = None
    months: int | None = None
    for stem in reversed(chain):
        sf = files[stem]
        roster = merge_roster(roster, stem, sf, origins)
        for motion, curve in sf.ramp_curves.items():
            ramps[motion] = curve
            origins[("ramp", motion)] = (stem, ("ramp_curves", motion))
        for i, row in enumerate(sf.productivity):
            productivity[row.key()] = row
            origins[("productivity", row.key())] = (stem, ("productivity", i))
        if sf.targets is not None:
            targets = sf.targets
            origins[("targets", "")] = (stem, ("targets",))
        if sf.assumptions is not None:
            assumptions = _merge_assumptions(assumptions, sf.assumptions)
        fiscal_year = sf.fiscal_year if sf.fiscal_year is not None else fiscal_year
        months = sf.months if sf.months is not None else months
    head = files[scenario_id]
    if fiscal_year is None or targets is None:
        missing = "fiscal_year" if fiscal_year is None else "targets"
        raise ConfigError(f"scenario {scenario_id!r} has no {missing} (set it here or in the scenario it extends)")
    return Scenario(
        id=scenario_id, name=head.name or scenario_id, description=head.description, chain=tuple(chain),
        fiscal_year=fiscal_year, months=months or 12, roster=tuple(roster), ramp_curves=ramps,
        productivity=tuple(productivity.values()), targets=targets, assumptions=assumptions or Assumptions(),
        origins=origins,
    )


def resolve_scenario(cfg: GtmConfig, scenario_id: str) -> Scenario:
    """The complete plan for ``scenario_id`` from a loaded config; errors carry the scenario's file:line."""
    files: Mapping[str, ScenarioFile] = cfg.get("scenarios") or {}
    try:
        return merge(files, scenario_id)
    except ConfigError as exc:
        if exc.location is None:
            exc.location = cfg.location("scenarios", (), scenario_id) if scenario_id in files else Location(
                str(cfg.root))
        raise
