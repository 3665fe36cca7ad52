"""Matching accounts to territories: the batch path over a frame, and the single-record path, same outcomes.

The batch path reads the accounts as a Polars frame, normalises each distinct address once, builds the
match matrix of every rule over every account (the shared engine's ``match_matrix``) and decides with array
operations. Accounts whose address needs reading (ambiguous, no country, a city alone) go to the resolver,
once per distinct question, and are matched again on the resolved geography. The single-record path builds
each account's context with ``build_context`` and walks the rules with the live engine; it exists for one
account at a time (a webhook, a review) and as the reference the batch path is tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from revloops.core.context import build_context
from revloops.core.geo import normalise_geo
from revloops.core.rules import CompiledRules, compile_rules
from revloops.loops.deploy.assignment import (
    ASSIGNED,
    MANUAL,
    PENDING_AMBIGUOUS,
    PENDING_LOW,
    PENDING_MULTI,
    PENDING_NO_MATCH,
    Match,
    RuleTable,
    decide_matrix,
    decide_one,
    resolution_reason,
    weigh,
)
from revloops.loops.deploy.resolver import GeoQuestion, GeoResolver, Resolution

GEO_INPUT = ("BillingCountry", "BillingState", "BillingPostalCode", "BillingCity")
ACCOUNT_FIELDS = ("Id", "Name", "Website", *GEO_INPUT)
DEFAULT_THRESHOLD = 0.8
_GEO_OUT = ("geo.country", "geo.region", "geo.postal", "geo.ambiguous", "resolve_reason")


@dataclass
class MatchEnv:
    """The compiled match rules and the hierarchy facts outcomes need."""

    compiled: CompiledRules
    table: RuleTable
    parents: Mapping[str, str | None]

    @classmethod
    def build(cls, match_rules: Any, territories: Any) -> MatchEnv:
        """From ``deploy/match_rules.yaml`` and ``design/territories.yaml`` (their loaded models)."""
        compiled = compile_rules(match_rules, "Account")
        parents = {t.developer_name: t.parent for t in territories.territories}
        type_of = {t.developer_name: t.type for t in territories.territories}
        prio = {t.developer_name: t.priority for t in territories.types}
        return cls(compiled, RuleTable.build(compiled.rules, parents, type_of, prio), parents)


@dataclass(frozen=True)
class Outcome:
    """One account's outcome: status (``assigned``, ``manual`` or a pending sentinel), territory, confidence."""

    account_id: str
    status: str
    territory: str | None
    confidence: float
    rule_id: str | None = None
    evidence: Mapping[str, Any] | None = None


@dataclass
class Assignments:
    """Outcomes column-wise (``Id, status, territory, rule_id, confidence``) and evidence by account id."""

    frame: pl.DataFrame
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)

    def outcomes(self) -> list[Outcome]:
        """Row objects (for small sets: review, tests, the CLI)."""
        return [Outcome(r["Id"], r["status"], r["territory"], r["confidence"], r["rule_id"], self.evidence.get(r["Id"]))
                for r in self.frame.iter_rows(named=True)]

    def counts(self) -> dict[str, int]:
        return dict(self.frame.group_by("status").len().iter_rows())


