"""Onboard's config: ``config/onboard/plans.yaml``, onboarding plans by rule, with team roles and milestones."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import Field, field_validator, model_validator

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, ConfigFileSpec, GtmConfig
from revloops.core.milestones import MilestonePlan
from revloops.core.model import ConfigModel
from revloops.core.rules.conditions import Condition
from revloops.core.rules.schema import RulesFile
from revloops.core.rules.when import parse_when
from revloops.loops.pursue.config import check_roles


class OnboardingPlan(MilestonePlan):
    """An onboarding plan for a won opportunity.

    Attributes:
        id: unique, stable.
        when: which won deals it applies to (rules syntax); omitted: always.
        team: roles assigned to the customer (through Route's territory handler: the holder of each role in
            the account's territory).
        time_to_value_days: the target from close to the first value milestone.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=60)
    when: Any = None
    team: list[str] = Field(min_length=1)
    time_to_value_days: int = Field(ge=1, le=365)

    @field_validator("when", mode="before")
    @classmethod
    def _parse_when(cls, raw: Any) -> Condition | None:
        return parse_when(raw)


class HandoffItem(ConfigModel):
    """One item of the sales-to-success handoff: an opportunity field that must be filled, and its name."""

    field: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=80)
    label: str = Field(min_length=1, max_length=80)


class PlansFile(ConfigModel):
    """``config/onboard/plans.yaml``: the handoff checklist and the plans (the first whose condition holds is used)."""

    version: int = 1
    handoff: list[HandoffItem] = Field(default_factory=list, max_length=30)
    plans: list[OnboardingPlan] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PlansFile:
        ids = [p.id for p in self.plans]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate plan ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        return self


def check_handoff_fields(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A handoff item naming a field the Opportunity object does not have."""
    from revloops.core.records import Opportunity

    plans = cfg.get("onboard_plans")
    for i, item in enumerate(plans.handoff if plans is not None else []):
        if item.field not in Opportunity.model_fields:
            yield ConfigIssue("onboard_plans", ("handoff", i, "field"),
                              f"Opportunity has no field {item.field!r}")


def check_team_roles(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A team role or milestone owner that ``design/roles.yaml`` does not define."""
    yield from check_roles(cfg, "onboard_plans", "plans")
    roles_file, plans = cfg.get("roles"), cfg.get("onboard_plans")
    if roles_file is None or plans is None:
        return
    roles = {r.name for r in roles_file.roles}
    for i, plan in enumerate(plans.plans):
        for j, role in enumerate(plan.team):
            if role not in roles:
                yield ConfigIssue("onboard_plans", ("plans", i, "team", j), f"role {role!r} is not in design/roles.yaml")


#: ``onboard/csm_rules.yaml``: who becomes a new customer's CSM, in the routing rules' syntax, on the account
FILES = [ConfigFileSpec("onboard_plans", "onboard/plans.yaml", PlansFile, loop="onboard"),
         ConfigFileSpec("csm_rules", "onboard/csm_rules.yaml", RulesFile, loop="onboard")]
CHECKS: list[Check] = [check_team_roles, check_handoff_fields]
