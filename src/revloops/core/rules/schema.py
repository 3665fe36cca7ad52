"""The rules file schema (``config/rules.yaml`` and ``config/deploy/match_rules.yaml``).

Conditions are parsed and checked while the file validates, so a loaded ``RulesFile`` is ready to
compile; every problem carries its path, which the config loader turns into ``file:line`` and rule id.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import Field, field_validator, model_validator

from revloops.core.model import ConfigModel
from revloops.core.rules.conditions import AllOf, AnyOf, Condition, Leaf, Loc, NotOf
from revloops.core.rules.when import parse_when, raise_problems


class UserAction(ConfigModel):
    """Give the record to one user (username, email or 005 id), if active."""

    type: Literal["user"]
    user: str = Field(min_length=1)


class QueueAction(ConfigModel):
    """Give the record to a queue (developer name or 00G id)."""

    type: Literal["queue"]
    queue: str = Field(min_length=1)


class AccountOwnerAction(ConfigModel):
    """Give the record to the owner of its matched account, if active."""

    type: Literal["account_owner"]
    match: Literal["domain", "domain_then_name"] = "domain"


class TerritoryAction(ConfigModel):
    """Give the record to the user holding ``role`` in the record's territory."""

    type: Literal["territory"]
    role: str = "AE"


class RoundRobinAction(ConfigModel):
    """Give the record to the next eligible member of a pool (``config/deploy/pools.yaml``)."""

    type: Literal["round_robin"]
    pool: str = Field(min_length=1)


class PendingAction(ConfigModel):
    """Park the record as ``pending:<reason>``."""

    type: Literal["pending"]
    reason: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")


class AssignAction(ConfigModel):
    """Match rules only: put the account in a territory (its Territory2 DeveloperName)."""

    type: Literal["assign"]
    territory: str = Field(min_length=1)


Action: TypeAlias = Annotated[
    UserAction | QueueAction | AccountOwnerAction | TerritoryAction | RoundRobinAction | PendingAction
    | AssignAction,
    Field(discriminator="type"),
]
ConditionTypes = (Leaf, AllOf, AnyOf, NotOf)
ACTION_TYPES = ("user", "queue", "account_owner", "territory", "round_robin", "pending", "assign")


class Rule(ConfigModel):
    """One rule: when its condition holds (and the record type is listed), its action decides.

    Attributes:
        id: unique and stable; appears in every trace.
        priority: lower runs first; unique within the file.
        description: what the rule is for, in plain words.
        objects: record types the rule applies to (``None``: all).
        when: the condition (``None``: always true), parsed at load.
        action: the handler that resolves the owner.
        on_unresolved: ``next`` keeps walking; ``pending`` stops with ``pending:<rule id>``.
    """

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=80)
    priority: int
    description: str = ""
    objects: list[str] | None = None
    when: Any = None
    action: Action
    on_unresolved: Literal["next", "pending"] = "next"

    @field_validator("when", mode="before")
    @classmethod
    def _parse_when(cls, raw: Any) -> Condition | None:
        return parse_when(raw)

    @property
    def condition(self) -> Condition | None:
        """The parsed condition."""
        return self.when  # type: ignore[no-any-return]


class RulesFile(ConfigModel):
    """A rules file: rules walked in priority order, the first match wins."""

    version: Literal[1] = 1
    rules: list[Rule]

    @model_validator(mode="after")
    def _unique(self) -> RulesFile:
        problems: list[tuple[Loc, str]] = []
        ids: dict[str, int] = {}
        prios: dict[int, str] = {}
        for i, rule in enumerate(self.rules):
            if rule.id in ids:
                problems.append((("rules", i, "id"), f"duplicate rule id {rule.id!r} (also rules[{ids[rule.id]}])"))
            else:
                ids[rule.id] = i
            if rule.priority in prios:
                problems.append(
                    (("rules", i, "priority"), f"duplicate priority {rule.priority} (also rule {prios[rule.priority]!r})")
                )
            else:
                prios[rule.priority] = rule.id
        if problems:
            raise_problems(problems, "RulesFile")
        return self

    def ordered(self) -> list[Rule]:
        """The rules in evaluation order (priority ascending)."""
        return sorted(self.rules, key=lambda r: r.priority)