def accounts_frame(records: Iterable[Mapping[str, Any]], extra: Sequence[str] = ()) -> pl.DataFrame:
    """A frame of accounts with the fields matching reads (``extra``: other Account fields the rules use)."""
    names = list(dict.fromkeys((*ACCOUNT_FIELDS, *extra)))
    rows = list(records)
    data = {n: [r.get(n) for r in rows] for n in names}
    frame = pl.DataFrame(data, strict=False, infer_schema_length=None)
    return frame.with_columns([pl.col(n).cast(pl.String) for n in ACCOUNT_FIELDS if n in frame.columns])


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def geo_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``geo.*`` and ``resolve_reason``, each distinct address normalised once."""
    missing = [pl.lit(None, dtype=pl.String).alias(c) for c in GEO_INPUT if c not in frame.columns]
    frame = frame.with_columns(missing) if missing else frame
    frame = frame.with_columns([pl.col(c).cast(pl.String) for c in GEO_INPUT])
    distinct = frame.select(GEO_INPUT).unique()
    out: dict[str, list[Any]] = {c: [] for c in _GEO_OUT}
    for country, state, postal, city in distinct.iter_rows():
        geo = normalise_geo(_text(country), _text(state), _text(postal), _text(city))
        for name, value in zip(_GEO_OUT, (geo.country, geo.region, geo.postal, geo.ambiguous,
                                          resolution_reason(_text(country), _text(state), _text(city), geo)),
                               strict=True):
            out[name].append(value)
    lookup = distinct.with_columns(
        *(pl.Series(n, out[n], dtype=pl.Boolean if n == "geo.ambiguous" else pl.String) for n in _GEO_OUT))
    return frame.join(lookup, on=list(GEO_INPUT), how="left", nulls_equal=True, maintain_order="left")


def _rules_input(frame: pl.DataFrame, fields: Sequence[str]) -> pl.DataFrame:
    cols = [frame.get_column(f) if f in frame.columns else pl.Series(f, [None] * frame.height, dtype=pl.String)
            for f in fields]
    return pl.DataFrame(cols) if cols else pl.DataFrame({"__row": np.arange(frame.height)})


def _matrix(env: MatchEnv, frame: pl.DataFrame) -> np.ndarray:
    return env.compiled.match_matrix(_rules_input(frame, env.compiled.fields)).to_numpy().astype(bool)


def _question(row: Mapping[str, Any]) -> GeoQuestion:
    return GeoQuestion(row["Id"], _text(row.get("Name")), _text(row.get("Website")), _text(row.get("BillingCountry")),
                       _text(row.get("BillingState")), _text(row.get("BillingPostalCode")),
                       _text(row.get("BillingCity")), row.get("resolve_reason") or "")


def _evidence(q: GeoQuestion, match: Match | None, res: Resolution | None, status: str) -> dict[str, Any]:
    ev: dict[str, Any] = {"status": status, "why_resolved": q.reason,
                          "address": {k: v for k, v in zip(GEO_INPUT, q.geo_key(), strict=True) if v}}
    ev["resolution"] = res.as_evidence() if res is not None else None
    if match is not None:
        ev.update(rule_id=match.rule_id, proposed=match.territory, candidates=list(match.candidates))
    return ev


def _resolved_status(res: Resolution | None) -> str | None:
    """The pending state a resolution alone decides, or None when it can be matched."""
    if res is None or (res.country is None and res.problem is None):
        return PENDING_AMBIGUOUS
    if res.problem is not None:  # an answer that failed validation or cites nothing is not trusted
        return PENDING_LOW
    return None


_STATUS = (ASSIGNED, PENDING_NO_MATCH, PENDING_MULTI, PENDING_AMBIGUOUS, PENDING_LOW, MANUAL)


@dataclass
class _Columns:
    """The batch outcome while it is being decided: codes into ``_STATUS``, territory and rule indices."""

    status: np.ndarray
    territory: np.ndarray
    rule: np.ndarray
    confidence: np.ndarray
    evidence: dict[int, dict[str, Any]] = field(default_factory=dict)  # row -> evidence (shared between rows)
    unclear: list[bool] = field(default_factory=list)

    def set(self, rows: Sequence[int] | np.ndarray, env: MatchEnv, status: str, territory: str | None,
            rule_id: str | None, confidence: float, evidence: dict[str, Any] | None) -> None:
        self.status[rows] = _STATUS.index(status)
        self.territory[rows] = env.table.index[territory] if territory else -1
        self.rule[rows] = env.table.rule_ids.index(rule_id) if rule_id else -1
        self.confidence[rows] = confidence
        for r in rows:
            if evidence is None:
                self.evidence.pop(int(r), None)
            else:
                self.evidence[int(r)] = evidence


def assign_batch(frame: pl.DataFrame, env: MatchEnv, resolver: GeoResolver | None, *,
                 manual: Mapping[str, str] | None = None, excluded: Mapping[str, frozenset[str]] | None = None,
                 threshold: float = DEFAULT_THRESHOLD) -> Assignments:
    """Match every account of ``frame`` (see :func:`accounts_frame`) through the batch path.

    Accounts with the same address and rule fields get the same outcome, so the matrix and decisions run
    once per distinct combination and spread to the accounts; an account with exclusions, and every
    unclear account when the resolver reads more than the address (the LLM reads the name and website),
    is decided on its own.

    Args:
        frame: accounts, one row each, with ``Id`` and their address and rule fields.
        env: compiled match rules and hierarchy.
        resolver: reads unclear addresses; None parks them all as ``pending:ambiguous_geo``.
        manual: account id -> territory of a manual assignment (kept as it is, not matched).
        excluded: account id -> territories it must not be put in.
        threshold: the least confidence an assignment from a resolved address needs.
    """
    manual, excluded = manual or {}, excluded or {}
    keys = [*GEO_INPUT, *(f for f in env.compiled.fields if not f.startswith("geo."))]
    frame = frame.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in dict.fromkeys(keys)
                                if c not in frame.columns])
    codes, first = _combinations(frame, list(dict.fromkeys(keys)))
    distinct = frame[first]
    per_address = getattr(resolver, "per_address", False)
    dcols = _decide_rows(distinct, env, resolver if per_address else None, {}, threshold)
    cols = _Columns(dcols.status[codes], dcols.territory[codes], dcols.rule[codes], dcols.confidence[codes])
    alone = set(excluded)
    if not per_address and resolver is not None:
        unclear_codes = np.flatnonzero(pl.Series(dcols.unclear).to_numpy())
        rows = np.flatnonzero(np.isin(codes, unclear_codes))
        alone |= set(frame.get_column("Id").gather(rows).to_list())
    ids = frame.get_column("Id").cast(pl.String)
    with_evidence = np.flatnonzero(np.isin(codes, np.array(sorted(dcols.evidence), dtype=np.int64)))
    evidence = {a: dcols.evidence[int(codes[r])]
                for a, r in zip(ids.gather(with_evidence).to_list(), with_evidence.tolist(), strict=True)}
    special = sorted(_rows_of(frame.with_row_index("__row"), {a: a for a in alone}))
    if special:
        sub = _decide_rows(frame[special], env, resolver, excluded, threshold)
        for j, row in enumerate(special):
            cols.status[row], cols.territory[row], cols.rule[row] = sub.status[j], sub.territory[j], sub.rule[j]
            cols.confidence[row] = sub.confidence[j]
            account = str(ids[row])
            evidence.pop(account, None)
            if j in sub.evidence:
                evidence[account] = sub.evidence[j]
    for row, account in _rows_of(frame.with_row_index("__row"), {a: a for a in manual}).items():
        cols.set([row], env, MANUAL, None, None, 1.0, None)
        evidence.pop(account, None)
    return _assignments(ids, env, cols, manual, evidence)


def _combinations(frame: pl.DataFrame, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's combination of ``keys`` as a code (0, 1, ... in order of first appearance), and the row where
    each combination first appears (hashing, not sorting: a million accounts hold a few thousand)."""
    keyed = frame.select(keys)
    firsts = keyed.with_row_index("__first").unique(subset=keys, keep="first", maintain_order=True)
    table = firsts.with_row_index("__code").drop("__first")
    codes = keyed.join(table, on=keys, how="left", nulls_equal=True, maintain_order="left").get_column("__code")
    return codes.to_numpy().astype(np.int64), firsts.get_column("__first").to_numpy().astype(np.int64)


