"""Resolve owners for a whole frame with the same handlers and the same outcome as the single path.

Stateless handlers (their result depends only on the context fields they name) are called once per
distinct value of those fields; a rule walk that reaches a stateful handler (a rotation) finishes
record by record, in record order, so the rotation sees the same sequence as one-by-one routing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def row_context(frame: pl.DataFrame, index: int, fields: Sequence[str]) -> dict[str, Any]:
    """The flat context of one row (mixed-kind columns merged back into one value)."""
    ctx: dict[str, Any] = {}
    for name in fields:
        for col in _field_columns(frame, name):
            value = frame[col][index]
            if value is not None:
                ctx[name] = value
                break
    return ctx


class _Memo:
    """Results of stateless handlers, keyed by rule and the values of the fields they depend on."""

    def __init__(self, compiled: CompiledRules, resolver: BatchResolver, frame: pl.DataFrame) -> None:
        self.compiled, self.resolver, self.frame = compiled, resolver, frame
        self.cache: dict[tuple[Any, ...], HandlerResult] = {}
        self.deps = [resolver.depends_on(r.action) for r in compiled.rules]

    def vector(self, k: int, rows: np.ndarray) -> np.ndarray:
        """Owner (or None) per row in ``rows`` for stateless rule ``k``."""
        deps = self.deps[k]
        assert deps is not None
        cols = [c for name in deps for c in _field_columns(self.frame, name)]
        if not cols:
            res = self.one(k, int(rows[0]))
            return np.full(len(rows), res.owner_id, dtype=object)
        sub = self.frame[rows].select(cols).with_row_index("__row")
        firsts = sub.unique(subset=cols, keep="first", maintain_order=True)
        owners = [self.one(k, int(rows[i])).owner_id for i in firsts["__row"]]
        keyed = firsts.drop("__row").with_columns(pl.Series("__owner", owners, dtype=pl.String))
        joined = sub.join(keyed, on=cols, how="left", nulls_equal=True, maintain_order="left")
        return np.asarray(joined["__owner"].to_list(), dtype=object)

    def one(self, k: int, row: int) -> HandlerResult:
        deps = self.deps[k] or ()
        ctx = row_context(self.frame, row, deps)
        key = (k, *(ctx.get(name) for name in deps))
        hit = self.cache.get(key)
        if hit is None:
            hit = self.cache[key] = _call(self.resolver, self.compiled.rules[k].action, ctx)
        return hit


def frame_fields(compiled: CompiledRules, resolver: BatchResolver) -> list[str]:
    """The fields a batch frame needs: those the conditions read, then those stateless handlers read."""
    deps = [name for r in compiled.rules for name in (resolver.depends_on(r.action) or ())]
    return list(dict.fromkeys([*compiled.fields, *deps]))


def resolve_frame(compiled: CompiledRules, frame: pl.DataFrame, resolver: BatchResolver) -> BatchOutcome:
    """Route every row of ``frame`` (flattened contexts); same rule and owner as ``evaluate`` row by row.

    The frame must carry ``frame_fields(compiled, resolver)`` (a field absent from every record may
    be left out only if ``contexts_to_frame`` was given it: an absent column reads as missing).
    Stateful handlers receive the row's context rebuilt from the frame's columns.
    """
    matrix = compiled.match_matrix(frame).to_numpy()
    n, count = matrix.shape
    owners = np.full(n, UNROUTED, dtype=object)
    chosen = np.full(n, -1, dtype=np.int64)
    open_ = np.ones(n, dtype=bool)
    resume = np.full(n, -1, dtype=np.int64)
    memo = _Memo(compiled, resolver, frame)
    for k, rule in enumerate(compiled.rules):
        cand = open_ & matrix[:, k]
        if not cand.any():
            continue
        if memo.deps[k] is None:  # stateful: finish these rows one by one, in order, below
            resume[cand], open_[cand] = k, False
            continue
        rows = np.flatnonzero(cand)
        got = memo.vector(k, rows)
        ok: np.ndarray = got != None  # noqa: E711 - elementwise over an object array
        owners[rows[ok]], chosen[rows[ok]] = got[ok], k
        open_[rows[ok]] = False
        if rule.on_unresolved == "pending":
            miss = rows[~ok]
            owners[miss], chosen[miss], open_[miss] = f"pending:{rule.id}", k, False
    for i in np.flatnonzero(resume >= 0):
        owners[i], chosen[i] = _finish(compiled, memo, matrix[i], int(i), int(resume[i]))
    ids = [compiled.rules[k].id if k >= 0 else None for k in chosen]
    return BatchOutcome(chosen, ids, owners.tolist())


def _finish(compiled: CompiledRules, memo: _Memo, row: np.ndarray, i: int, k: int) -> tuple[str, int]:
    fields = compiled.fields
    ctx: Mapping[str, Any] | None = None
    while k < len(compiled.rules):
        if row[k]:
            rule = compiled.rules[k]
            if memo.deps[k] is None:
                ctx = ctx if ctx is not None else row_context(memo.frame, i, _all_fields(fields, memo))
                res = _call(memo.resolver, rule.action, ctx)
            else:
                res = memo.one(k, i)
            if res.owner_id is not None:
                return res.owner_id, k
            if rule.on_unresolved == "pending":
                return f"pending:{rule.id}", k
        k += 1
    return UNROUTED, -1


def _all_fields(fields: Sequence[str], memo: _Memo) -> list[str]:
    names = {c.split("@", 1)[0] for c in memo.frame.columns}
    return list(dict.fromkeys([*fields, *sorted(names)]))
