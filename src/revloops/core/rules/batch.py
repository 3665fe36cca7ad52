"""The batch path: the same conditions as vectorised Polars expressions over a frame of contexts.

A frame has one column per dotted field path. A field whose values are of mixed kinds (a number in
one record, a string in another) is split into ``field@str``, ``field@num``, ``field@bool``,
``field@date`` and ``field@present`` (lists and mappings: presence only); ``contexts_to_frame`` does
that. Each test then reads the typed *views* of a field exactly as ``values.py`` reads one value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import polars as pl

from revloops.core.rules.conditions import AllOf, AnyOf, Condition, Leaf, NotOf
from revloops.core.rules.regex import columnar_pattern, compile_search
from revloops.core.rules.values import DATE_RE, NUMBER_RE, WS, is_missing

_KINDS = ("str", "num", "bool", "date", "present")
_NUMERIC = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64,
            pl.Float32, pl.Float64)


def _kind(value: Any) -> str | None:
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "num"
    if isinstance(value, str):
        return "str"
    if isinstance(value, date):
        return "date"
    return "present"


def _column(kind: str, values: list[Any]) -> pl.Series:
    if kind == "num":
        return pl.Series(values=[None if v is None else float(v) for v in values], dtype=pl.Float64)
    if kind == "date":
        return pl.Series(values=[v.date() if isinstance(v, datetime) else v for v in values], dtype=pl.Date)
    if kind == "present":
        return pl.Series(values=[v is not None for v in values], dtype=pl.Boolean)
    return pl.Series(values=values, dtype={"str": pl.String, "bool": pl.Boolean}[kind])


_NONE = type(None)
_SAMPLE = 20_000  # values read to judge whether a text field's values repeat
_FAST: dict[frozenset[type], Any] = {
    frozenset({str}): pl.String, frozenset({int}): pl.Float64, frozenset({float}): pl.Float64,
    frozenset({int, float}): pl.Float64, frozenset({bool}): pl.Boolean, frozenset({date}): pl.Date,
}


def _repeats(values: list[Any]) -> bool:
    """Whether a text column's values repeat enough for dictionary encoding (judged on a sample)."""
    sample = values[:_SAMPLE]
    return len(sample) >= 64 and len(set(sample)) * 4 <= len(sample)


def text_column(column: pl.Series, categories: pl.Categories | None = None) -> pl.Series:
    """A text column as the batch frame keeps it: dictionary-encoded when its values repeat (judged on a
    sample, as ``contexts_to_frame`` judges a field), so each distinct text is tested once."""
    sample = column.head(_SAMPLE)
    if len(sample) >= 64 and sample.n_unique() * 4 <= len(sample):
        return column.cast(pl.Categorical(categories or pl.Categories.random()))
    return column


def _fast_column(raw: list[Any], categories: pl.Categories) -> pl.Series | None:
    """One typed column straight from the values when they are all of one plain kind (or missing);
    ``None`` when they need the per-value reading (mixed kinds, datetimes, subclasses, containers)."""
    types = set(map(type, raw))
    types.discard(_NONE)
    dtype = _FAST.get(frozenset(types)) if types else pl.String
    if dtype is None:
        return None
    if dtype == pl.String and types and _repeats(raw):
        dtype = pl.Categorical(categories)  # the batch path tests each distinct text once
    try:
        column = pl.Series(values=raw, dtype=dtype, strict=False)
    except (OverflowError, pl.exceptions.PolarsError):
        return None
    return column.fill_nan(None) if dtype == pl.Float64 else column