def _decide_rows(frame: pl.DataFrame, env: MatchEnv, resolver: GeoResolver | None,
                 excluded: Mapping[str, frozenset[str]], threshold: float) -> _Columns:
    """Decide each row of ``frame`` (the distinct combinations, or accounts that need deciding alone)."""
    geo = geo_columns(frame).with_row_index("__row")
    verdict = decide_matrix(env.table, _matrix(env, geo), _rows_of(geo, excluded))
    cols = _Columns(verdict.status.astype(np.int8), verdict.territory.copy(), verdict.rule.copy(),
                    np.ones(geo.height))
    cols.unclear = geo.get_column("resolve_reason").is_not_null().to_list()
    for no_match in np.flatnonzero(cols.status == 1):
        rule = env.table.rule_ids[cols.rule[no_match]] if cols.rule[no_match] >= 0 else None
        cols.evidence[int(no_match)] = {"status": PENDING_NO_MATCH, "rule_id": rule}
    for row, names in verdict.multi.items():
        cols.evidence[row] = {"status": PENDING_MULTI, "candidates": list(names)}
    unclear = geo.filter(pl.col("resolve_reason").is_not_null())
    if unclear.height:
        _resolve_groups(unclear, env, resolver, excluded, threshold, cols)
    return cols


def _rows_of(geo: pl.DataFrame, by_account: Mapping[str, Any]) -> dict[int, Any]:
    if not by_account:
        return {}
    found = geo.filter(pl.col("Id").is_in(list(by_account))).select("__row", "Id")
    return {row: by_account[account] for row, account in found.iter_rows()}


