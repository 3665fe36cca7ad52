"""Route's result values: the same models feed the API response, the CLI table and MCP answers."""

from __future__ import annotations

from dataclasses import dataclass

from revloops.core.model import Frozen


@dataclass(frozen=True)
class RoutePlan:
    """Where a batch of records would go (internal; not returned to callers as is)."""

    record_ids: list[str]
    rule_ids: list[str | None]
    owner_ids: list[str]
    #: each rule's action as canonical JSON (two rules with one id compare by what they do)
    actions: dict[str, str]
    #: each rule's action type
    kinds: dict[str, str]
    #: records a pool's daily cap turned away from a rule at least once (they went on to a later rule)
    capped: int = 0


class Preview(Frozen):
    """A preview's summary: counts per rule and per owner."""

    total: int
    caps: bool = True
    #: records a pool's daily cap turned away from the rule they would take without caps
    capped: int = 0
    by_rule: dict[str, int]
    by_owner: dict[str, int]
    owner_names: dict[str, str]


class Move(Frozen):
    """One record whose rule or owner changes between two configs."""

    record_id: str
    old_rule: str | None
    new_rule: str | None
    old_owner: str
    new_owner: str
    old_owner_name: str
    new_owner_name: str
    #: rule (another rule holds), action (the same rule now does something else), owner
    reason: str = "rule"


class Diff(Frozen):
    """Every record that moves between two configs, how many only rotated (same rule and action, another
    member), and how many a daily cap pushed past their rule on each side."""

    moves: list[Move]
    rotation: int = 0
    capped_before: int = 0
    capped_after: int = 0


def summarise(moves: list[Move]) -> dict[str, dict[str, int]]:
    """Moves per rule (``old -> new``) and per owner (net gain or loss)."""
    by_rule: dict[str, int] = {}
    by_owner: dict[str, int] = {}
    for m in moves:
        key = f"{m.old_rule} -> {m.new_rule}" if m.reason != "action" else f"{m.old_rule} (action changed)"
        by_rule[key] = by_rule.get(key, 0) + 1
        if m.old_owner != m.new_owner:
            by_owner[m.old_owner_name] = by_owner.get(m.old_owner_name, 0) - 1
            by_owner[m.new_owner_name] = by_owner.get(m.new_owner_name, 0) + 1
    return {"by_rule": dict(sorted(by_rule.items(), key=lambda kv: -kv[1])),
            "by_owner": dict(sorted(by_owner.items(), key=lambda kv: kv[1]))}
