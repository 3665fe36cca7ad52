"""The batch path's match matrix: every distinct test computed once, rules combined as array logic.

Two ways to compute a field's tests, with the same expressions (``batch.leaf_expr``) and so one meaning:

- a field held in one dictionary-encoded text column (``contexts_to_frame`` encodes text whose values
  repeat: countries, sources, titles, segments) is tested on its distinct values only and the results
  are gathered back by code, so a field read by thirteen tests costs no pass over its strings at all;
- any other field (numbers, booleans, dates, mixed kinds, text that hardly repeats) is tested over the
  whole frame in one lazy Polars query.

Conditions are then combined with NumPy Boolean operations on the per-test arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from revloops.core.rules.batch import _Views, _views_needed, leaf_expr
from revloops.core.rules.conditions import AllOf, AnyOf, Condition, Leaf, NotOf
from revloops.core.rules.conditions import leaves as _leaves

_LARGE = 2  # a dictionary this many times the frame's height is read through the column's own values


def _typed(value: Any) -> Any:
    """A key that tells ``True`` from ``1`` and ``1.0`` (equal, and equally hashed, in Python)."""
    if isinstance(value, tuple):
        return tuple(_typed(v) for v in value)
    return (type(value).__name__, value)


def leaf_key(leaf: Leaf) -> tuple[Any, ...]:
    """Identity of a test: two leaves with the same key give the same column."""
    return (leaf.field, leaf.op, _typed(leaf.value))


def _encoded_column(frame: pl.DataFrame, name: str) -> str | None:
    """The single dictionary-encoded text column holding ``name``, when its dictionary is small enough to
    test whole (a frame from ``contexts_to_frame`` has its own; the process-wide one may be huge)."""
    cols = [c for c in frame.columns if c == name or c.startswith(name + "@")]
    if len(cols) != 1 or frame.schema[cols[0]].base_type() != pl.Categorical:
        return None
    size = len(frame.schema[cols[0]].categories.to_series())  # type: ignore[attr-defined]
    return cols[0] if size <= _LARGE * frame.height + 1024 else None


def _evaluate(frame: pl.DataFrame, tests: Sequence[Leaf]) -> list[np.ndarray]:
    """Each test over every row of ``frame``, by the shared expressions."""
    needed: dict[str, set[str]] = {}
    for leaf in tests:
        needed.setdefault(leaf.field, set()).update(_views_needed(leaf))
    views = _Views(frame.schema, needed)
    names = [f"__t{i}" for i in range(len(tests))]
    # with_columns (not select) so that a test that reads no column still broadcasts to every row
    out = (frame.lazy().with_columns(**views.exprs)
           .with_columns([leaf_expr(leaf).alias(h) for h, leaf in zip(names, tests, strict=True)])
           .select(names).collect())
    return [out.get_column(h).to_numpy().astype(bool, copy=False) for h in names]


def _gather(results: list[np.ndarray], slots: np.ndarray, size: int, codes: np.ndarray) -> list[np.ndarray]:
    """Per test, its result on each distinct value gathered out to every row by code (one gather of
    packed bits when a field has several tests)."""
    if len(results) == 1:
        table = np.zeros(size, dtype=bool)
        table[slots] = results[0]
        return [table[codes]]
    dtype = np.uint8 if len(results) <= 8 else np.uint64
    packed: np.ndarray[Any, Any] = np.zeros(size, dtype=dtype)
    bits = [np.array(1 << j, dtype=dtype) for j in range(len(results))]
    for j, res in enumerate(results):
        packed[slots] |= np.where(res, bits[j], np.zeros((), dtype=dtype))
    rows = packed[codes]
    return [(rows & bits[j]).astype(bool) for j in range(len(results))]


def _encoded(frame: pl.DataFrame, strings: pl.Series, fields: dict[str, list[Leaf]],
             cols: dict[str, str]) -> dict[str, list[np.ndarray]]:
    """The tests of dictionary-encoded text fields sharing the dictionary ``strings`` (indexed by code):
    run once on those strings plus a null, then gathered back to the rows by code."""
    values = pl.concat([strings, pl.Series([None], dtype=pl.String)])
    small = pl.DataFrame({cols[name]: values for name in fields})
    flat = iter(_evaluate(small, [leaf for group in fields.values() for leaf in group]))
    slots = np.arange(values.len())
    out: dict[str, list[np.ndarray]] = {}
    for name, group in fields.items():
        results = [next(flat) for _ in group]
        # NumPy gathers with its own index type: convert once per field, not once per gather
        codes = frame.get_column(cols[name]).to_physical().fill_null(values.len() - 1).to_numpy().astype(np.intp)
        out[name] = _gather(results, slots, values.len(), codes)
    return out


def leaf_arrays(tests: Sequence[Leaf], frame: pl.DataFrame) -> dict[tuple[Any, ...], np.ndarray]:
    """Each distinct test's Boolean array over ``frame``, keyed by ``leaf_key``."""
    distinct = {leaf_key(t): t for t in tests}
    by_field: dict[str, list[Leaf]] = {}
    for leaf in distinct.values():
        by_field.setdefault(leaf.field, []).append(leaf)
    result: dict[tuple[Any, ...], np.ndarray] = {}
    direct: list[Leaf] = []
    shared: dict[Any, tuple[dict[str, list[Leaf]], dict[str, str]]] = {}
    for name, group in by_field.items():
        col = _encoded_column(frame, name)
        if col is None:
            direct.extend(group)
            continue
        fields, cols = shared.setdefault(frame.schema[col].categories, ({}, {}))  # type: ignore[attr-defined]
        fields[name], cols[name] = group, col
    for categories, (fields, cols) in shared.items():
        for name, arrays in _encoded(frame, categories.to_series(), fields, cols).items():
            for leaf, arr in zip(fields[name], arrays, strict=True):
                result[leaf_key(leaf)] = arr
    if direct:
        for leaf, arr in zip(direct, _evaluate(frame, direct), strict=True):
            result[leaf_key(leaf)] = arr
    return result


