"""Account -> territory outcomes, pure: which territory the match rules give, or which pending state.

Every ``assign`` rule that holds puts the account in its territory, as Salesforce's assignment rules do.
Among the territories reached, one that is an ancestor of another reached one gives way to the more specific
territory; then the territory whose type has the highest ``priority`` wins, and a tie is ``pending:multi_match``
(the rule Salesforce's default opportunity territory filter follows). A ``pending`` rule holding before any
assign rule parks the account as ``pending:no_match``. Territories the account is excluded from
(Territory2ObjectExclusion) are never reached. Confidence is 1 on a clean address; an address the resolver
had to read carries the resolver's confidence, and below the threshold it is ``pending:low_confidence``.

Two paths reach the same outcomes: ``decide_one`` over the rules holding for one context (the live
``first_holding`` walk) and ``decide_matrix`` over the batch ``match_matrix`` of many.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from revloops.core.geo import Geo

ASSIGNED, MANUAL = "assigned", "manual"
PENDING_AMBIGUOUS = "pending:ambiguous_geo"
PENDING_NO_MATCH = "pending:no_match"
PENDING_MULTI = "pending:multi_match"
PENDING_LOW = "pending:low_confidence"
SENTINELS = (PENDING_AMBIGUOUS, PENDING_NO_MATCH, PENDING_MULTI, PENDING_LOW)
_CODES = (ASSIGNED, PENDING_NO_MATCH, PENDING_MULTI)


class RuleLike(Protocol):
    """What the outcome needs of a compiled match rule."""

    @property
    def id(self) -> str: ...

    @property
    def action(self) -> Any: ...


def resolution_reason(country: str | None, state: str | None, city: str | None, geo: Geo) -> str | None:
    """Why an address needs the resolver, or None when it is clear enough to match as it is.

    Ambiguous or contradictory readings, no country at all, and a country guessed from a city alone
    ("London" could be Ontario) all go to the resolver.
    """
    if geo.ambiguous:
        return f"ambiguous address: {geo.reason}"
    if geo.country is None:
        if city and not (country or state):
            return f"a city ({city}) without a country"
        return f"no country ({geo.reason})" if geo.reason else "no country, state or city"
    if city and not (country or state):
        return f"a city ({city}) without a country"
    return None


@dataclass(frozen=True)
class Match:
    """The rules' verdict on one account before confidence is weighed."""

    status: str
    territory: str | None = None
    rule_id: str | None = None
    candidates: tuple[str, ...] = ()


@dataclass
class RuleTable:
    """The match rules and the hierarchy, arranged for both decision paths.

    Attributes:
        rule_ids: rule ids in evaluation order.
        kinds: per rule, ``assign``, ``pending`` or another action type (ignored).
        rule_territory: per rule, the index of its territory in ``territories`` (-1 if none).
        territories: developer names reached by assign rules.
        priority: per territory, its type's priority (higher wins).
        covers: ``covers[d, a]`` is True when territory ``a`` is a proper ancestor of territory ``d``.
    """

    rule_ids: list[str]
    kinds: list[str]
    rule_territory: np.ndarray
    territories: list[str]
    priority: np.ndarray
    covers: np.ndarray
    index: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, rules: Sequence[RuleLike], parents: Mapping[str, str | None],
              type_of: Mapping[str, str], type_priority: Mapping[str, int]) -> RuleTable:
        """From compiled rules (in order), the territory parents and each territory's type priority."""
        kinds = [r.action.type if r.action.type in ("assign", "pending") else "other" for r in rules]
        names = list(dict.fromkeys(r.action.territory for r, k in zip(rules, kinds, strict=True) if k == "assign"))
        index = {n: i for i, n in enumerate(names)}
        covers = np.zeros((len(names), len(names)), dtype=bool)
        for d, name in enumerate(names):
            seen, current = {name}, parents.get(name)
            while current is not None and current not in seen:
                seen.add(current)
                if current in index:
                    covers[d, index[current]] = True
                current = parents.get(current)
        terr = np.array([index[r.action.territory] if k == "assign" else -1
                         for r, k in zip(rules, kinds, strict=True)], dtype=np.int64)
        prio = np.array([type_priority.get(type_of.get(n, ""), 0) for n in names], dtype=np.float64)
        return cls([r.id for r in rules], kinds, terr, names, prio, covers, index)


def decide_one(table: RuleTable, holding: Sequence[int], excluded: frozenset[str] = frozenset()) -> Match:
    """The verdict from the indices of the rules holding for one account (ascending)."""
    hits: list[tuple[int, int]] = []
    first_pending: int | None = None
    for k in holding:
        kind = table.kinds[k]
        if kind == "pending" and first_pending is None and not hits:
            first_pending = k
        elif kind == "assign" and table.territories[table.rule_territory[k]] not in excluded:
            hits.append((k, int(table.rule_territory[k])))
    if first_pending is not None or not hits:
        return Match(PENDING_NO_MATCH, rule_id=table.rule_ids[first_pending] if first_pending is not None else None)
    reached = {t for _, t in hits}
    keep = [t for t in reached if not any(table.covers[d, t] for d in reached)]
    best = max(table.priority[t] for t in keep)
    top = sorted((t for t in keep if table.priority[t] == best), key=lambda t: next(k for k, u in hits if u == t))
    if len(top) > 1:
        return Match(PENDING_MULTI, candidates=tuple(table.territories[t] for t in top))
    winner = top[0]
    rule = next(k for k, t in hits if t == winner)
    return Match(ASSIGNED, table.territories[winner], table.rule_ids[rule])