def _assignments(ids: pl.Series, env: MatchEnv, cols: _Columns, manual: Mapping[str, str],
                 evidence: dict[str, dict[str, Any]]) -> Assignments:
    names = pl.Series(values=[*env.table.territories, None], dtype=pl.String)
    rules = pl.Series(values=[*env.table.rule_ids, None], dtype=pl.String)
    terr_idx = np.where(cols.territory >= 0, cols.territory, len(env.table.territories))
    rule_idx = np.where(cols.rule >= 0, cols.rule, len(env.table.rule_ids))
    out = pl.DataFrame({
        "Id": ids, "status": pl.Series(values=list(_STATUS), dtype=pl.String).gather(cols.status.astype(np.int64)),
        "territory": names.gather(terr_idx), "rule_id": rules.gather(rule_idx), "confidence": cols.confidence,
    })
    if manual:
        out = out.with_columns(pl.when(pl.col("status") == MANUAL)
                               .then(pl.col("Id").replace_strict(dict(manual), default=None, return_dtype=pl.String))
                               .otherwise(pl.col("territory")).alias("territory"))
    return Assignments(out, evidence)


def _resolve_groups(unclear: pl.DataFrame, env: MatchEnv, resolver: GeoResolver | None,
                    excluded: Mapping[str, frozenset[str]], threshold: float, cols: _Columns) -> None:
    """Resolve each distinct question once (per address, or per account for a resolver that reads more)."""
    rule_fields = [f for f in env.compiled.fields if not f.startswith("geo.") and f in unclear.columns]
    keys = ([*GEO_INPUT, "resolve_reason", *rule_fields] if getattr(resolver, "per_address", False)
            else ["__row"])
    carried = [c for c in ("Id", "Name", "Website", *GEO_INPUT, "resolve_reason") if c not in keys]
    groups = unclear.group_by(keys, maintain_order=True).agg(pl.col("__row").alias("__rows"),
                                                              *(pl.first(c) for c in carried))
    pending: list[tuple[dict[str, Any], Resolution, list[int]]] = []
    for group in groups.iter_rows(named=True):
        q = _question(group)
        res = resolver.resolve(q) if resolver is not None else None
        parked = _resolved_status(res)
        if parked is not None:
            cols.set(group["__rows"], env, parked, None, None, res.confidence if res else 0.0,
                     _evidence(q, None, res, parked))
            continue
        assert res is not None
        pending.append((group, res, sorted(group["__rows"])))
    if not pending:
        return
    pending.sort(key=lambda p: p[2][0])
    again = unclear.filter(pl.col("__row").is_in([rows[0] for _, _, rows in pending])).sort("__row")
    order = {r: i for i, r in enumerate(again.get_column("__row").to_list())}
    again = again.with_columns(pl.Series("geo.country", [p[1].country for p in pending], dtype=pl.String),
                               pl.Series("geo.region", [p[1].region for p in pending], dtype=pl.String),
                               pl.lit(False).alias("geo.ambiguous"))
    matrix = _matrix(env, again)
    verdict = decide_matrix(env.table, matrix)
    ids = unclear.select("__row", "Id").to_dict(as_series=False)
    account_of = dict(zip(ids["__row"], ids["Id"], strict=True))
    for group, res, rows in pending:
        j = order[rows[0]]
        plain = [r for r in rows if account_of[r] not in excluded]
        for subset, match in ([(plain, verdict.match(env.table, j))] if plain else []) + [
                ([r], decide_one(env.table, np.flatnonzero(matrix[j]).tolist(), excluded[account_of[r]]))
                for r in rows if account_of[r] in excluded]:
            final = weigh(match, res.confidence, threshold)
            cols.set(subset, env, final, match.territory if final == ASSIGNED else None, match.rule_id,
                     res.confidence, _evidence(_question(group), match, res, final))


