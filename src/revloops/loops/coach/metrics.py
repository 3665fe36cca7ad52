"""The metric registry: definitions in ``config/coach/metrics.yaml`` compiled to DuckDB SQL over the views.

A request names a metric, a time grain, the dimensions to group by and equality filters on dimensions; the
compiler answers one SQL statement with ``?`` parameters (filter values and dates are never spliced into the
text). The same compiled SQL feeds the report, Coach, the API, the CLI and the MCP tools, so "win rate" is one
number wherever it shows. Dimensions and filters are checked against the definition's allowed dimensions,
so a caller's input only ever chooses among names the registry declares.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlglot
from sqlglot import expressions as exp

from revloops.core.errors import InputError, NotFound
from revloops.loops.coach.config import Definition
from revloops.loops.coach.views import BY_NAME, FACTS, View

Grain = Literal["day", "week", "month", "quarter", "year"]
GRAINS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
Scalar = str | int | float | bool
_FORBIDDEN_FUNCTIONS = frozenset({"read_csv", "read_csv_auto", "read_parquet", "read_json", "read_json_auto",
                                  "read_text", "read_blob", "glob", "query", "query_table", "getenv"})


@dataclass(frozen=True)
class MetricRequest:
    """What to compute.

    Attributes:
        metric: the definition's id.
        grain: the period each row covers (None: one figure over the whole window).
        by: dimensions to group by, in order.
        where: equality filters, dimension -> value (a list or tuple of values: any of them).
        start: first day of the window (inclusive), on the definition's time column.
        end: last day of the window (exclusive).
        scope: (column, values) the application layer adds for a scoped caller (a rep's own rows); applied
            wherever the view has that column.
    """

    metric: str
    grain: Grain | None = "month"
    by: tuple[str, ...] = ()
    where: Mapping[str, Scalar | Sequence[Scalar]] = field(default_factory=dict)
    start: dt.date | None = None
    end: dt.date | None = None
    scope: tuple[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Compiled:
    """A compiled request: the SQL, its parameters, and the output columns' meaning."""

    sql: str
    params: list[Any]
    keys: tuple[str, ...]  # period (when a grain) and the dimensions, in order


def _parse(snippet: str) -> exp.Expression:
    node = sqlglot.parse_one(snippet, read="duckdb")
    assert isinstance(node, exp.Expression)
    return node


def _columns(node: exp.Expression) -> set[str]:
    return {c.name for c in node.find_all(exp.Column)}


@functools.lru_cache(maxsize=128)
def _select_columns(sql: str) -> frozenset[str] | None:
    """The output columns of a SELECT, a star expanded when it reads a fact or another view."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    if not isinstance(tree, exp.Select):
        return None
    aliases = {t.alias_or_name: t.name for t in tree.find_all(exp.Table)}
    out: set[str] = set()
    for e in tree.expressions:
        star = isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
        if not star:
            out.add(e.alias_or_name)
            continue
        source = aliases.get(e.table) if isinstance(e, exp.Column) and e.table else \
            (next(iter(aliases.values())) if len(aliases) == 1 else None)
        found = _table_columns(source) if source else None
        if found is None:
            return None
        out |= found
    return frozenset(out)


def _table_columns(name: str) -> frozenset[str] | None:
    fact = next((f for f in FACTS if f.table == name), None)
    if fact is not None:
        return _select_columns(fact.select(False))
    view = BY_NAME.get(name)
    return view_columns(view) if view is not None else None


def view_columns(view: View) -> frozenset[str] | None:
    """The output columns of a view, from its SQL (None when a star reads something that cannot be told)."""
    return _select_columns(view.sql)


def _snippet_problem(snippet: str, allowed: frozenset[str] | None) -> str | None:
    try:
        node = _parse(snippet)
    except sqlglot.errors.ParseError as exc:
        return f"{snippet!r} does not parse: {str(exc).splitlines()[0]}"
    if node.find(exp.Select, exp.Subquery) is not None:
        return f"{snippet!r} holds a query: a definition is an expression over its view's columns"
    for fn in node.find_all(exp.Anonymous, exp.Func):
        name = (fn.name if isinstance(fn, exp.Anonymous) else fn.sql_name()).lower()
        if name in _FORBIDDEN_FUNCTIONS:
            return f"{snippet!r} calls {name}(): a definition reads only its view"
    unknown = sorted(_columns(node) - allowed) if allowed is not None else []
    if unknown:
        return f"{snippet!r} names {', '.join(unknown)}, not columns of the view"
    return None


def definition_problems(defs: Sequence[Definition]) -> list[tuple[int, str, str]]:
    """(index, field, message) for every definition that would not compile."""
    problems: list[tuple[int, str, str]] = []
    ids = {d.id: i for i, d in enumerate(defs)}
    for i, d in enumerate(defs):
        if d.type == "simple":
            view = BY_NAME.get(d.view or "")
            if view is None:
                problems.append((i, "view", f"no view {d.view!r} (views: {', '.join(sorted(BY_NAME))})"))
                continue
            cols = view_columns(view)
            for name in ("measure", "filter"):
                snippet = getattr(d, name)
                if snippet and (problem := _snippet_problem(snippet, cols)):
                    problems.append((i, name, problem))
            if d.time and cols is not None and d.time not in cols:
                problems.append((i, "time", f"{d.time!r} is not a column of {view.name}"))
            for dim in d.dimensions or ():
                if dim not in view.dimensions and (cols is None or dim not in cols):
                    problems.append((i, "dimensions", f"{dim!r} is not a column of {view.name}"))
        refs = _refs(d)
        for name, ref in refs:
            if ref not in ids:
                problems.append((i, name, f"{ref!r} is not a metric of the registry"))
        if d.type == "derived" and d.expr:
            try:
                _parse(d.expr)
            except sqlglot.errors.ParseError as exc:
                problems.append((i, "expr", f"{d.expr!r} does not parse: {str(exc).splitlines()[0]}"))
    by_id = {d.id: d for d in defs}
    for i, d in enumerate(defs):
        if _cycle(d.id, by_id):
            problems.append((i, "id", f"{d.id} refers to itself through its references"))
    return problems


def _refs(d: Definition) -> list[tuple[str, str]]:
    if d.type == "ratio":
        return [("numerator", d.numerator or ""), ("denominator", d.denominator or "")]
    if d.type == "cumulative":
        return [("metric", d.metric or "")]
    if d.type == "derived" and d.expr:
        try:
            return [("expr", name) for name in sorted(_columns(_parse(d.expr)))]
        except sqlglot.errors.ParseError:
            return []
    return []


def _cycle(start: str, by_id: Mapping[str, Definition]) -> bool:
    """Whether ``start`` reaches itself through its references."""

    def visit(node: str, seen: frozenset[str]) -> bool:
        d = by_id.get(node)
        for _, ref in _refs(d) if d is not None else []:
            if ref == start:
                return True
            if ref not in seen and visit(ref, seen | {ref}):
                return True
        return False

    return visit(start, frozenset({start}))


class Registry:
    """The definitions of one config, compiled on request."""

    def __init__(self, defs: Sequence[Definition]) -> None:
        self.defs = {d.id: d for d in defs}

    def get(self, metric: str) -> Definition:
        """The definition, or NotFound naming the known ids."""
        try:
            return self.defs[metric]
        except KeyError:
            raise NotFound(f"no metric {metric!r} (metrics: {', '.join(sorted(self.defs))})") from None

    def view_of(self, metric: str) -> View | None:
        """The view a simple metric reads (the numerator's for a ratio, the first reference's otherwise)."""
        d = self.get(metric)
        if d.type == "simple":
            return BY_NAME[d.view or ""]
        refs = _refs(d)
        return self.view_of(refs[0][1]) if refs else None

    def dimensions(self, metric: str) -> tuple[str, ...]:
        """The dimensions a request may group or filter ``metric`` by."""
        d = self.get(metric)
        if d.type == "simple":
            view = BY_NAME[d.view or ""]
            return tuple(d.dimensions) if d.dimensions is not None else view.dimensions
        sides = [set(self.dimensions(ref)) for _, ref in _refs(d)]
        common = set.intersection(*sides) if sides else set()
        first = self.dimensions(_refs(d)[0][1]) if _refs(d) else ()
        return tuple(x for x in first if x in common)

    def has_time(self, metric: str) -> bool:
        d = self.get(metric)
        if d.type == "simple":
            return (d.time or BY_NAME[d.view or ""].time) is not None
        return all(self.has_time(ref) for _, ref in _refs(d))

    def compile(self, req: MetricRequest) -> Compiled:
        """The SQL of a request.

        Raises:
            NotFound: an unknown metric.
            InputError: a grain, dimension or filter the metric does not allow.
        """
        d = self.get(req.metric)
        if req.grain is not None and req.grain not in GRAINS:
            raise InputError(f"grain must be one of {', '.join(GRAINS)}", field="grain")
        allowed = self.dimensions(req.metric)
        for name in (*req.by, *req.where):
            if name not in allowed:
                raise InputError(f"{req.metric} cannot be broken down or filtered by {name!r} "
                                 f"(its dimensions: {', '.join(allowed) or 'none'})", field="by")
        if len(set(req.by)) != len(req.by):
            raise InputError("name each dimension once", field="by")
        timed = self.has_time(req.metric)
        if not timed and (req.grain is not None or req.start or req.end):
            raise InputError(f"{req.metric} has no time column: ask without a grain or a window", field="grain")
        if d.type == "cumulative" and req.grain is None:
            raise InputError(f"{req.metric} is cumulative: it needs a grain", field="grain")
        return self._compile(d, req)

    def _keys(self, req: MetricRequest) -> tuple[str, ...]:
        return (("period",) if req.grain is not None else ()) + tuple(req.by)

    def _compile(self, d: Definition, req: MetricRequest) -> Compiled:
        keys = self._keys(req)
        if d.type == "simple":
            return self._simple(d, req, keys)
        if d.type == "ratio":
            num = self._compile(self.get(d.numerator or ""), _with(req, d.numerator or ""))
            den = self._compile(self.get(d.denominator or ""), _with(req, d.denominator or ""))
            sql = (f"WITH n AS ({num.sql}), d AS ({den.sql}) SELECT {_coalesced(keys, ('n', 'd'))}"
                   f"n.value AS numerator, d.value AS denominator, n.value / nullif(d.value, 0) AS value "
                   f"FROM n {_join(keys, 'd')}{_order(keys)}")
            return Compiled(sql, num.params + den.params, keys)
        if d.type == "cumulative":
            inner = self._compile(self.get(d.metric or ""), _with(req, d.metric or "", start=None))
            part = f"PARTITION BY {', '.join(_q(k) for k in req.by)} " if req.by else ""
            sql = (f"SELECT * FROM (SELECT {''.join(f'{_q(k)}, ' for k in keys)}"
                   f"sum(value) OVER ({part}ORDER BY period ROWS UNBOUNDED PRECEDING) AS value "
                   f"FROM ({inner.sql}) i) c")
            params = list(inner.params)
            if req.start is not None:
                sql += " WHERE period >= ?"
                params.append(req.start)
            return Compiled(sql + _order(keys), params, keys)
        # derived
        tree = _parse(d.expr or "")
        refs = sorted(_columns(tree))
        parts = [self._compile(self.get(ref), _with(req, ref)) for ref in refs]
        aliases = {ref: f"m{i}" for i, ref in enumerate(refs)}

        def swap(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column) and node.name in aliases:
                return exp.column("value", table=aliases[node.name])
            return node

        value = tree.transform(swap).sql(dialect="duckdb")
        ctes = ", ".join(f"{aliases[ref]} AS ({part.sql})" for ref, part in zip(refs, parts, strict=True))
        joins = " ".join(_join(keys, aliases[ref]) for ref in refs[1:])
        sql = (f"WITH {ctes} SELECT {_coalesced(keys, tuple(aliases[r] for r in refs))}{value} AS value "
               f"FROM {aliases[refs[0]]} {joins}{_order(keys)}")
        return Compiled(sql, [p for part in parts for p in part.params], keys)

    def _simple(self, d: Definition, req: MetricRequest, keys: tuple[str, ...]) -> Compiled:
        view = BY_NAME[d.view or ""]
        time = d.time or view.time
        select: list[str] = []
        if req.grain is not None:
            select.append(f"CAST(date_trunc('{req.grain}', {_q(time or '')}) AS DATE) AS period")
        select += [_q(k) for k in req.by]
        where: list[str] = [f"({d.filter})"] if d.filter else []
        params: list[Any] = []
        for name, value in req.where.items():
            values = list(value) if isinstance(value, list | tuple) else [value]
            where.append(f"{_q(name)} IN ({', '.join('?' for _ in values)})")
            params += values
        if req.scope is not None:
            column, allowed = req.scope
            cols = view_columns(view)
            if cols is None or column in cols:
                where.append(f"{_q(column)} IN ({', '.join('?' for _ in allowed) or 'NULL'})")
                params += list(allowed)
        if time and req.start is not None:
            where.append(f"{_q(time)} >= ?")
            params.append(req.start)
        if time and req.end is not None:
            where.append(f"{_q(time)} < ?")
            params.append(req.end)
        sql = (f"SELECT {', '.join([*select, f'{d.measure} AS value'])} FROM {view.name}"
               + (f" WHERE {' AND '.join(where)}" if where else "")
               + (f" GROUP BY {', '.join(str(i + 1) for i in range(len(select)))}" if select else "")
               + _order(keys))
        return Compiled(sql, params, keys)


def _with(req: MetricRequest, metric: str, **changes: Any) -> MetricRequest:
    values = {"metric": metric, "grain": req.grain, "by": req.by, "where": req.where, "start": req.start,
              "end": req.end, "scope": req.scope, **changes}
    return MetricRequest(**values)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _coalesced(keys: tuple[str, ...], tables: tuple[str, ...]) -> str:
    if len(tables) == 1:
        return "".join(f"{tables[0]}.{_q(k)}, " for k in keys)
    return "".join(f"coalesce({', '.join(f'{t}.{_q(k)}' for t in tables)}) AS {_q(k)}, " for k in keys)


def _join(keys: tuple[str, ...], table: str) -> str:
    if not keys:
        return f"CROSS JOIN {table}"
    first = "n" if table == "d" else "m0"
    return f"FULL JOIN {table} ON " + " AND ".join(
        f"{table}.{_q(k)} IS NOT DISTINCT FROM {first}.{_q(k)}" for k in keys)


def _order(keys: tuple[str, ...]) -> str:
    return f" ORDER BY {', '.join(_q(k) for k in keys)}" if keys else ""