def contexts_to_frame(contexts: Iterable[Mapping[str, Any]], fields: Sequence[str]) -> pl.DataFrame:
    """Build the batch frame of ``fields`` from flat contexts (one row per context, in order).

    Text that repeats (countries, sources, titles) is stored dictionary-encoded, so the batch path
    reads each distinct value once; values of mixed kinds are split into ``field@kind`` columns.
    """
    rows = list(contexts)
    categories = pl.Categories.random()
    data: dict[str, pl.Series] = {}
    for name in fields:
        raw = [row.get(name) for row in rows]
        fast = _fast_column(raw, categories)
        if fast is not None:
            data[name] = fast
            continue
        kinds = [_kind(v) for v in raw]
        present = {k for k in kinds if k is not None}
        if len(present) <= 1 and "present" not in present:
            kind = next(iter(present), "str")
            data[name] = _column(kind, [v if k else None for v, k in zip(raw, kinds, strict=True)])
            continue
        for kind in _KINDS:
            if kind in present:
                data[f"{name}@{kind}"] = _column(kind, [v if k == kind else None
                                                        for v, k in zip(raw, kinds, strict=True)])
    if not data:  # no field read: keep the row count all the same
        data["__row"] = pl.Series(values=range(len(rows)), dtype=pl.Int64)
    return pl.DataFrame(data)


def _views_needed(leaf: Leaf) -> set[str]:
    """Which typed views of its field a test reads (only those are computed)."""
    op, value = leaf.op, leaf.value
    if op in ("exists",):
        return {"p"}
    if op == "matches":
        return {"s"}
    if op in ("contains", "starts_with", "ends_with"):
        return {"l"}
    probe = value[0] if op == "between" else value
    if op in ("gt", "gte", "lt", "lte", "between"):
        return {"d"} if isinstance(probe, date) else {"n"}
    items = [value] if op in ("eq", "ne") else list(value)
    needed = {"p"} if op == "not_in" else set()
    for v in items:
        needed.add("l" if isinstance(v, str) else "b" if isinstance(v, bool) else "d" if isinstance(v, date) else "n")
    return needed


class _Views:
    """The typed views of each field a frame carries, materialised once as hidden columns."""

    def __init__(self, schema: Mapping[str, pl.DataType], needed: Mapping[str, set[str]]) -> None:
        self.exprs: dict[str, pl.Expr] = {}
        for name, views in needed.items():
            cols = [c for c in schema if c == name or c.startswith(name + "@")]
            self._build(name, [(c, schema[c]) for c in cols], views)

    def _build(self, name: str, cols: list[tuple[str, pl.DataType]], needed: set[str]) -> None:
        strs, nums, bools, dates, present = [], [], [], [], []
        for col, dtype in cols:
            expr = pl.col(col)
            if col.endswith("@present"):
                present.append(expr.fill_null(False))
            elif dtype.base_type() in (pl.String, pl.Categorical, pl.Enum):
                strs.append(expr.cast(pl.String))
            elif dtype in _NUMERIC:
                nums.append(expr.cast(pl.Float64).fill_nan(None) if dtype in (pl.Float32, pl.Float64)
                            else expr.cast(pl.Float64))
            elif dtype == pl.Boolean:
                bools.append(expr)
            elif dtype == pl.Date:
                dates.append(expr)
            elif isinstance(dtype, pl.Datetime):
                dates.append(expr.dt.date())
            elif dtype != pl.Null:
                present.append(expr.is_not_null())
        s = pl.coalesce(strs) if strs else None
        builders = {
            "s": lambda: s if s is not None else pl.lit(None, dtype=pl.String),
            "l": lambda: s.str.to_lowercase() if s is not None else pl.lit(None, dtype=pl.String),
            "n": lambda: _coalesce([*nums, *([_parse_num(s)] if s is not None else [])], pl.Float64),
            "b": lambda: _coalesce([*bools, *([_parse_bool(s)] if s is not None else [])], pl.Boolean),
            "d": lambda: _coalesce([*dates, *([_parse_date(s)] if s is not None else [])], pl.Date),
            "p": lambda: pl.any_horizontal([*[c.is_not_null() for c in [*strs, *nums, *bools, *dates]],
                                            *present, pl.lit(False)]),
        }
        for view in needed:
            self.exprs[f"__{view}:{name}"] = builders[view]()

    @staticmethod
    def col(view: str, field: str) -> pl.Expr:
        return pl.col(f"__{view}:{field}")


def _coalesce(exprs: list[pl.Expr], dtype: Any) -> pl.Expr:
    if not exprs:
        return pl.lit(None, dtype=dtype)
    return exprs[0] if len(exprs) == 1 else pl.coalesce(exprs)


