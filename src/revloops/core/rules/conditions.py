"""Conditions: the parsed form of a rule's ``when`` and the parser that checks it at load.

A condition is ``{FIELD: {OP: VALUE}}``, ``all: [...]``, ``any: [...]`` or ``not: <condition>``.
Parsing reports every problem with its exact path inside the condition, so the config loader can
point at the line of the offending operator.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeAlias

from revloops.core.rules.regex import compile_search

OPS = (
    "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between",
    "contains", "starts_with", "ends_with", "matches", "exists",
)
ORDER_OPS = frozenset({"gt", "gte", "lt", "lte"})
TEXT_OPS = frozenset({"contains", "starts_with", "ends_with", "matches"})
SYMBOLS = {
    "eq": "=", "ne": "!=", "in": "in", "not_in": "not in", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=",
    "between": "between", "contains": "contains", "starts_with": "starts with", "ends_with": "ends with",
    "matches": "matches", "exists": "exists",
}
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

Scalar: TypeAlias = str | bool | int | float | date
Loc: TypeAlias = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Leaf:
    """One test of one field. ``value`` is normalised: lists become tuples, datetimes become dates."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class AllOf:
    """True when every item holds (an empty list holds)."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    """True when at least one item holds (an empty list does not)."""

    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class NotOf:
    """True when the item does not hold."""

    item: Condition


Condition: TypeAlias = Leaf | AllOf | AnyOf | NotOf


class ConditionProblems(Exception):
    """Every problem found in one condition, each as (path inside the condition, message)."""

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems


def leaves(cond: Condition | None) -> Iterator[Leaf]:
    """The leaves of a condition, depth first, in the order they are written."""
    if cond is None:
        return
    if isinstance(cond, Leaf):
        yield cond
    elif isinstance(cond, NotOf):
        yield from leaves(cond.item)
    else:
        for item in cond.items:
            yield from leaves(item)


def parse_condition(raw: Any) -> Condition:
    """Parse and check a raw ``when`` mapping.

    Raises:
        ConditionProblems: all problems, each with its path relative to ``when``.
    """
    problems: list[tuple[Loc, str]] = []
    cond = _parse(raw, (), problems)
    if problems or cond is None:
        raise ConditionProblems(problems or [((), "empty condition")])
    return cond


def _parse(raw: Any, loc: Loc, problems: list[tuple[Loc, str]]) -> Condition | None:
    if not isinstance(raw, dict) or not raw:
        problems.append((loc, "a condition is a mapping: {FIELD: {OP: VALUE}}, all: [...], any: [...] or not: {...}"))
        return None
    if len(raw) != 1:
        keys = ", ".join(str(k) for k in raw)
        problems.append((loc, f"a condition has exactly one key (got {keys}); combine several with all: [...]"))
        return None
    (key, body), = raw.items()
    key = str(key)
    if key in ("all", "any"):
        if not isinstance(body, list):
            problems.append(((*loc, key), f"{key} takes a list of conditions"))
            return None
        items = tuple(_parse(item, (*loc, key, i), problems) for i, item in enumerate(body))
        clean = tuple(i for i in items if i is not None)
        return AllOf(clean) if key == "all" else AnyOf(clean)
    if key == "not":
        inner = _parse(body, (*loc, key), problems)
        return NotOf(inner) if inner is not None else None
    return _parse_leaf(key, body, (*loc, key), problems)


def _parse_leaf(field: str, body: Any, loc: Loc, problems: list[tuple[Loc, str]]) -> Leaf | None:
    if not _FIELD.fullmatch(field):
        problems.append((loc, f"{field!r} is not a field path (dotted names such as geo.country)"))
        return None
    if not isinstance(body, dict) or len(body) != 1:
        problems.append((loc, f"{field}: expects exactly one operator, as {{OP: VALUE}}"))
        return None
    (op, value), = body.items()
    op = str(op)
    if op not in OPS:
        problems.append(((*loc, op), f"unknown operator {op!r}; one of: {', '.join(OPS)}"))
        return None
    try:
        return Leaf(field, op, _check_value(op, value))
    except ValueError as exc:
        problems.append(((*loc, op), f"{field} {op}: {exc}"))
        return None


def _scalar(value: Any, what: str) -> Scalar:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, float) and math.isnan(value):
        raise ValueError(f"{what} cannot be NaN")
    if isinstance(value, str | bool | int | float | date):
        return value
    if value is None:
        raise ValueError(f"{what} cannot be null (use exists: false to test a missing field)")
    raise ValueError(f"{what} must be a string, number, boolean or date, got {type(value).__name__}")


def _orderable(value: Any, op: str) -> float | date:
    if isinstance(value, bool):
        raise ValueError(f"type mismatch: {op} needs a number or a date, got a boolean")
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"type mismatch: {op} needs a number or a date (YYYY-MM-DD), got {value!r}")


def _check_value(op: str, value: Any) -> Any:
    if op in ("eq", "ne"):
        return _scalar(value, "the value")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ValueError(f"{op} needs a non-empty list, got {value!r}")
        return tuple(_scalar(v, "each item") for v in value)
    if op in ORDER_OPS:
        return _orderable(value, op)
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(f"between needs a pair [low, high], got {value!r}")
        lo, hi = _orderable(value[0], op), _orderable(value[1], op)
        if type(lo) is not type(hi):
            raise ValueError("type mismatch: between needs two numbers or two dates")
        if lo > hi:  # type: ignore[operator]
            raise ValueError(f"between needs low <= high, got {value!r}")
        return (lo, hi)
    if op == "exists":
        if not isinstance(value, bool):
            raise ValueError(f"exists takes true or false, got {value!r}")
        return value
    if not isinstance(value, str) or not value:
        raise ValueError(f"type mismatch: {op} needs a non-empty string, got {value!r}")
    if op == "matches":
        compile_search(value)  # RE2, as both paths will run it; a ValueError says why it cannot
    return value
