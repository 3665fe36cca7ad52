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
    actions: dict[str, str]


class Preview(Frozen):
    """A preview's summary: counts per rule and per owner."""

    total: int
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


def summarise(moves: list[Move]) -> dict[str, dict[str, int]]:
    """Moves per rule (``old -> new``) and per owner (net gain or loss)."""
    by_rule: dict[str, int] = {}
    by_owner: dict[str, int] = {}
    for m in moves:
        key = f"{m.old_rule} -> {m.new_rule}"
        by_rule[key] = by_rule.get(key, 0) + 1
        if m.old_owner != m.new_owner:
            by_owner[m.old_owner_name] = by_owner.get(m.old_owner_name, 0) - 1
            by_owner[m.new_owner_name] = by_owner.get(m.new_owner_name, 0) + 1
    return {"by_rule": dict(sorted(by_rule.items(), key=lambda kv: -kv[1])),
            "by_owner": dict(sorted(by_owner.items(), key=lambda kv: kv[1]))}
