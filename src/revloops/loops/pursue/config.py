"""Pursue's config: ``config/pursue/deal_plays.yaml``, deal plays selected by rules, each with milestones."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field, field_validator, model_validator

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, ConfigFileSpec, GtmConfig
from revloops.core.milestones import MilestonePlan, unknown_roles
from revloops.core.model import ConfigModel
from revloops.core.rules.conditions import Condition
from revloops.core.rules.when import parse_when


class DealPlay(MilestonePlan):
    """A deal play: when its condition holds on the opportunity (and its account), its milestones are created.

    Attributes:
        id: unique, stable; written to ``Opportunity.Deal_Play__c``.
        priority: lower is tried first; unique.
        name: what reps see.
        when: the condition (rules syntax: ``Amount``, ``Type``, ``segment``, ``account.*``...); omitted: always.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=60)
    priority: int
    name: str = Field(min_length=1)
    when: Any = None

    @field_validator("when", mode="before")
    @classmethod
    def _parse_when(cls, raw: Any) -> Condition | None:
        return parse_when(raw)


class DealPlaysFile(ConfigModel):
    """``config/pursue/deal_plays.yaml``."""

    version: int = 1
    plays: list[DealPlay] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> DealPlaysFile:
        ids = [p.id for p in self.plays]
        prios = [p.priority for p in self.plays]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate play ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        if len(set(prios)) != len(prios):
            raise ValueError(f"duplicate priorities: {sorted({p for p in prios if prios.count(p) > 1})}")
        return self


def check_roles(cfg: GtmConfig, key: str = "deal_plays", list_key: str = "plays") -> Iterable[ConfigIssue]:
    """A milestone owned by a role that ``design/roles.yaml`` does not define."""
    roles_file = cfg.get("roles")
    items = getattr(cfg.get(key), list_key, None) or []
    roles = {r.name for r in roles_file.roles} if roles_file is not None else set()
    for i, plan in enumerate(items):
        for j, role in unknown_roles(plan, roles):
            yield ConfigIssue(key, (list_key, i, "milestones", j, "owner_role"),
                              f"role {role!r} is not in design/roles.yaml (known: {', '.join(sorted(roles))})")


FILES = [ConfigFileSpec("deal_plays", "pursue/deal_plays.yaml", DealPlaysFile, loop="pursue")]
CHECKS: list[Check] = [check_roles]