def _combine(cond: Condition | None, tests: dict[tuple[Any, ...], np.ndarray], n: int) -> np.ndarray:
    if cond is None:
        return np.ones(n, dtype=bool)
    if isinstance(cond, Leaf):
        return tests[leaf_key(cond)]
    if isinstance(cond, NotOf):
        return ~_combine(cond.item, tests, n)
    items = [_combine(c, tests, n) for c in cond.items]
    if not items:
        return np.full(n, isinstance(cond, AllOf), dtype=bool)
    acc = items[0].copy()
    for arr in items[1:]:
        if isinstance(cond, AllOf):
            acc &= arr
        else:
            acc |= arr
    assert isinstance(cond, AllOf | AnyOf)
    return acc


def rule_arrays(conditions: Sequence[Condition | None], frame: pl.DataFrame) -> list[np.ndarray]:
    """Per rule, whether its condition holds on each row of ``frame`` (a NumPy Boolean array)."""
    tests = [leaf for cond in conditions for leaf in _leaves(cond)]
    computed = leaf_arrays(tests, frame)
    return [_combine(cond, computed, frame.height) for cond in conditions]


def match_matrix(conditions: Sequence[tuple[str, Condition | None]], frame: pl.DataFrame) -> pl.DataFrame:
    """One Boolean column per rule (named by rule id): whether its condition holds for each row."""
    arrays = rule_arrays([c for _, c in conditions], frame)
    return pl.DataFrame({rule_id: arr for (rule_id, _), arr in zip(conditions, arrays, strict=True)},
                        schema={rule_id: pl.Boolean for rule_id, _ in conditions})


def first_true(columns: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Per row, the index of the first column that is True there, or -1."""
    first = np.full(n, -1, dtype=np.int64)
    for k in range(len(columns) - 1, -1, -1):
        first[columns[k]] = k
    return first