def assign_one(record: Mapping[str, Any], env: MatchEnv, resolver: GeoResolver | None, *,
               manual_territory: str | None = None, excluded: frozenset[str] = frozenset(),
               threshold: float = DEFAULT_THRESHOLD) -> Outcome:
    """Match one account through the single-record path (the live engine over its context)."""
    account_id = str(record.get("Id") or "")
    if manual_territory is not None:
        return Outcome(account_id, MANUAL, manual_territory, 1.0)
    ctx = build_context(record, sobject="Account")
    geo = normalise_geo(*(_text(record.get(c)) for c in GEO_INPUT))
    reason = resolution_reason(_text(record.get("BillingCountry")), _text(record.get("BillingState")),
                               _text(record.get("BillingCity")), geo)
    if reason is None:
        match = decide_one(env.table, _holding(env.compiled, ctx), excluded)
        ev = None if match.status == ASSIGNED else _plain_evidence(match)
        return Outcome(account_id, match.status, match.territory, 1.0, match.rule_id, ev)
    q = _question({**record, "resolve_reason": reason})
    res = resolver.resolve(q) if resolver is not None else None
    parked = _resolved_status(res)
    if parked is not None:
        return Outcome(account_id, parked, None, res.confidence if res else 0.0, None, _evidence(q, None, res, parked))
    assert res is not None
    ctx = {k: v for k, v in ctx.items() if k not in ("geo.country", "geo.region")}
    ctx.update({"geo.country": res.country, "geo.ambiguous": False}, **({"geo.region": res.region} if res.region else {}))
    match = decide_one(env.table, _holding(env.compiled, ctx), excluded)
    final = weigh(match, res.confidence, threshold)
    terr = match.territory if final == ASSIGNED else None
    return Outcome(account_id, final, terr, res.confidence, match.rule_id, _evidence(q, match, res, final))


def _plain_evidence(match: Match) -> dict[str, Any]:
    if match.candidates:
        return {"status": match.status, "candidates": list(match.candidates)}
    return {"status": match.status, "rule_id": match.rule_id}


def _holding(compiled: CompiledRules, ctx: Mapping[str, Any]) -> list[int]:
    out, k = [], compiled.first_holding(ctx, 0)
    while k >= 0:
        out.append(k)
        k = compiled.first_holding(ctx, k + 1)
    return out
