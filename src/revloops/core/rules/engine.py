"""The rule engine's single-record path: compile once, walk rules in priority order, first match wins.

The matched rule's action goes to a resolver (the loop's handlers); when it cannot resolve an owner,
``on_unresolved`` decides: ``next`` keeps walking from the following rule, ``pending`` stops with
``pending:<rule id>``. The walk records raw tuples; ``RuleOutcome.trace`` and ``.explanation`` build
the models and the human line only when read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import polars as pl
from pydantic_core import to_jsonable_python

from revloops.core.rules.codegen import build_walk
from revloops.core.rules.conditions import Condition, Leaf, leaves
from revloops.core.rules.matrix import first_true, match_matrix, rule_arrays
from revloops.core.rules.schema import Rule, RulesFile
from revloops.core.rules.trace import (
    HandlerTrace,
    RuleStep,
    condition_fields,
    condition_trace,
    expected_of,
    explain,
)

UNROUTED = "pending:unrouted"


@dataclass(frozen=True, slots=True)
class HandlerResult:
    """What a handler answers for one record.

    Attributes:
        owner_id: the resolved owner (005 user, 00G queue, or ``pending:<reason>``); ``None`` if unresolved.
        reason: why it could not resolve (for the trace), when ``owner_id`` is ``None``.
        detail: facts for the trace (territory, candidates, chosen, why).
        summary: the tail of the explanation line, e.g. ``territory EMEA_UKI -> AE Ava Chen``.
        error: set when the handler raised; the record then walks on as unresolved.
    """

    owner_id: str | None
    reason: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    summary: str | None = None
    error: str | None = None


Action = Any
Resolver = Callable[[Action, Mapping[str, Any]], HandlerResult]


class BatchResolver(Protocol):
    """A resolver the batch path can memoise: ``depends_on`` names the context fields an action's
    result depends on (``()``: none), or ``None`` when it is stateful (a rotation) and must run per
    record, in record order, exactly as the single path does."""

    def __call__(self, action: Action, ctx: Mapping[str, Any]) -> HandlerResult: ...

    def depends_on(self, action: Action) -> tuple[str, ...] | None: ...


def _call(resolve: Resolver, action: Action, ctx: Mapping[str, Any]) -> HandlerResult:
    try:
        return resolve(action, ctx)
    except Exception as exc:  # noqa: BLE001 - a failing handler must not lose the record; it is traced
        message = f"{type(exc).__name__}: {exc}"
        return HandlerResult(None, reason=f"handler failed ({message})", error=message)


def _json(value: Any) -> Any:
    """``value`` as pydantic's JSON mode dumps it (NaN and infinities as null), without a call for plain values."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return value
    if kind is float:
        return value if value - value == 0 else None  # NaN and infinities give NaN here
    return to_jsonable_python(value, inf_nan_mode="null")


def _handler(rule: Rule, res: HandlerResult) -> dict[str, Any]:
    return {"type": rule.action.type, "owner_id": res.owner_id, "reason": res.reason, "error": res.error,
            "detail": dict(res.detail)}


class RuleOutcome:
    """The result of one evaluation: owner, deciding rule, and (lazily) the trace and explanation."""

    __slots__ = ("owner_id", "rule_id", "action", "_rules", "_ctx", "_raw", "_steps", "__dict__")

    def __init__(self, rules: CompiledRules, ctx: Mapping[str, Any], raw: list[tuple[int, Any, bool]] | None,
                 steps: list[tuple[int, HandlerResult]], owner_id: str, rule_index: int) -> None:
        self.owner_id = owner_id
        self.rule_id = rules.rules[rule_index].id if rule_index >= 0 else None
        self.action = rules.rules[rule_index].action.type if rule_index >= 0 else None
        self._rules, self._ctx, self._raw, self._steps = rules, ctx, raw, steps

    @property
    def handler_result(self) -> HandlerResult | None:
        """The last handler's answer (the deciding one)."""
        return self._steps[-1][1] if self._steps else None

    def _walked(self) -> list[tuple[int, list[tuple[int, Any, bool]], HandlerResult | None]]:
        """Per rule walked: its index, its evaluated leaves (raw), and its handler's answer when it held."""
        if self._raw is None:
            raise ValueError("this outcome was evaluated with trace=False")
        rules = self._rules
        by_rule: dict[int, list[tuple[int, Any, bool]]] = {}
        for item in self._raw:
            by_rule.setdefault(rules.leaf_rule[item[0]], []).append(item)
        handlers = dict(self._steps)
        last = self._steps[-1][0] if self._steps and self.rule_id is not None else len(rules.rules) - 1
        return [(k, by_rule.get(k, []), handlers.get(k)) for k in range(last + 1)]

    @cached_property
    def trace(self) -> list[RuleStep]:
        """Every rule walked, in order, with its evaluated conditions and, when it held, its handler."""
        rules = self._rules
        leaf, expected = rules.leaf_list, rules.leaf_expected
        return [
            RuleStep(
                rule_id=rules.rules[k].id, matched=res is not None,
                conditions=[condition_trace(leaf[li], actual, result, expected[li]) for li, actual, result in raw],
                handler=None if res is None else HandlerTrace(**_handler(rules.rules[k], res)),
            )
            for k, raw, res in self._walked()
        ]

    def trace_json(self) -> list[dict[str, Any]]:
        """The trace as JSON-ready dicts, exactly ``[s.model_dump(mode="json") for s in trace]``, built
        straight from the raw tuples (what a stored decision keeps)."""
        rules = self._rules
        leaf, expected = rules.leaf_list, rules.leaf_expected_json
        steps = []
        for k, raw, res in self._walked():
            conditions = []
            for li, actual, result in raw:
                one = condition_fields(leaf[li], actual, result, expected[li])
                one["actual"] = _json(actual)
                conditions.append(one)
            handler = None if res is None else _handler(rules.rules[k], res)
            if handler is not None and handler["detail"]:
                handler["detail"] = _json(handler["detail"])
            steps.append({"rule_id": rules.rules[k].id, "matched": res is not None, "conditions": conditions,
                          "handler": handler})
        return steps

    @cached_property
    def explanation(self) -> str:
        """``Matched emea-enterprise (geo.country GB in [GB, DE]; NumberOfEmployees 4200 >= 1000) -> ...``."""
        seen: dict[int, tuple[Any, bool]] = {}
        if self._raw is not None:
            for li, actual, result in self._raw:
                seen[id(self._rules.leaf_list[li])] = (actual, result)
        skipped = [(self._rules.rules[k].id, res.reason or "unresolved") for k, res in self._steps
                   if res.owner_id is None]
        if self.rule_id is None:
            return explain(None, None, seen, None, skipped)
        k, res = self._steps[-1]
        if res.owner_id is None:
            skipped, summary = skipped[:-1], f"unresolved ({res.reason}) -> {self.owner_id}"
        else:
            summary = res.summary or f"{self.action} -> {self.owner_id}"
        return explain(self.rule_id, self._rules.rules[k].condition, seen, summary, skipped)


