"""Resolve owners for a whole frame with the same handlers and the same outcome as the single path.

Stateless handlers (their result depends only on the context fields they name) are called once per
distinct value of those fields; a rule walk that reaches a stateful handler (a rotation) finishes
record by record, in record order, so the rotation sees the same sequence as one-by-one routing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from revloops.core.rules.engine import UNROUTED, BatchResolver, CompiledRules, HandlerResult, _call


@dataclass(frozen=True)
class BatchOutcome:
    """Per record, in frame order: the deciding rule index (-1: none), its id, and the owner."""

    rule_index: np.ndarray
    rule_ids: list[str | None]
    owner_ids: list[str]


def _field_columns(frame: pl.DataFrame, name: str) -> list[str]:
    return [c for c in frame.columns if (c == name or c.startswith(name + "@")) and not c.endswith("@present")]


class _Memo:
    """Results of stateless handlers, keyed by rule and the values of the fields they depend on.

    Owners are handled as codes into ``table`` so that a million rows never become a million strings
    until the very end."""

    def __init__(self, compiled: CompiledRules, resolver: BatchResolver, frame: pl.DataFrame) -> None:
        self.compiled, self.resolver, self.frame = compiled, resolver, frame
        self.cache: dict[tuple[Any, ...], HandlerResult] = {}
        self.deps = [resolver.depends_on(r.action) for r in compiled.rules]
        self.table: list[str] = [UNROUTED]
        self._codes: dict[str, int] = {UNROUTED: 0}
        self._columns: dict[str, list[str]] = {}
        self._values: dict[str, list[Any]] = {}

    def value(self, name: str, index: int) -> Any:
        """The value of field ``name`` in row ``index`` (None: missing), mixed-kind columns read as one value."""
        cols = self._columns.get(name)
        if cols is None:
            cols = self._columns[name] = _field_columns(self.frame, name)
        for col in cols:
            values = self._values.get(col)
            if values is None:
                values = self._values[col] = self.frame.get_column(col).to_list()
            value = values[index]
            if value is not None:
                return value
        return None

    def _row(self, index: int, fields: Sequence[str]) -> dict[str, Any]:
        """The flat context of one row over ``fields``, reading each column once for the whole frame (rows
        walked one by one past a stateful rule ask this per row)."""
        return {name: value for name in fields if (value := self.value(name, index)) is not None}

    def code(self, owner: str | None) -> int:
        """The code of an owner (-1: unresolved)."""
        if owner is None:
            return -1
        found = self._codes.get(owner)
        if found is None:
            found = self._codes[owner] = len(self.table)
            self.table.append(owner)
        return found

    def vector(self, k: int, rows: np.ndarray) -> np.ndarray:
        """Owner code (-1: unresolved) per row in ``rows`` for stateless rule ``k``."""
        deps = self.deps[k]
        assert deps is not None
        cols = [c for name in deps for c in _field_columns(self.frame, name)]
        if not cols:
            return np.full(len(rows), self.code(self.one(k, int(rows[0])).owner_id), dtype=np.int64)
        sub = self.frame[rows].select(cols).with_row_index("__row")
        firsts = sub.unique(subset=cols, keep="first", maintain_order=True)
        codes = [self.code(self.one(k, int(rows[i])).owner_id) for i in firsts["__row"]]
        keyed = firsts.drop("__row").with_columns(pl.Series("__code", codes, dtype=pl.Int64))
        joined = sub.join(keyed, on=cols, how="left", nulls_equal=True, maintain_order="left")
        return joined.get_column("__code").to_numpy()

    def one(self, k: int, row: int) -> HandlerResult:
        deps = self.deps[k] or ()
        ctx = self._row(row, deps)
        key = (k, *(ctx.get(name) for name in deps))
        hit = self.cache.get(key)
        if hit is None:
            hit = self.cache[key] = _call(self.resolver, self.compiled.rules[k].action, ctx)
        return hit


def frame_fields(compiled: CompiledRules, resolver: BatchResolver) -> list[str]:
    """The fields a batch frame needs: those the conditions read, then those stateless handlers read."""
    deps = [name for r in compiled.rules for name in (resolver.depends_on(r.action) or ())]
    return list(dict.fromkeys([*compiled.fields, *deps]))


def resolve_frame(compiled: CompiledRules, frame: pl.DataFrame, resolver: BatchResolver,
                  columns: Sequence[np.ndarray] | None = None) -> BatchOutcome:
    """Route every row of ``frame`` (flattened contexts); same rule and owner as ``evaluate`` row by row.

    The frame must carry ``frame_fields(compiled, resolver)`` (a field absent from every record may
    be left out only if ``contexts_to_frame`` was given it: an absent column reads as missing).
    Stateful handlers receive the row's context rebuilt from the frame's columns.
    """
    n = frame.height
    if columns is None:
        columns = compiled.match_columns(frame)
    owners = np.zeros(n, dtype=np.int64)  # codes into memo.table; 0 is UNROUTED
    chosen = np.full(n, -1, dtype=np.int64)
    resume = np.full(n, -1, dtype=np.int64)
    open_ = np.ones(n, dtype=bool)
    memo = _Memo(compiled, resolver, frame)
    for k, rule in enumerate(compiled.rules):
        rows = np.flatnonzero(open_ & columns[k])
        if not len(rows):
            continue
        if memo.deps[k] is None:  # stateful: finish these rows one by one, in order, below
            resume[rows], open_[rows] = k, False
            continue
        got = memo.vector(k, rows)
        done = rows[got >= 0]
        owners[done], chosen[done], open_[done] = got[got >= 0], k, False
        if rule.on_unresolved == "pending":  # the others walk on: they stay open
            miss = rows[got < 0]
            owners[miss], chosen[miss], open_[miss] = memo.code(f"pending:{rule.id}"), k, False
    stateful = np.flatnonzero(resume >= 0)
    if len(stateful):
        # per row, the rules it may still walk into: those holding at or after the one it stopped at
        matrix = np.stack([col[stateful] for col in columns], axis=1)
        matrix &= np.arange(len(columns))[None, :] >= resume[stateful][:, None]
        at, rule_of = np.nonzero(matrix)
        # each row's walk is a slice of one list (np.split would make an array per row: a second a million)
        bounds = np.searchsorted(at, np.arange(len(stateful) + 1)).tolist()
        rules_of = rule_of.tolist()
        walks = [rules_of[bounds[j]:bounds[j + 1]] for j in range(len(stateful))]
        if getattr(resolver, "batch_owner", None) is not None:
            contexts: Sequence[Mapping[str, Any]] = [_RowView(memo, i) for i in stateful.tolist()]
        else:
            contexts = _contexts(frame, stateful, _all_fields(compiled.fields, frame))
        for j, i in enumerate(stateful.tolist()):
            owner, chosen[i] = _finish(compiled, memo, walks[j], i, contexts[j])
            owners[i] = memo.code(owner)
    names = np.array([r.id for r in compiled.rules] + [None], dtype=object)
    return BatchOutcome(chosen, names[chosen].tolist(), np.array(memo.table, dtype=object)[owners].tolist())


def _contexts(frame: pl.DataFrame, rows: np.ndarray, fields: Sequence[str]) -> list[dict[str, Any]]:
    """The flat contexts of many rows at once (mixed-kind columns merged back into one value)."""
    cols = {name: _field_columns(frame, name) for name in fields}
    names = list(dict.fromkeys(c for cs in cols.values() for c in cs))
    if not names:
        return [{} for _ in rows]
    sub = frame[rows].select(names)
    if all(len(cs) == 1 for cs in cols.values()):  # one column per field: zip the columns, drop the missing
        keys = list(cols)
        values = [sub.get_column(cols[k][0]).to_list() for k in keys]
        return [{k: v for k, v in zip(keys, vals, strict=True) if v is not None} for vals in zip(*values, strict=True)]
    out: list[dict[str, Any]] = []
    for rec in sub.iter_rows(named=True):
        ctx: dict[str, Any] = {}
        for name, cs in cols.items():
            for c in cs:
                if rec[c] is not None:
                    ctx[name] = rec[c]
                    break
        out.append(ctx)
    return out


def _finish(compiled: CompiledRules, memo: _Memo, walk: Sequence[int], i: int,
            ctx: Mapping[str, Any]) -> tuple[str, int]:
    """Walk row ``i`` through the rules that hold on it (``walk``, in order) until one resolves."""
    for k in walk:
        rule = compiled.rules[k]
        owner = _stateful_owner(memo.resolver, rule.action, ctx) if memo.deps[k] is None \
            else memo.one(k, i).owner_id
        if owner is not None:
            return owner, k
        if rule.on_unresolved == "pending":
            return f"pending:{rule.id}", k
    return UNROUTED, -1


class _RowView(Mapping[str, Any]):
    """One row of the frame as a context, read on demand (a stateful handler reads a field or two of it; a
    dict of every field per row would cost more than the handler)."""

    __slots__ = ("_memo", "_i")

    def __init__(self, memo: _Memo, index: int) -> None:
        self._memo, self._i = memo, index

    def get(self, key: str, default: Any = None) -> Any:
        value = self._memo.value(key, self._i)
        return default if value is None else value

    def __getitem__(self, key: str) -> Any:
        value = self._memo.value(key, self._i)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        names = dict.fromkeys(c.split("@", 1)[0] for c in self._memo.frame.columns)
        return (n for n in names if self._memo.value(n, self._i) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _stateful_owner(resolver: BatchResolver, action: Any, ctx: Mapping[str, Any]) -> str | None:
    """The owner a stateful action answers: through the resolver's ``batch_owner`` when it has one (the same
    owner without the detail a trace needs), else its full answer. A failing handler resolves nothing."""
    fast = getattr(resolver, "batch_owner", None)
    if fast is None:
        return _call(resolver, action, ctx).owner_id
    try:
        return fast(action, ctx)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - as _call: a failing handler must not lose the record
        return None


def _all_fields(fields: Sequence[str], frame: pl.DataFrame) -> list[str]:
    names = {c.split("@", 1)[0] for c in frame.columns}
    return list(dict.fromkeys([*fields, *sorted(names)]))
