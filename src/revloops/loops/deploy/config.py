"""Deploy's routing config: round-robin pools, user <-> territory assignments, and account match rules.

Cross-file checks: a rule naming a pool that does not exist; a ``territory`` action's role not in
``design/roles.yaml``; a match rule or assignment naming a territory not in ``design/territories.yaml``;
a pool member or assignment naming a user not in the active roster. A check whose reference file is
absent is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import Field, field_validator, model_validator

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, ConfigFileSpec, GtmConfig
from revloops.core.model import ConfigModel
from revloops.core.rules.schema import RulesFile


class DateRange(ConfigModel):
    """An inclusive range of calendar dates (an absence)."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def covers(self, day: date) -> bool:
        """Whether ``day`` falls in the range."""
        return self.start <= day <= self.end


class PoolMember(ConfigModel):
    """One member of a pool: a Salesforce Username, a weight, an optional daily cap, absences."""

    user: str = Field(min_length=3)
    weight: float = Field(default=1.0, gt=0)
    daily_cap: int | None = Field(default=None, ge=0)
    out_of_office: list[DateRange] = []


class Pool(ConfigModel):
    """A round-robin pool."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = ""
    members: list[PoolMember] = Field(min_length=1)

    @field_validator("members")
    @classmethod
    def _unique_members(cls, members: list[PoolMember]) -> list[PoolMember]:
        seen: set[str] = set()
        for m in members:
            if m.user.lower() in seen:
                raise ValueError(f"{m.user} is listed twice")
            seen.add(m.user.lower())
        return members


class PoolsFile(ConfigModel):
    """``config/deploy/pools.yaml``."""

    version: int = 1
    pools: list[Pool]

    @field_validator("pools")
    @classmethod
    def _unique_ids(cls, pools: list[Pool]) -> list[Pool]:
        ids = [p.id for p in pools]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate pool id(s): {', '.join(dupes)}")
        return pools

    def by_id(self) -> dict[str, Pool]:
        """Pools keyed by id."""
        return {p.id: p for p in self.pools}


class Assignment(ConfigModel):
    """A user holding a role in a territory, optionally from/until a date (inclusive)."""

    user: str = Field(min_length=3)
    territory: str = Field(min_length=1)
    role: str = "AE"
    start: date | None = None
    end: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Assignment:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def active_on(self, day: date) -> bool:
        """Whether the assignment holds on ``day``."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


class AssignmentsFile(ConfigModel):
    """``config/deploy/assignments.yaml``."""

    version: int = 1
    assignments: list[Assignment]


def _rules_files(cfg: GtmConfig) -> list[tuple[str, RulesFile]]:
    return [(key, cfg.get(key)) for key in ("rules", "match_rules", "csm_rules") if cfg.get(key) is not None]