def _parse_num(s: pl.Expr) -> pl.Expr:
    stripped = s.str.strip_chars(WS)
    return pl.when(stripped.str.contains(NUMBER_RE)).then(stripped.cast(pl.Float64, strict=False))


def _parse_bool(s: pl.Expr) -> pl.Expr:
    low = s.str.to_lowercase()
    return pl.when(low == "true").then(pl.lit(True)).when(low == "false").then(pl.lit(False))


def _parse_date(s: pl.Expr) -> pl.Expr:
    return pl.when(s.str.contains(DATE_RE) & (s.str.slice(0, 4) != "0000")).then(
        s.str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False))


def _matches(s: pl.Series, search: Callable[[str], bool]) -> pl.Series:
    """RE2 over each distinct text of a column (the frame keeps repeating text dictionary-encoded, so a column
    of a million leads has a few thousand distinct values), mapped back onto every row."""
    distinct = s.drop_nulls().unique()
    hits = distinct.filter(pl.Series([search(x) for x in distinct], dtype=pl.Boolean))
    return s.is_in(hits.implode()).fill_null(False)


def _kind_test(field: str, values: Sequence[Any]) -> pl.Expr:
    col = _Views.col
    tests: list[pl.Expr] = []
    strs = sorted({v.lower() for v in values if isinstance(v, str)})
    nums = sorted({float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)})
    bools = sorted({v for v in values if isinstance(v, bool)})
    dates = sorted({v for v in values if isinstance(v, date)})
    for view, group, dtype in (("l", strs, pl.String), ("n", nums, pl.Float64), ("b", bools, pl.Boolean),
                               ("d", dates, pl.Date)):
        if group:
            tests.append(col(view, field).is_in(pl.Series(values=group, dtype=dtype).implode()).fill_null(False))
    return pl.any_horizontal(tests)


def leaf_expr(leaf: Leaf) -> pl.Expr:
    """The Boolean expression of one test (never null)."""
    col, op, value, field = _Views.col, leaf.op, leaf.value, leaf.field
    if op in ("eq", "ne", "in", "not_in"):
        test = _kind_test(field, [value] if op in ("eq", "ne") else list(value))
        return {"eq": test, "in": test, "ne": ~test, "not_in": col("p", field) & ~test}[op]
    if op in ("gt", "gte", "lt", "lte", "between"):
        probe = value[0] if op == "between" else value
        view = col("d", field) if isinstance(probe, date) else col("n", field)
        if op == "between":
            return view.is_between(value[0], value[1], closed="both").fill_null(False)
        compare: pl.Expr = getattr(view, {"gt": "gt", "gte": "ge", "lt": "lt", "lte": "le"}[op])(value)
        return compare.fill_null(False)
    if op == "exists":
        return col("p", field) if value else ~col("p", field)
    if op == "matches":
        translated = columnar_pattern(value)
        if translated is not None:  # the same answer as RE2, over the column in Rust
            return col("s", field).str.contains(translated).fill_null(False)
        return col("s", field).map_batches(lambda s: _matches(s, compile_search(value)),
                                           return_dtype=pl.Boolean).fill_null(False)
    low = col("l", field)
    needle = value.lower()
    if op == "contains":
        return low.str.contains(needle, literal=True).fill_null(False)
    if op == "starts_with":
        return low.str.starts_with(needle).fill_null(False)
    return low.str.ends_with(needle).fill_null(False)


def condition_expr(cond: Condition | None) -> pl.Expr:
    """The Boolean expression of a whole condition (``None``: always true)."""
    if cond is None:
        return pl.lit(True)
    if isinstance(cond, Leaf):
        return leaf_expr(cond)
    if isinstance(cond, NotOf):
        return ~condition_expr(cond.item)
    if isinstance(cond, AllOf):
        return pl.all_horizontal([condition_expr(c) for c in cond.items] or [pl.lit(True)])
    assert isinstance(cond, AnyOf)
    return pl.any_horizontal([condition_expr(c) for c in cond.items] or [pl.lit(False)])
