"""Compile a list of rule conditions into one Python function that walks them.

The conditions are turned into straight-line Python source once, at load, so evaluating a record
is a chain of dictionary lookups and comparisons with no per-record parsing or dispatch. The traced
variant appends one ``(leaf index, actual, result)`` tuple per evaluated leaf; that list is the raw
trace, turned into models only when someone asks for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from revloops.core.rules.conditions import AllOf, Condition, Leaf, NotOf
from revloops.core.rules.regex import compile_search
from revloops.core.rules.values import as_bool, as_date, as_number

Walk = Callable[[Callable[[str], Any], Any, int], int]
#: the deepest block generated code opens; a deeper condition becomes a function of its own, and a wider
#: ``all``/``any`` goes on flat, each item behind its own guard (Python refuses 100 nested blocks)
MAX_DEPTH = 40


class _Source:
    """Accumulates generated lines, the helper functions deep conditions become, and the constants."""

    def __init__(self, parent: _Source | None = None) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = parent.consts if parent else {}
        self.helpers: list[list[str]] = parent.helpers if parent else []

    def const(self, value: Any) -> str:
        name = f"k{len(self.consts)}"
        self.consts[name] = value
        return name

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)


def _kind_tests(src: _Source, values: Sequence[Any], depth: int) -> str:
    """An expression over ``a`` true when ``a`` equals one of ``values`` (typed, case-insensitive)."""
    strs = {v.lower() for v in values if isinstance(v, str)}
    bools = {v for v in values if isinstance(v, bool)}
    nums = {float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)}
    dates = {v for v in values if isinstance(v, date)}
    tests = []
    if strs:
        tests.append(
            f"(isinstance(a, str) and a.lower() == {src.const(next(iter(strs)))})" if len(strs) == 1
            else f"(isinstance(a, str) and a.lower() in {src.const(frozenset(strs))})"
        )
    if nums:
        src.emit(depth, "n = a if (a.__class__ is int or a.__class__ is float) else _num(a)")
        tests.append(f"(n is not None and n in {src.const(frozenset(nums))})")
    if bools:
        tests.append(f"(_bool(a) in {src.const(frozenset(bools))})")
    if dates:
        tests.append(f"(_date(a) in {src.const(frozenset(dates))})")
    return " or ".join(tests)


def _ordered(src: _Source, leaf: Leaf, depth: int) -> str:
    value = leaf.value[0] if leaf.op == "between" else leaf.value
    if isinstance(value, date):
        src.emit(depth, "n = _date(a)")
    else:
        src.emit(depth, "n = a if (a.__class__ is int or a.__class__ is float) else _num(a)")
    if leaf.op == "between":
        lo, hi = src.const(leaf.value[0]), src.const(leaf.value[1])
        return f"n is not None and {lo} <= n <= {hi}"
    sym = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[leaf.op]
    return f"n is not None and n {sym} {src.const(value)}"


def _leaf_expr(src: _Source, leaf: Leaf, depth: int) -> str:
    op = leaf.op
    if op in ("eq", "ne"):
        test = _kind_tests(src, [leaf.value], depth)
        return f"not ({test})" if op == "ne" else test
    if op in ("in", "not_in"):
        test = _kind_tests(src, list(leaf.value), depth)
        return f"not (a is None or a != a) and not ({test})" if op == "not_in" else test
    if op in ("gt", "gte", "lt", "lte", "between"):
        return _ordered(src, leaf, depth)
    if op == "exists":
        return "not (a is None or a != a)" if leaf.value else "(a is None or a != a)"
    if op == "matches":
        search = src.const(compile_search(leaf.value))
        return f"isinstance(a, str) and {search}(a)"
    needle = src.const(leaf.value.lower())
    if op == "contains":
        return f"isinstance(a, str) and {needle} in a.lower()"
    method = "startswith" if op == "starts_with" else "endswith"
    return f"isinstance(a, str) and a.lower().{method}({needle})"


def _helper(src: _Source, cond: Condition, traced: bool, leaf_ids: dict[int, int]) -> str:
    """A module-level function ``h<n>(g, t)`` that answers ``cond`` (its body starts shallow again)."""
    child = _Source(src)
    name = f"h{len(src.helpers)}"
    src.helpers.append([])  # reserve the name before nested helpers take theirs
    slot = len(src.helpers) - 1
    child.emit(0, f"def {name}(g, t):")
    _emit(child, cond, 1, traced, leaf_ids)
    child.emit(1, "return r")
    src.helpers[slot] = child.lines
    return name


def _emit(src: _Source, cond: Condition, depth: int, traced: bool, leaf_ids: dict[int, int]) -> None:
    """Emit statements that leave the condition's value in ``r`` (short-circuiting)."""
    if depth >= MAX_DEPTH and not isinstance(cond, Leaf):
        src.emit(depth, f"r = {_helper(src, cond, traced, leaf_ids)}(g, t)")
        return
    if isinstance(cond, Leaf):
        src.emit(depth, f"a = g({cond.field!r})")
        expr = _leaf_expr(src, cond, depth)
        src.emit(depth, f"r = {expr}")
        if traced:
            src.emit(depth, f"t(({leaf_ids[id(cond)]}, a, r))")
        return
    if isinstance(cond, NotOf):
        _emit(src, cond.item, depth, traced, leaf_ids)
        src.emit(depth, "r = not r")
        return
    if not cond.items:
        src.emit(depth, f"r = {isinstance(cond, AllOf)}")
        return
    guard = "if r:" if isinstance(cond, AllOf) else "if not r:"
    d = depth
    for i, item in enumerate(cond.items):
        if i:
            src.emit(d, guard)
            if d + 1 < MAX_DEPTH:  # nested: one failing item skips the rest at once
                d += 1
                _emit(src, item, d, traced, leaf_ids)
                continue
            _emit(src, item, d + 1, traced, leaf_ids)  # flat: each later item behind its own guard
            continue
        _emit(src, item, d, traced, leaf_ids)


def build_walk(conditions: Sequence[Condition | None], leaf_ids: dict[int, int], traced: bool) -> Walk:
    """One function ``walk(get, trace_append, start) -> index of the first holding rule >= start, or -1``.

    Args:
        conditions: each rule's condition in evaluation order (``None``: always true).
        leaf_ids: ``id(leaf) -> global leaf index`` for the trace.
        traced: whether the function records ``(leaf index, actual, result)`` through ``trace_append``.
    """
    src = _Source()
    src.emit(0, "def walk(g, t, start):")
    for k, cond in enumerate(conditions):
        src.emit(1, f"if start <= {k}:")
        if cond is None:
            src.emit(2, f"return {k}")
            continue
        _emit(src, cond, 2, traced, leaf_ids)
        src.emit(2, "if r:")
        src.emit(3, f"return {k}")
    src.emit(1, "return -1")
    namespace: dict[str, Any] = {"_num": as_number, "_bool": as_bool, "_date": as_date, **src.consts}
    code = compile("\n".join([line for helper in src.helpers for line in helper] + src.lines), "<rules>", "exec")
    exec(code, namespace)  # noqa: S102 - source generated above from validated conditions only
    return namespace["walk"]  # type: ignore[no-any-return]