def check_pools(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A rule naming a pool that does not exist."""
    pools = cfg.get("pools")
    known = set(pools.by_id()) if pools else set()
    for key, rules in _rules_files(cfg):
        for i, rule in enumerate(rules.rules):
            if rule.action.type == "round_robin" and rule.action.pool not in known:
                where = "deploy/pools.yaml" if pools else "deploy/pools.yaml, which is missing"
                yield ConfigIssue(key, ("rules", i, "action", "pool"),
                                  f"unknown pool {rule.action.pool!r} (not in {where})")


def check_roles(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A ``territory`` action's role, or an assignment's role, not in ``design/roles.yaml``."""
    roles = cfg.get("roles")
    if roles is None:
        return
    known = {r.name for r in roles.roles}
    for key, rules in _rules_files(cfg):
        for i, rule in enumerate(rules.rules):
            if rule.action.type == "territory" and rule.action.role not in known:
                yield ConfigIssue(key, ("rules", i, "action", "role"),
                                  f"unknown role {rule.action.role!r} (roles: {', '.join(sorted(known))})")
    assignments = cfg.get("assignments")
    for i, a in enumerate(assignments.assignments if assignments else []):
        if a.role not in known:
            yield ConfigIssue("assignments", ("assignments", i, "role"), f"unknown role {a.role!r}")


def check_territories(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A match rule or an assignment naming a territory not in ``design/territories.yaml``."""
    territories = cfg.get("territories")
    if territories is None:
        return
    known = {t.developer_name for t in territories.territories}
    match_rules = cfg.get("match_rules")
    for i, rule in enumerate(match_rules.rules if match_rules else []):
        if rule.action.type == "assign" and rule.action.territory not in known:
            yield ConfigIssue("match_rules", ("rules", i, "action", "territory"),
                              f"unknown territory {rule.action.territory!r} (not in design/territories.yaml)")
    assignments = cfg.get("assignments")
    for i, a in enumerate(assignments.assignments if assignments else []):
        if a.territory not in known:
            yield ConfigIssue("assignments", ("assignments", i, "territory"),
                              f"unknown territory {a.territory!r} (not in design/territories.yaml)")


def check_match_actions(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """Match rules put accounts in territories: only ``assign`` and ``pending`` make sense there."""
    match_rules = cfg.get("match_rules")
    for i, rule in enumerate(match_rules.rules if match_rules else []):
        if rule.action.type not in ("assign", "pending"):
            yield ConfigIssue("match_rules", ("rules", i, "action", "type"),
                              f"match rules take assign or pending actions, not {rule.action.type!r}")


MAX_RULES_PER_TERRITORY = 15  # Salesforce's limit of assignment rules per territory


def check_limits(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """More assign rules for one territory than Salesforce allows; a user holding a territory twice at once."""
    match_rules = cfg.get("match_rules")
    seen: dict[str, int] = {}
    for i, rule in enumerate(match_rules.rules if match_rules else []):
        if rule.action.type != "assign":
            continue
        seen[rule.action.territory] = seen.get(rule.action.territory, 0) + 1
        if seen[rule.action.territory] == MAX_RULES_PER_TERRITORY + 1:
            yield ConfigIssue("match_rules", ("rules", i, "action", "territory"),
                              f"territory {rule.action.territory!r} has more than {MAX_RULES_PER_TERRITORY} "
                              "assignment rules (Salesforce's limit per territory)")
    assignments = cfg.get("assignments")
    held: dict[tuple[str, str], list[Assignment]] = {}
    for i, a in enumerate(assignments.assignments if assignments else []):
        key = (a.user.lower(), a.territory)
        for other in held.get(key, []):
            if (a.start or date.min) <= (other.end or date.max) and (other.start or date.min) <= (a.end or date.max):
                yield ConfigIssue("assignments", ("assignments", i, "user"),
                                  f"{a.user} already holds {a.territory} over these dates (one role per user "
                                  "and territory)")
                break
        held.setdefault(key, []).append(a)


def _roster(cfg: GtmConfig) -> set[str] | None:
    try:
        from revloops.loops.design.config import active_roster_usernames
    except ImportError:  # a config layout without the design loop
        return None
    found: Any = active_roster_usernames(cfg)
    return None if found is None else {u.lower() for u in found}


def check_users(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A pool member or an assignment naming a user who is not in the active roster."""
    roster = _roster(cfg)
    if roster is None:
        return
    pools = cfg.get("pools")
    for p, pool in enumerate(pools.pools if pools else []):
        for m, member in enumerate(pool.members):
            if member.user.lower() not in roster:
                yield ConfigIssue("pools", ("pools", p, "members", m, "user"),
                                  f"pool {pool.id}: {member.user} is not in the active roster")
    assignments = cfg.get("assignments")
    for i, a in enumerate(assignments.assignments if assignments else []):
        if a.user.lower() not in roster:
            yield ConfigIssue("assignments", ("assignments", i, "user"), f"{a.user} is not in the active roster")


FILES = [
    ConfigFileSpec("pools", "deploy/pools.yaml", PoolsFile, loop="deploy"),
    ConfigFileSpec("assignments", "deploy/assignments.yaml", AssignmentsFile, loop="deploy"),
    ConfigFileSpec("match_rules", "deploy/match_rules.yaml", RulesFile, loop="deploy"),
]
CHECKS: list[Check] = [check_pools, check_roles, check_territories, check_match_actions, check_users, check_limits]
