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
    keys = [pl.col(c).cast(pl.String).fill_null("").alias(c) for c in GEO_INPUT]
    keyed = frame.with_columns(keys)
    distinct = keyed.select(GEO_INPUT).unique()
    out: dict[str, list[Any]] = {c: [] for c in _GEO_OUT}
    for country, state, postal, city in distinct.iter_rows():
        geo = normalise_geo(_text(country), _text(state), _text(postal), _text(city))
        for name, value in zip(_GEO_OUT, (geo.country, geo.region, geo.postal, geo.ambiguous,
                                          resolution_reason(_text(country), _text(state), _text(city), geo)),
                               strict=True):
            out[name].append(value)
    lookup = distinct.with_columns(
        *(pl.Series(n, out[n], dtype=pl.Boolean if n == "geo.ambiguous" else pl.String) for n in _GEO_OUT))
    joined = keyed.with_row_index("__row").join(lookup, on=list(GEO_INPUT), how="left").sort("__row")
    return joined.drop("__row").with_columns([frame.get_column(c) for c in GEO_INPUT])


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


def assign_batch(frame: pl.DataFrame, env: MatchEnv, resolver: GeoResolver | None, *,
                 manual: Mapping[str, str] | None = None, excluded: Mapping[str, frozenset[str]] | None = None,
                 threshold: float = DEFAULT_THRESHOLD) -> Assignments:
    """Match every account of ``frame`` (see :func:`accounts_frame`) through the batch path.

    Args:
        frame: accounts, one row each, with ``Id`` and their address and rule fields.
        env: compiled match rules and hierarchy.
        resolver: reads unclear addresses; None parks them all as ``pending:ambiguous_geo``.
        manual: account id -> territory of a manual assignment (kept as it is, not matched).
        excluded: account id -> territories it must not be put in.
        threshold: the least confidence an assignment from a resolved address needs.
    """
    manual, excluded = manual or {}, excluded or {}
    geo = geo_columns(frame)
    ids = geo.get_column("Id").to_list()
    row_of = {a: i for i, a in enumerate(ids)}
    excl_rows = {row_of[a]: names for a, names in excluded.items() if a in row_of}
    verdict = decide_matrix(env.table, _matrix(env, geo), excl_rows)
    status = np.array(["assigned", "pending:no_match", "pending:multi_match"], dtype=object)[verdict.status]
    territory = np.array(env.table.territories + [None], dtype=object)[verdict.territory]
    rule = np.array(env.table.rule_ids + [None], dtype=object)[verdict.rule]
    confidence = np.ones(len(ids))
    evidence: dict[str, dict[str, Any]] = {}
    unclear = geo.with_row_index("__row").filter(pl.col("resolve_reason").is_not_null())
    _resolve_rows(unclear, env, resolver, excluded, threshold, (status, territory, rule, confidence), evidence)
    for i in np.flatnonzero(status == "pending:multi_match"):
        evidence.setdefault(ids[i], {"status": status[i], "candidates": list(verdict.multi.get(int(i), ()))})
    for i in np.flatnonzero(status == "pending:no_match"):
        evidence.setdefault(ids[i], {"status": status[i], "rule_id": rule[i]})
    for account, terr in manual.items():
        if account in row_of:
            i = row_of[account]
            status[i], territory[i], rule[i], confidence[i] = MANUAL, terr, None, 1.0
            evidence.pop(account, None)
    out = pl.DataFrame({"Id": ids, "status": status.tolist(), "territory": territory.tolist(),
                        "rule_id": rule.tolist(), "confidence": confidence},
                       schema={"Id": pl.String, "status": pl.String, "territory": pl.String,
                               "rule_id": pl.String, "confidence": pl.Float64})
    return Assignments(out, evidence)


def _resolve_rows(unclear: pl.DataFrame, env: MatchEnv, resolver: GeoResolver | None,
                  excluded: Mapping[str, frozenset[str]], threshold: float, cols: tuple[np.ndarray, ...],
                  evidence: dict[str, dict[str, Any]]) -> None:
    status, territory, rule, confidence = cols
    if unclear.height == 0:
        return
    asked: dict[int, Resolution | None] = {}
    resolved_rows: list[dict[str, Any]] = []
    for row in unclear.iter_rows(named=True):
        q = _question(row)
        res = resolver.resolve(q) if resolver is not None else None
        asked[row["__row"]] = res
        parked = _resolved_status(res)
        if parked is not None:
            i = row["__row"]
            status[i], territory[i], rule[i], confidence[i] = parked, None, None, res.confidence if res else 0.0
            evidence[row["Id"]] = _evidence(q, None, res, parked)
            continue
        assert res is not None
        resolved_rows.append({**row, "geo.country": res.country, "geo.region": res.region, "geo.ambiguous": False})
    if not resolved_rows:
        return
    again = pl.DataFrame(resolved_rows, infer_schema_length=None)
    verdict = decide_matrix(env.table, _matrix(env, again))
    for j, row in enumerate(again.iter_rows(named=True)):
        i, res = row["__row"], asked[row["__row"]]
        assert res is not None
        names = excluded.get(row["Id"])
        match = (decide_one(env.table, np.flatnonzero(_matrix(env, again[j])[0]).tolist(), names) if names
                 else verdict.match(env.table, j))
        final = weigh(match, res.confidence, threshold)
        status[i], confidence[i] = final, res.confidence
        territory[i], rule[i] = (match.territory, match.rule_id) if final == ASSIGNED else (None, match.rule_id)
        evidence[row["Id"]] = _evidence(_question(row), match, res, final)


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