class CompiledRules:
    """Rules compiled for one record type, ready to evaluate one record or a frame of them."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self.leaf_list: list[Leaf] = []
        self.leaf_rule: list[int] = []
        leaf_ids: dict[int, int] = {}
        for k, rule in enumerate(rules):
            for leaf in leaves(rule.condition):
                leaf_ids[id(leaf)] = len(self.leaf_list)
                self.leaf_list.append(leaf)
                self.leaf_rule.append(k)
        self.leaf_expected = [expected_of(leaf) for leaf in self.leaf_list]
        self.leaf_expected_json = [_json(e) for e in self.leaf_expected]
        conditions: list[Condition | None] = [r.condition for r in rules]
        self._walk_traced = build_walk(conditions, leaf_ids, traced=True)
        self._walk_plain = build_walk(conditions, leaf_ids, traced=False)
        self._pending_on_miss = [r.on_unresolved == "pending" for r in rules]
        self._actions = [r.action for r in rules]

    @property
    def fields(self) -> list[str]:
        """Every context field any rule reads, in first-use order."""
        return list(dict.fromkeys(leaf.field for leaf in self.leaf_list))

    def match_matrix(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The batch path: one Boolean column per rule (named by rule id) over a frame of contexts."""
        return match_matrix([(r.id, r.condition) for r in self.rules], frame)

    def match_columns(self, frame: pl.DataFrame) -> list[np.ndarray]:
        """The batch path: per rule, a NumPy Boolean array of whether it holds on each row."""
        return rule_arrays([r.condition for r in self.rules], frame)

    def first_match(self, frame: pl.DataFrame) -> np.ndarray:
        """The batch path: per row, the index into ``rules`` of the first holding rule, or -1."""
        return first_true(self.match_columns(frame), frame.height)

    def first_holding(self, ctx: Mapping[str, Any], start: int = 0) -> int:
        """The index of the first rule at or after ``start`` whose condition holds, or -1."""
        return self._walk_plain(ctx.get, None, start)

    def evaluate(self, ctx: Mapping[str, Any], resolve: Resolver, *, trace: bool = True) -> RuleOutcome:
        """Route one record.

        Args:
            ctx: the flat evaluation context (dotted field path -> value).
            resolve: the handlers; called with the matched rule's action and the context.
            trace: record each evaluated condition (cheap tuples; models are built on demand).

        Returns:
            The outcome: ``owner_id`` (``pending:<rule id>`` or ``pending:unrouted`` when nothing resolved),
            ``rule_id``, ``action``, and lazily ``trace`` and ``explanation``.
        """
        get = ctx.get
        raw: list[tuple[int, Any, bool]] | None = [] if trace else None
        walk = self._walk_plain if raw is None else self._walk_traced
        append = None if raw is None else raw.append
        steps: list[tuple[int, HandlerResult]] = []
        start = 0
        while True:
            k = walk(get, append, start)
            if k < 0:
                return RuleOutcome(self, ctx, raw, steps, UNROUTED, -1)
            res = _call(resolve, self._actions[k], ctx)
            steps.append((k, res))
            if res.owner_id is not None:
                return RuleOutcome(self, ctx, raw, steps, res.owner_id, k)
            if self._pending_on_miss[k]:
                return RuleOutcome(self, ctx, raw, steps, f"pending:{self.rules[k].id}", k)
            start = k + 1


def compile_rules(rules: RulesFile, object_type: str | None = None) -> CompiledRules:
    """Compile a rules file for one record type (``None``: keep every rule).

    A rule whose ``objects`` is set applies only to those types; the order is by priority.
    """
    chosen = [r for r in rules.ordered()
              if object_type is None or r.objects is None or object_type in r.objects]
    return CompiledRules(chosen)

