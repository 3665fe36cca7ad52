"""The decision trace: frozen models built from the raw tuples of a walk, and the explanation line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from revloops.core.model import Frozen
from revloops.core.rules.conditions import ORDER_OPS, SYMBOLS, AllOf, Condition, Leaf, NotOf
from revloops.core.rules.values import as_date, as_number, is_missing


class ConditionTrace(Frozen):
    """One evaluated test: what was expected, what the record had, and the result."""

    field: str
    op: str
    expected: Any
    actual: Any
    result: bool
    missing: bool = False
    note: str | None = None


class HandlerTrace(Frozen):
    """What the matched rule's handler did: the owner, or why it could not resolve one."""

    type: str
    owner_id: str | None = None
    reason: str | None = None
    error: str | None = None
    detail: dict[str, Any] = {}


class RuleStep(Frozen):
    """One rule walked: whether it held, its evaluated conditions, and its handler when it held."""

    rule_id: str
    matched: bool
    conditions: list[ConditionTrace]
    handler: HandlerTrace | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _note(leaf: Leaf, actual: Any) -> str | None:
    if is_missing(actual):
        return "field missing"
    probe = leaf.value[0] if leaf.op == "between" else leaf.value
    if leaf.op in ORDER_OPS or leaf.op == "between":
        if isinstance(probe, date) and as_date(actual) is None:
            return "not a date"
        if not isinstance(probe, date) and as_number(actual) is None:
            return "not a number"
    return None


def expected_of(leaf: Leaf) -> Any:
    """A leaf's expected value as the trace shows it (lists for tuples, whole floats as ints)."""
    return _plain(leaf.value)


def condition_fields(leaf: Leaf, actual: Any, result: bool, expected: Any) -> dict[str, Any]:
    """The fields of one evaluated leaf's trace, in ``ConditionTrace`` order."""
    return {"field": leaf.field, "op": leaf.op, "expected": expected, "actual": actual, "result": bool(result),
            "missing": is_missing(actual), "note": _note(leaf, actual)}


def condition_trace(leaf: Leaf, actual: Any, result: bool, expected: Any = None) -> ConditionTrace:
    """The trace model of one evaluated leaf (``expected``: ``expected_of(leaf)``, when precomputed).

    Validated construction is kept: pydantic's ``model_construct`` is pure Python and measured slower."""
    exp = expected_of(leaf) if expected is None else expected
    return ConditionTrace(**condition_fields(leaf, actual, result, exp))


def _fmt(value: Any) -> str:
    if isinstance(value, tuple | list | frozenset):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def describe_leaf(leaf: Leaf, actual: Any, negated: bool = False) -> str:
    """``NumberOfEmployees 4200 >= 1000``; ``Email missing``; ``not geo.country GB in [US, CA]``."""
    if leaf.op == "exists":
        present = not is_missing(actual)
        return f"{leaf.field} {'present' if present else 'missing'}"
    shown = "(missing)" if is_missing(actual) else _fmt(actual)
    if leaf.op == "between":
        text = f"{leaf.field} {shown} between {_fmt(leaf.value[0])} and {_fmt(leaf.value[1])}"
    else:
        text = f"{leaf.field} {shown} {SYMBOLS[leaf.op]} {_fmt(leaf.value)}"
    return f"not {text}" if negated else text


def _value(cond: Condition, seen: dict[int, tuple[Any, bool]]) -> bool | None:
    if isinstance(cond, Leaf):
        hit = seen.get(id(cond))
        return None if hit is None else hit[1]
    if isinstance(cond, NotOf):
        inner = _value(cond.item, seen)
        return None if inner is None else not inner
    values = [_value(i, seen) for i in cond.items]
    if isinstance(cond, AllOf):
        return False if False in values else (None if None in values else True)
    return True if True in values else (None if None in values else False)


def deciding(cond: Condition, want: bool, seen: dict[int, tuple[Any, bool]]) -> list[str]:
    """The tests that made ``cond`` come out as ``want``, each with the record's actual value."""
    if isinstance(cond, Leaf):
        actual = seen.get(id(cond), (None, False))[0]
        return [describe_leaf(cond, actual, negated=not want)]
    if isinstance(cond, NotOf):
        return deciding(cond.item, not want, seen)
    conjunctive = isinstance(cond, AllOf) == want
    if conjunctive:  # all true, or any false: every item counts
        return [s for item in cond.items for s in deciding(item, want, seen)]
    for item in cond.items:  # the first item that settled it
        if _value(item, seen) is want:
            return deciding(item, want, seen)
    return []


def explain(rule_id: str | None, cond: Condition | None, seen: dict[int, tuple[Any, bool]],
            summary: str | None, skipped: Sequence[tuple[str, str]]) -> str:
    """The one-line explanation: the rule, its deciding tests with actual values, and the owner."""
    before = "".join(f"{rid} matched but {why}; " for rid, why in skipped)
    if rule_id is None:
        return f"{before}No rule matched -> pending:unrouted"
    why = "; ".join(deciding(cond, True, seen)) if cond is not None else "always"
    return f"{before}Matched {rule_id} ({why})" + (f" -> {summary}" if summary else "")

