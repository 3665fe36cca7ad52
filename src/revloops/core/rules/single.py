"""Evaluate one condition on one flat context, with a per-leaf trace (scoring, plays, any loop that
needs every rule's result rather than the first match).

The condition is compiled by the same code generator the rule engine uses, so a condition means exactly
the same thing here as in a rules file: case-insensitive strings, missing fields false except
``exists: false`` and ``ne``, numbers read from numeric strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from revloops.core.rules.codegen import Walk, build_walk
from revloops.core.rules.conditions import Condition, Leaf, leaves
from revloops.core.rules.trace import ConditionTrace, condition_trace, deciding


class CompiledCondition:
    """One condition compiled once; ``evaluate`` is then a few lookups and comparisons."""

    __slots__ = ("condition", "leaf_list", "_walk_traced", "_walk_plain")

    def __init__(self, condition: Condition) -> None:
        self.condition = condition
        self.leaf_list: list[Leaf] = list(leaves(condition))
        leaf_ids = {id(leaf): i for i, leaf in enumerate(self.leaf_list)}
        self._walk_traced: Walk = build_walk([condition], leaf_ids, traced=True)
        self._walk_plain: Walk = build_walk([condition], leaf_ids, traced=False)

    def holds(self, ctx: Mapping[str, Any]) -> bool:
        """Whether the condition holds (no trace)."""
        return self._walk_plain(ctx.get, None, 0) == 0

    def evaluate(self, ctx: Mapping[str, Any]) -> tuple[bool, list[ConditionTrace]]:
        """Whether the condition holds, and each leaf evaluated (short-circuited leaves are not listed)."""
        raw: list[tuple[int, Any, bool]] = []
        result = self._walk_traced(ctx.get, raw.append, 0) == 0
        return result, [condition_trace(self.leaf_list[i], actual, res) for i, actual, res in raw]

    def evaluate_why(self, ctx: Mapping[str, Any]) -> tuple[bool, list[ConditionTrace], list[str]]:
        """``evaluate`` and, when the condition holds, ``why`` (empty when it does not), from one walk."""
        raw: list[tuple[int, Any, bool]] = []
        result = self._walk_traced(ctx.get, raw.append, 0) == 0
        traces = [condition_trace(self.leaf_list[i], actual, res) for i, actual, res in raw]
        if not result:
            return result, traces, []
        seen = {id(self.leaf_list[i]): (actual, res) for i, actual, res in raw}
        return result, traces, deciding(self.condition, result, seen)

    def why(self, ctx: Mapping[str, Any]) -> list[str]:
        """The tests that decided the result, with the context's actual values
        (``NumberOfEmployees 4200 >= 1000``; ``not geo.country GB in [US, CA]``)."""
        raw: list[tuple[int, Any, bool]] = []
        result = self._walk_traced(ctx.get, raw.append, 0) == 0
        seen = {id(self.leaf_list[i]): (actual, res) for i, actual, res in raw}
        return deciding(self.condition, result, seen)


@lru_cache(maxsize=4096)
def compile_condition(condition: Condition) -> CompiledCondition:
    """The compiled form of a parsed condition (cached: conditions are immutable and hashable)."""
    return CompiledCondition(condition)


def evaluate_condition(condition: Condition, ctx: Mapping[str, Any]) -> tuple[bool, list[ConditionTrace]]:
    """Evaluate a parsed condition on a flat context (dotted path -> value).

    Args:
        condition: a condition from ``parse_condition``.
        ctx: the evaluation context, e.g. from ``build_context``.

    Returns:
        Whether it holds, and one ``ConditionTrace`` per leaf evaluated (field, op, expected, actual, result).
    """
    return compile_condition(condition).evaluate(ctx)