def _first_true(matrix: np.ndarray) -> np.ndarray:
    if matrix.shape[1] == 0:
        return np.full(matrix.shape[0], -1, dtype=np.int64)
    idx: np.ndarray = matrix.argmax(axis=1).astype(np.int64)
    idx[~matrix.any(axis=1)] = -1
    return idx


@dataclass(frozen=True)
class MatrixVerdict:
    """Column-wise verdicts: status code (index into ``ASSIGNED, NO_MATCH, MULTI``), territory, rule (-1: none)."""

    status: np.ndarray
    territory: np.ndarray
    rule: np.ndarray
    multi: dict[int, tuple[str, ...]]

    def match(self, table: RuleTable, row: int) -> Match:
        """One row's verdict as a Match."""
        status = _CODES[int(self.status[row])]
        terr, rule = int(self.territory[row]), int(self.rule[row])
        return Match(status, table.territories[terr] if terr >= 0 else None,
                     table.rule_ids[rule] if rule >= 0 else None, self.multi.get(row, ()))


def _patterns(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a Boolean matrix (first occurrence of each) and each row's pattern index."""
    if matrix.shape[1] <= 62:
        keys = matrix.astype(np.int64) @ (np.int64(1) << np.arange(matrix.shape[1], dtype=np.int64))
    else:
        packed = np.ascontiguousarray(np.packbits(matrix, axis=1))
        keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def decide_matrix(table: RuleTable, matrix: np.ndarray,
                  excluded: Mapping[int, frozenset[str]] | None = None) -> MatrixVerdict:
    """The verdicts of many accounts from the batch match matrix (rows × rules, Boolean).

    Accounts share a handful of patterns (which rules hold), so each distinct pattern is decided once with
    array operations and the verdict spread to its rows; rows with exclusions (few) go through ``decide_one``.
    """
    first, inverse = _patterns(matrix)
    unique = _decide_dense(table, matrix[first])
    status, territory, rule = unique.status[inverse], unique.territory[inverse], unique.rule[inverse]
    verdict = MatrixVerdict(status, territory, rule, {})
    for pattern, names in unique.multi.items():
        for row in np.flatnonzero(inverse == pattern):
            verdict.multi[int(row)] = names
    for alone, exclusions in (excluded or {}).items():
        one = decide_one(table, np.flatnonzero(matrix[alone]).tolist(), exclusions)
        status[alone] = _CODES.index(one.status)
        territory[alone] = table.index[one.territory] if one.territory else -1
        rule[alone] = table.rule_ids.index(one.rule_id) if one.rule_id else -1
        verdict.multi.pop(alone, None)
        if one.candidates:
            verdict.multi[alone] = one.candidates
    return verdict


def _decide_dense(table: RuleTable, matrix: np.ndarray) -> MatrixVerdict:
    n = matrix.shape[0]
    kinds = np.array(table.kinds)
    assign_cols = np.flatnonzero(kinds == "assign")
    a = matrix[:, assign_cols]
    onehot = np.zeros((len(assign_cols), len(table.territories)), dtype=np.float32)
    onehot[np.arange(len(assign_cols)), table.rule_territory[assign_cols]] = 1.0
    reached = (a.astype(np.float32) @ onehot) > 0
    covered = (reached.astype(np.float32) @ table.covers.astype(np.float32)) > 0
    keep = reached & ~covered
    prio = np.where(keep, table.priority[None, :], -np.inf)
    best = prio.max(axis=1) if len(table.territories) else np.full(n, -np.inf)
    at_best = keep & (table.priority[None, :] == best[:, None])
    winner = _first_true(at_best) if len(table.territories) else np.full(n, -1, dtype=np.int64)
    first_assign = _first_true(a)
    first_assign = np.where(first_assign >= 0, assign_cols[np.maximum(first_assign, 0)], matrix.shape[1])
    pend_cols = np.flatnonzero(kinds == "pending")
    first_pend = _first_true(matrix[:, pend_cols])
    first_pend = np.where(first_pend >= 0, pend_cols[np.maximum(first_pend, 0)], matrix.shape[1] + 1)
    parked = first_pend < first_assign
    status = np.where(~keep.any(axis=1) | parked, 1, np.where(at_best.sum(axis=1) > 1, 2, 0)).astype(np.int8)
    rule_terr = table.rule_territory[assign_cols]
    wins = a & (rule_terr[None, :] == winner[:, None])
    rule = np.where(status == 0, assign_cols[np.maximum(_first_true(wins), 0)], -1)
    rule = np.where(parked, first_pend, rule)
    rule = np.where((status == 1) & ~parked, -1, rule)
    territory = np.where(status == 0, winner, -1)
    verdict = MatrixVerdict(status, territory, rule, {})
    for row in np.flatnonzero(status == 2):
        verdict.multi[int(row)] = decide_one(table, np.flatnonzero(matrix[row]).tolist()).candidates
    return verdict


def weigh(match: Match, confidence: float, threshold: float) -> str:
    """The final status: whatever the rules said, an address read below the threshold is low confidence."""
    if confidence < threshold:
        return PENDING_LOW
    return match.status
