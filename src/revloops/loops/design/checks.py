"""Design's cross-item and cross-file checks, registered in the config layout.

Each check yields ConfigIssue values with the path of the offending key, so the loader reports file:line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date

from revloops.config.issues import ConfigIssue
from revloops.config.loader import GtmConfig
from revloops.core.errors import ConfigError
from revloops.loops.design.config import (
    CapacityConfig,
    RolesFile,
    RosterEntry,
    ScenarioFile,
    TerritoriesFile,
)
from revloops.loops.design.inherit import Scenario, extends_chain, merge, merge_roster


def _dupes(names: Iterable[str]) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            yield i, name
        seen.add(name)


def check_territories(cfg: GtmConfig) -> Iterator[ConfigIssue]:
    """Unique names, known types, one root, parents that exist, no cycles."""
    tf: TerritoriesFile | None = cfg.get("territories")
    if tf is None:
        return
    for i, name in _dupes(t.developer_name for t in tf.types):
        yield ConfigIssue("territories", ("types", i, "developer_name"), f"duplicate territory type {name!r}")
    for i, name in _dupes(t.developer_name for t in tf.territories):
        yield ConfigIssue("territories", ("territories", i, "developer_name"), f"duplicate territory {name!r}")
    types = {t.developer_name for t in tf.types}
    names = {t.developer_name for t in tf.territories}
    roots = [i for i, t in enumerate(tf.territories) if t.parent is None]
    if not roots:
        yield ConfigIssue("territories", ("territories",), "the hierarchy has no root (a territory without parent)")
    for i in roots[1:]:
        first = tf.territories[roots[0]].developer_name
        yield ConfigIssue("territories", ("territories", i),
                          f"a second root {tf.territories[i].developer_name!r}: only {first!r} may omit parent")
    for i, t in enumerate(tf.territories):
        if t.type not in types:
            yield ConfigIssue("territories", ("territories", i, "type"),
                              f"territory type {t.type!r} is not in types ({', '.join(sorted(types))})")
        if t.parent is not None and t.parent not in names:
            yield ConfigIssue("territories", ("territories", i, "parent"),
                              f"parent {t.parent!r} of {t.developer_name!r} is not a territory")
        elif t.parent is not None and t.developer_name in tf.ancestors(t.parent):
            yield ConfigIssue("territories", ("territories", i, "parent"),
                              f"territory {t.developer_name!r} is its own ancestor (a cycle)")


def check_roles_and_capacity(cfg: GtmConfig) -> Iterator[ConfigIssue]:
    """Unique roles, segments and motions; motions name a role; the active scenario exists."""
    roles: RolesFile | None = cfg.get("roles")
    capacity: CapacityConfig | None = cfg.get("capacity")
    scenarios: Mapping[str, ScenarioFile] = cfg.get("scenarios") or {}
    if roles is not None:
        for i, name in _dupes(r.name for r in roles.roles):
            yield ConfigIssue("roles", ("roles", i, "name"), f"duplicate role {name!r}")
    if capacity is None:
        for stem in scenarios:
            yield ConfigIssue("scenarios", (), "scenarios need design/capacity_config.yaml", name=stem)
        return
    for i, name in _dupes(s.id for s in capacity.segments):
        yield ConfigIssue("capacity", ("segments", i, "id"), f"duplicate segment {name!r}")
    for i, name in _dupes(m.id for m in capacity.motions):
        yield ConfigIssue("capacity", ("motions", i, "id"), f"duplicate motion {name!r}")
    for i, m in enumerate(capacity.motions):
        if roles is not None and m.role not in roles.names():
            yield ConfigIssue("capacity", ("motions", i, "role"), f"role {m.role!r} is not in roles.yaml")
    if capacity.active_scenario not in scenarios:
        known = ", ".join(sorted(scenarios)) or "none"
        yield ConfigIssue("capacity", ("active_scenario",),
                          f"active_scenario {capacity.active_scenario!r} has no scenario file (scenarios: {known})")


class _Names:
    """The names a scenario may refer to."""

    def __init__(self, cfg: GtmConfig) -> None:
        capacity: CapacityConfig | None = cfg.get("capacity")
        tf: TerritoriesFile | None = cfg.get("territories")
        roles: RolesFile | None = cfg.get("roles")
        self.segments = set(capacity.segment_ids()) if capacity else set()
        self.motion_roles = {m.id: m.role for m in capacity.motions} if capacity else {}
        self.territories = {t.developer_name for t in tf.territories} if tf else set()
        self.roles = roles.names() if roles else None
        self.has_territories = tf is not None

    def unknown(self, kind: str, value: str | None) -> str | None:
        known = {"segment": self.segments, "motion": set(self.motion_roles), "territory": self.territories,
                 "role": self.roles}[kind]
        if value is None or value == "*" or known is None or value in known:
            return None
        listing = ", ".join(sorted(known)) if len(known) <= 12 else f"{len(known)} defined"
        return f"unknown {kind} {value!r} (known: {listing or 'none'})"


def _entry_refs(names: _Names, stem: str, i: int, e: RosterEntry) -> Iterator[ConfigIssue]:
    for kind in ("territory", "segment", "motion", "role"):
        problem = names.unknown(kind, getattr(e, kind))
        if problem:
            yield ConfigIssue("scenarios", ("roster", i, kind), problem, name=stem)
    expected = names.motion_roles.get(e.motion or "")
    if expected is not None and expected != e.role:
        yield ConfigIssue("scenarios", ("roster", i, "role"),
                          f"motion {e.motion!r} is run by role {expected!r}, not {e.role!r}", name=stem)


def _file_refs(names: _Names, stem: str, sf: ScenarioFile) -> Iterator[ConfigIssue]:
    if not names.has_territories:
        yield ConfigIssue("scenarios", (), "scenarios need design/territories.yaml", name=stem)
    for i, name in _dupes(e.id for e in sf.roster):
        yield ConfigIssue("scenarios", ("roster", i, "id"), f"duplicate roster id {name!r}", name=stem)
    for i, e in enumerate(sf.roster):
        yield from _entry_refs(names, stem, i, e)
    for i, row in enumerate(sf.productivity):
        for kind in ("motion", "segment", "territory"):
            problem = names.unknown(kind, getattr(row, kind))
            if problem:
                yield ConfigIssue("scenarios", ("productivity", i, kind), problem, name=stem)
    for i, key in _dupes("/".join(r.key()) for r in sf.productivity):
        yield ConfigIssue("scenarios", ("productivity", i), f"duplicate productivity row {key}", name=stem)
    for motion in sf.ramp_curves:
        problem = names.unknown("motion", motion)
        if problem:
            yield ConfigIssue("scenarios", ("ramp_curves", motion), problem, name=stem)
    if sf.targets is not None:
        for split, kind in (("by_segment", "segment"), ("by_territory", "territory")):
            for key in getattr(sf.targets, split):
                problem = names.unknown(kind, key)
                if problem:
                    yield ConfigIssue("scenarios", ("targets", split, key), problem, name=stem)


def _overlaps(entries: list[RosterEntry]) -> Iterator[tuple[RosterEntry, RosterEntry, str]]:
    """Pairs of entries holding the same person or headcount slot over overlapping dates."""
    far = date.max
    for attr in ("user", "seat"):
        held: dict[str, list[RosterEntry]] = {}
        for e in entries:
            key = getattr(e, attr)
            if not key:
                continue
            for other in held.get(key, []):
                if e.start <= (other.end or far) and other.start <= (e.end or far):
                    yield other, e, f"{attr} {key!r}"
            held.setdefault(key, []).append(e)


def _plan_issues(s: Scenario) -> Iterator[tuple[tuple[str, object], str | int, str]]:
    """Problems of the merged plan as (origin key, field, message)."""
    ids = {e.id for e in s.roster}
    covered = {r.motion for r in s.productivity}
    for e in s.roster:
        if e.manager is not None and e.manager not in ids:
            yield ("roster", e.id), "manager", f"manager {e.manager!r} is not a roster entry id in this scenario"
        if e.manager == e.id:
            yield ("roster", e.id), "manager", f"roster entry {e.id!r} cannot manage itself"
        if e.motion and e.motion not in s.ramp_curves:
            yield ("roster", e.id), "motion", f"motion {e.motion!r} has no ramp curve in this scenario"
        if e.motion and e.motion not in covered:
            yield ("roster", e.id), "motion", f"motion {e.motion!r} has no productivity row in this scenario"
    for first, second, what in _overlaps(list(s.roster)):
        yield ("roster", second.id), "start", (
            f"{what} is held by {first.id!r} ({first.start} to {first.end or 'open'}) and {second.id!r} "
            f"({second.start} to {second.end or 'open'}) over overlapping dates")


def check_scenarios(cfg: GtmConfig) -> Iterator[ConfigIssue]:
    """References inside every scenario file, then the merged plan of every scenario."""
    files: Mapping[str, ScenarioFile] = cfg.get("scenarios") or {}
    names = _Names(cfg)
    seen: set[tuple[str | None, tuple[str | int, ...], str]] = set()
    for stem, sf in files.items():
        for issue in _file_refs(names, stem, sf):
            seen.add((issue.name, issue.loc, issue.message))
            yield issue
        if sf.extends is not None:
            parent_chain, problem = extends_chain(files, sf.extends)
            if sf.extends not in files or stem in parent_chain:
                msg = problem if sf.extends not in files else (
                    f"scenario inheritance has a cycle: {' -> '.join([stem, *parent_chain[:parent_chain.index(stem) + 1]])}")
                yield ConfigIssue("scenarios", ("extends",), msg or "", name=stem)
                continue
            if problem:
                continue  # reported on the ancestor whose link is broken
            parent_ids = {e.id for e in merged_roster(files, sf.extends)}
            for i, rid in enumerate(sf.remove):
                if rid not in parent_ids:
                    yield ConfigIssue("scenarios", ("remove", i), f"remove names {rid!r}, not in {sf.extends!r}",
                                      name=stem)
        try:
            plan = merge(files, stem)
        except ConfigError as exc:
            yield ConfigIssue("scenarios", (), exc.message, name=stem)
            continue
        for origin_key, fld, message in _plan_issues(plan):
            origin_stem, loc = plan.origins.get(origin_key, (stem, ()))
            issue = ConfigIssue("scenarios", (*loc, fld), message, name=origin_stem)
            if (issue.name, issue.loc, issue.message) not in seen:
                seen.add((issue.name, issue.loc, issue.message))
                yield issue


def merged_roster(files: Mapping[str, ScenarioFile], scenario_id: str) -> list[RosterEntry]:
    """The roster of ``scenario_id`` after inheritance, ignoring missing fiscal_year or targets."""
    chain, _ = extends_chain(files, scenario_id)
    roster: list[RosterEntry] = []
    for stem in reversed(chain):
        roster = merge_roster(roster, stem, files[stem], {})
    return roster


CHECKS = [check_territories, check_roles_and_capacity, check_scenarios]
