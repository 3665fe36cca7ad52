"""Route's config: ``config/rules.yaml`` (the schema lives in ``revloops.core.rules`` because
``config/deploy/match_rules.yaml`` shares it and the engine compiles it)."""

from __future__ import annotations

from collections.abc import Iterable

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, ConfigFileSpec, GtmConfig
from revloops.core.rules.schema import (
    AccountOwnerAction,
    Action,
    AssignAction,
    PendingAction,
    QueueAction,
    RoundRobinAction,
    Rule,
    RulesFile,
    TerritoryAction,
    UserAction,
)

ROUTE_ACTIONS = frozenset({"user", "queue", "account_owner", "territory", "round_robin", "pending"})


def check_route_actions(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """``assign`` belongs to match rules (accounts into territories), not to owner routing."""
    rules = cfg.get("rules")
    for i, rule in enumerate(rules.rules if rules else []):
        if rule.action.type not in ROUTE_ACTIONS:
            yield ConfigIssue("rules", ("rules", i, "action", "type"),
                              f"action {rule.action.type!r} is only for deploy/match_rules.yaml")


FILES = [ConfigFileSpec("rules", "rules.yaml", RulesFile, required=True, loop="route")]
CHECKS: list[Check] = [check_route_actions]

__all__ = [
    "CHECKS", "FILES", "AccountOwnerAction", "Action", "AssignAction", "PendingAction", "QueueAction",
    "RoundRobinAction", "Rule", "RulesFile", "TerritoryAction", "UserAction",
]
