"""Deploy's flows through the ports: sync the hierarchy, assign accounts, review pending ones, coverage.

The CLI (and the API and MCP tools) call these; each takes the config and the ports it needs.
Assignment writes ObjectTerritory2Association rows (create and delete only, as Salesforce allows) and the
account's ``Territory_Status__c`` / ``Territory_Evidence__c``; like the sync it re-plans from the CRM on
every run, so an apply cut short is finished by the next one. Its plan is columnar end to end: accounts,
associations and exclusions read as frames (``CRM.read_columns``), the writes a diff of frames, kept as frames
(``Rows``) that read like the lists of tuples they stand for, so a dry run over a million accounts builds no
object per account.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import numpy as np
import polars as pl

from revloops.config.loader import GtmConfig
from revloops.core.decisions import Decision, canonical_json, digest
from revloops.core.errors import AdapterError, DomainError, InputError, NotFound
from revloops.core.frames import empty_frame
from revloops.core.model import Frozen
from revloops.core.records import Account, ObjectTerritory2Association
from revloops.loops.deploy import sync
from revloops.loops.deploy.assign import (
    ACCOUNT_FIELDS,
    Assignments,
    MatchEnv,
    assign_batch,
)
from revloops.loops.deploy.assignment import ASSIGNED, MANUAL, SENTINELS
from revloops.loops.deploy.coverage import Coverage, coverage
from revloops.loops.deploy.resolver import GeoResolver, LLMResolver, OfflineResolver
from revloops.ports.crm import BATCH_SIZE, CRM, Filter, Query
from revloops.ports.decisions import DecisionStore
from revloops.ports.llm import LLM

RULE_CAUSE, MANUAL_CAUSE = "Territory2AssignmentRule", "Territory2Manual"
EVIDENCE_LIMIT = 32000  # Territory_Evidence__c is a long text area
ACCOUNT_STATE = ("Territory_Status__c", "Territory_Evidence__c")  # what an assignment writes on the account
_ASSOCIATION = ("Id", "ObjectId", "Territory2Id", "AssociationCause")
Progress = Callable[[int, int], None]


def _require(cfg: GtmConfig, *keys: str) -> list[Any]:
    missing = [k for k in keys if cfg.get(k) is None]
    if missing:
        files = {"territories": "design/territories.yaml", "match_rules": "deploy/match_rules.yaml",
                 "assignments": "deploy/assignments.yaml"}
        raise InputError(f"the config has no {', '.join(files.get(k, k) for k in missing)}", field=missing[0])
    return [cfg.get(k) for k in keys]


def _user_assignments(cfg: GtmConfig) -> list[Any]:
    found = cfg.get("assignments")
    return list(found.assignments) if found is not None else []


def plan_sync(cfg: GtmConfig, crm: CRM, decisions: DecisionStore | None = None, *, refresh: bool = False,
              today: dt.date | None = None) -> sync.SyncPlan:
    """The sync plan of the config's hierarchy and user assignments against the CRM."""
    (tree,) = _require(cfg, "territories")
    return sync.plan(crm, tree, _user_assignments(cfg), today=today, decisions=decisions, refresh=refresh,
                     basis=cfg.version)


def apply_sync(cfg: GtmConfig, crm: CRM, decisions: DecisionStore | None = None, *, actor: str = "cli",
               today: dt.date | None = None, progress: Progress | None = None) -> sync.ApplyResult:
    """Apply the sync (re-planned from a full read), 200 records a call."""
    (tree,) = _require(cfg, "territories")
    return sync.apply(crm, tree, _user_assignments(cfg), today=today, decisions=decisions,
                      config_version=cfg.version, actor=actor, progress=progress, basis=cfg.version)


def make_resolver(llm: LLM | None) -> GeoResolver:
    """Claude with web search when an LLM is configured (falling back to the gazetteer), else the gazetteer."""
    offline = OfflineResolver()
    return LLMResolver(llm, fallback=offline) if llm is not None else offline


# -- assignment ---------------------------------------------------------------------------------------

class Move(Frozen):
    """An account whose territory would change between two configs, and the AE of each territory (shown for
    reference: assignment writes territory associations and never ``Account.OwnerId``)."""

    account_id: str
    name: str | None
    before: str | None
    after: str | None
    before_owner: str | None
    after_owner: str | None


T = TypeVar("T")
V = TypeVar("V")
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'  # what JSON escapes in a string (json.dumps with ensure_ascii=False)
_ITER_ROWS = 10_000


def _json_string(frame: pl.DataFrame, name: str) -> pl.Expr:
    """Each value's canonical JSON: ``null``, or the string quoted (escaped once per distinct string that
    needs it). The column's bytes are searched once: ids and names never need escaping."""
    column, value = frame.get_column(name), pl.col(name)
    quoted = pl.concat_str(pl.lit('"'), value, pl.lit('"'))
    text = np.frombuffer(column.drop_nulls().str.join("").cast(pl.Binary).item() or b"", dtype=np.uint8)
    if ((text < 0x20) | (text == ord('"')) | (text == ord("\\"))).any():  # never inside a multi-byte character
        special = column.filter(column.str.contains(_NEEDS_ESCAPE)).unique().to_list()
        escaped = {v: canonical_json(v) for v in special}
        quoted = pl.when(value.is_in(special)).then(value.replace_strict(escaped, default=None)).otherwise(quoted)
    return quoted.fill_null(pl.lit("null")) if column.null_count() else quoted


def _joined(frame: pl.DataFrame, element: pl.Expr) -> bytes:
    """``element`` of every row, comma-separated, as UTF-8."""
    return frame.select(element.str.join(",").cast(pl.Binary)).item() if frame.height else b""


class Rows(Sequence[T]):
    """A read-only list over the rows of a frame, each row built when it is read: a plan's writes stay
    columns, so a dry run over a million accounts counts, samples and digests them without a million tuples."""

    def __init__(self, frame: pl.DataFrame, make: Callable[[tuple[Any, ...]], T] | None = None) -> None:
        self.frame = frame
        self._make = make

    def _built(self, frame: pl.DataFrame) -> list[T]:
        rows = frame.rows()
        return [self._make(r) for r in rows] if self._make is not None else rows  # type: ignore[return-value]

    def __len__(self) -> int:
        return self.frame.height

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            picked = range(*index.indices(self.frame.height))
            if picked.step == 1:
                return self._built(self.frame.slice(picked.start, len(picked)))
            return self._built(self.frame[list(picked)]) if picked else []
        position = index + self.frame.height if index < 0 else index
        if not 0 <= position < self.frame.height:
            raise IndexError(index)
        return self._built(self.frame.slice(position, 1))[0]

    def __iter__(self) -> Iterator[T]:
        for start in range(0, self.frame.height, _ITER_ROWS):
            yield from self._built(self.frame.slice(start, _ITER_ROWS))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Rows | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Rows({self[:3]!r}{' …' if len(self) > 3 else ''}, {len(self)} rows)"

    def json(self) -> bytes:
        """The rows' canonical JSON, comma-separated (``canonical_json(list(self))`` without its brackets);
        string columns only."""
        parts: list[pl.Expr] = []
        for name in self.frame.columns:
            parts += [pl.lit(","), _json_string(self.frame, name)]
        return _joined(self.frame, pl.concat_str(pl.lit("["), *parts[1:], pl.lit("]")))


def _update_fields(status: str, evidence: str | None) -> dict[str, Any]:
    if status == MANUAL:  # a settled account keeps the evidence and the review (who, why) written by resolve
        return {"Territory_Status__c": status}
    return {"Territory_Status__c": status, "Territory_Evidence__c": evidence}


class FieldUpdates(Rows[tuple[str, dict[str, Any]]]):
    """``(account id, fields)`` per account whose status fields change, over ``Id, status, evidence``."""

    def __init__(self, frame: pl.DataFrame) -> None:
        super().__init__(frame, lambda row: (row[0], _update_fields(row[1], row[2])))

    def json(self) -> bytes:
        # the fields' JSON once per distinct (status, evidence): a run writes a few thousand different ones
        keys = self.frame.select("status", "evidence").unique()
        fields = [canonical_json(_update_fields(status, evidence)) for status, evidence in keys.iter_rows()]
        texts = keys.with_columns(pl.Series("fields", fields, dtype=pl.String))
        rows = self.frame.join(texts, on=["status", "evidence"], how="left", nulls_equal=True, maintain_order="left")
        element = pl.concat_str(pl.lit("["), _json_string(rows, "Id"), pl.lit(","), pl.col("fields"), pl.lit("]"))
        return _joined(rows, element)


class Lookup(Mapping[str, V]):
    """A read-only mapping over a frame's first (key) and second (value) columns, in the frame's order; the
    dict behind lookups is built on the first one."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self._dict: dict[str, V] | None = None

    def _lookup(self) -> dict[str, V]:
        if self._dict is None:
            keys, values = (self.frame.get_column(c).to_list() for c in self.frame.columns[:2])
            self._dict = dict(zip(keys, values, strict=True))
        return self._dict

    def __getitem__(self, key: str) -> V:
        return self._lookup()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._lookup()

    def __iter__(self) -> Iterator[str]:
        return iter(self.frame.get_column(self.frame.columns[0]).to_list())

    def __len__(self) -> int:
        return self.frame.height

    def __repr__(self) -> str:
        return f"Lookup({len(self)} keys)"


@dataclass
class AssignPlan:
    """Outcomes and the writes that make the CRM hold them.

    The writes and ``changed`` read like lists and dicts of tuples (``Rows``, ``Lookup``) but stay frames
    until a row is read; a plan is a value: nothing in it is meant to be changed.
    """

    assignments: Assignments
    names: Mapping[str, str | None]
    territory_ids: dict[str, str]
    creates: Sequence[tuple[str, str]] = field(default_factory=list)
    deletes: Sequence[tuple[str, str, str]] = field(default_factory=list)
    field_updates: Sequence[tuple[str, dict[str, Any]]] = field(default_factory=list)
    changed: Mapping[str, str | None] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.creates or self.deletes or self.field_updates)

    def digest(self) -> str:
        """``digest([creates, deletes, field_updates])`` (what a plan id is made of), written column-wise when
        the writes are frames: the same canonical JSON, hashed."""
        writes = (self.creates, self.deletes, self.field_updates)
        frames = [w for w in writes if isinstance(w, Rows)]
        if len(frames) < len(writes):
            return digest([list(w) for w in writes])
        text = hashlib.sha256(b"[")
        for k, rows in enumerate(frames):
            text.update(b",[" if k else b"[")
            text.update(rows.json())
            text.update(b"]")
        text.update(b"]")
        return "sha256:" + text.hexdigest()


@dataclass
class _Org:
    """What an assignment plan reads of the CRM, as frames.

    ``accounts`` are in ``Id`` order (the order the plan's writes take); ``rules`` holds each account's rule
    associations to the model's territories, one row per (account, territory): ``Id`` the last association's
    id and ``first`` the first one's, in ``Id`` order (the order they were always read in: a duplicate's last
    id is the one kept, and an account's territories come in the order their first association does).
    """

    territory_ids: dict[str, str]
    accounts: pl.DataFrame
    rules: pl.DataFrame  # ObjectId, territory, Id, first
    manual: dict[str, str]  # account -> territory of its first manual association
    excluded: dict[str, frozenset[str]]


def _frame(crm: CRM, sobject: str, columns: Sequence[str]) -> pl.DataFrame:
    chunks = list(crm.read_columns(sobject, columns))
    return pl.concat(chunks) if chunks else empty_frame(sobject, columns)


def _territory_ids(crm: CRM, model_name: str) -> dict[str, str]:
    model = crm.find_one(Query("Territory2Model", (Filter("DeveloperName", "eq", model_name),)))
    ids: dict[str, str] = {}
    if model is not None:
        for t in crm.query_all(Query("Territory2", (Filter("Territory2ModelId", "eq", model.Id),))):
            ids[t.DeveloperName] = t.Id or ""  # type: ignore[attr-defined]
    return ids


def _in_model(frame: pl.DataFrame, ids: Mapping[str, str]) -> pl.DataFrame:
    """``frame``'s rows whose ``Territory2Id`` is one of the model's territories, with the ``territory`` name."""
    names = pl.DataFrame({"Territory2Id": list(ids.values()), "territory": list(ids)},
                         schema={"Territory2Id": pl.String, "territory": pl.String}).unique("Territory2Id", keep="last")
    return frame.with_columns(pl.col("Territory2Id").fill_null("")).join(
        names, on="Territory2Id", how="inner", maintain_order="left")


def account_columns(cfg: GtmConfig) -> list[str]:
    """The Account columns an assignment plan reads: the address, the status fields and the rules' fields."""
    fields = Account.model_fields
    extra = (f for f in _fields(cfg.get("match_rules")) if not f.startswith("geo.") and f in fields)
    return list(dict.fromkeys((*ACCOUNT_FIELDS, *ACCOUNT_STATE, *extra)))


def _read_org(crm: CRM, model_name: str, columns: Sequence[str]) -> _Org:
    ids = _territory_ids(crm, model_name)
    assoc = _in_model(_frame(crm, "ObjectTerritory2Association", _ASSOCIATION), ids)
    is_manual = pl.col("AssociationCause").eq_missing(MANUAL_CAUSE)
    manual = assoc.filter(is_manual).group_by("ObjectId").agg(pl.col("territory").sort_by("Id").first())
    rules = (assoc.filter(~is_manual).group_by("ObjectId", "territory")
             .agg(pl.col("Id").max(), pl.col("Id").min().alias("first")))
    excluded: dict[str, set[str]] = {}
    exclusions = _in_model(_frame(crm, "Territory2ObjectExclusion", ("ObjectId", "Territory2Id")), ids)
    for account, terr in exclusions.select(pl.col("ObjectId").fill_null(""), "territory").iter_rows():
        excluded.setdefault(account, set()).add(terr)
    accounts = _frame(crm, "Account", columns).sort("Id")  # the order the writes were always planned in
    return _Org(ids, accounts, rules, dict(manual.iter_rows()), {k: frozenset(v) for k, v in excluded.items()})


def _evidence_text(evidence: Mapping[str, Any] | None) -> str | None:
    if not evidence:
        return None
    text = canonical_json(evidence)
    return text if len(text) <= EVIDENCE_LIMIT else text[: EVIDENCE_LIMIT - 1] + "…"


def _outcomes(cfg: GtmConfig, org: _Org, resolver: GeoResolver, threshold: float) -> Assignments:
    tree, rules = _require(cfg, "territories", "match_rules")
    env = MatchEnv.build(rules, tree)
    extra = [f for f in env.compiled.fields if not f.startswith("geo.")]
    # a field the accounts were not read with (not an Account field, or only ``against``'s rules use it) reads
    # as nulls, as it did from records
    frame = org.accounts.with_columns(pl.lit(None).alias(f) for f in dict.fromkeys(extra)
                                      if f not in org.accounts.columns)
    return assign_batch(frame.select(list(dict.fromkeys((*ACCOUNT_FIELDS, *extra)))), env, resolver,
                        manual=org.manual, excluded=org.excluded, threshold=threshold)


def _holders(cfg: GtmConfig, territories: Iterable[str | None], role: str = "AE") -> dict[str | None, str | None]:
    """The user holding ``role`` in each territory today (None when nobody does)."""
    today = dt.datetime.now(dt.UTC).date()
    out: dict[str | None, str | None] = dict.fromkeys(territories)
    for a in reversed(_user_assignments(cfg)):  # the first listed wins
        if a.territory in out and a.role == role and a.active_on(today):
            out[a.territory] = str(a.user)
    return out


def plan_assignments(cfg: GtmConfig, crm: CRM, resolver: GeoResolver, *, threshold: float = 0.8,
                     against: GtmConfig | None = None) -> AssignPlan:
    """Match every account and plan the association and status writes.

    Accounts, associations and exclusions are read as columns (``CRM.read_columns``) and the plan is a diff of
    frames; the writes come in account ``Id`` order.

    Args:
        cfg: the config (match rules, hierarchy, assignments).
        crm: where accounts, associations and exclusions are read.
        resolver: reads unclear addresses.
        threshold: the least confidence for an assignment from a resolved address.
        against: another version of the config (``--against GITREV``): list the accounts that would move.
    """
    (tree,) = _require(cfg, "territories")
    columns = account_columns(cfg) if against is None else \
        list(dict.fromkeys([*account_columns(cfg), *account_columns(against)]))  # both sides' fields
    org = _read_org(crm, tree.model.developer_name, columns)
    result = _outcomes(cfg, org, resolver, threshold)
    out = AssignPlan(result, Lookup(org.accounts.select("Id", "Name")), org.territory_ids)
    _diff(out, org, _rows(org, result))
    if against is not None:
        before = _outcomes(against, org, resolver, threshold)
        out.moves = _moves(before, result, org.accounts.select("Id", "Name"), against, cfg)
    return out


def _fields(rules: Any) -> list[str]:
    from revloops.core.rules import compile_rules

    return compile_rules(rules, "Account").fields if rules is not None else []


def _evidence_column(result: Assignments) -> pl.DataFrame:
    """``Id`` and the evidence text of every account with evidence, each distinct evidence serialised once
    (the batch path shares one evidence between the accounts it decided together)."""
    texts: dict[int, str | None] = {}
    accounts, column = [], []
    for account, evidence in result.evidence.items():
        key = id(evidence)
        if key not in texts:
            texts[key] = _evidence_text(evidence)
        accounts.append(account)
        column.append(texts[key])
    return pl.DataFrame({"Id": accounts, "evidence": column}, schema={"Id": pl.String, "evidence": pl.String})


def _rows(org: _Org, result: Assignments) -> pl.DataFrame:
    """One row per account: its outcome, the territory it should hold, what the CRM holds, what changes."""
    current = org.accounts.select("Id", pl.col("Territory_Status__c").alias("was"),
                                  pl.col("Territory_Evidence__c").alias("had"))
    outcome = result.frame.select("Id", "status", "territory")
    if outcome.get_column("Id").equals(current.get_column("Id")):  # the batch keeps the frame's order
        rows = pl.concat([outcome, current.drop("Id")], how="horizontal")
    else:
        rows = outcome.join(current, on="Id", how="left", maintain_order="left")
    first_rule = org.rules.group_by("ObjectId").agg(pl.col("territory").sort_by("first").first().alias("first"))
    manual = pl.DataFrame({"Id": list(org.manual), "held": list(org.manual.values())},
                          schema={"Id": pl.String, "held": pl.String})
    rows = rows.with_row_index("__row")
    for right, key in ((_evidence_column(result), "Id"), (first_rule, "ObjectId"), (manual, "Id")):
        if right.height:
            rows = rows.join(right, left_on="Id", right_on=key, how="left", maintain_order="left")
        else:  # nothing to look up (a first run has no associations): skip a join over every account
            rows = rows.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in right.columns if c != key)
    settled = pl.col("status") == MANUAL  # a settled account keeps the evidence and the review written by resolve
    want = pl.when(pl.col("status") == ASSIGNED).then(pl.col("territory"))
    before = pl.when(pl.col("held").is_not_null() & (pl.col("held") != "")).then("held").otherwise("first")
    return rows.with_columns(
        want.alias("want"),
        (pl.col("was").ne_missing(pl.col("status")) | (~settled & pl.col("had").ne_missing(pl.col("evidence"))))
        .alias("update"),
        (~settled & (pl.col("was").ne_missing(pl.col("status")) | before.ne_missing(want))).alias("changed"),
    )


def _diff(out: AssignPlan, org: _Org, rows: pl.DataFrame) -> None:
    """The writes that make the CRM hold ``rows``' outcomes, in account order (an account's deletes in the
    order its territories first appear among its associations)."""
    wanted = rows.filter(pl.col("want").is_not_null()).select("Id", "want")
    out.creates = Rows(wanted.join(org.rules, left_on=["Id", "want"], right_on=["ObjectId", "territory"],
                                   how="anti", maintain_order="left"))
    deletes = (org.rules.join(rows.select("Id", "__row", "want"), left_on="ObjectId", right_on="Id", how="inner")
               .filter(pl.col("territory").ne_missing(pl.col("want"))).sort("__row", "first"))
    out.deletes = Rows(deletes.select("Id", "ObjectId", "territory"))
    out.field_updates = FieldUpdates(rows.filter("update").select("Id", "status", "evidence"))
    out.changed = Lookup(rows.filter("changed").select("Id", "want"))


def _moves(before: Assignments, after: Assignments, names: pl.DataFrame, old: GtmConfig,
           new: GtmConfig) -> list[Move]:
    was = before.frame.select("Id", pl.col("status").alias("old_status"), pl.col("territory").alias("old_territory"))
    moved = (after.frame.select("Id", "status", "territory").join(was, on="Id", how="left", maintain_order="left")
             .filter(pl.col("old_status").ne_missing(pl.col("status"))
                     | pl.col("old_territory").ne_missing(pl.col("territory")))
             .join(names.select("Id", "Name"), on="Id", how="left", maintain_order="left"))
    old_owner = _holders(old, moved.get_column("old_territory").unique().to_list())
    new_owner = _holders(new, moved.get_column("territory").unique().to_list())
    return [Move(account_id=account_id, name=name, before=old_territory or old_status, after=territory or status,
                 before_owner=old_owner[old_territory], after_owner=new_owner[territory])
            for account_id, status, territory, old_status, old_territory, name in moved.iter_rows()]


@dataclass
class AssignResult:
    """What an assignment apply wrote: successes and failures per kind of write."""

    created: int = 0
    deleted: int = 0
    updated: int = 0
    decisions: int = 0
    failures: list[str] = field(default_factory=list)
    interrupted: str | None = None


def apply_assignments(plan: AssignPlan, crm: CRM, decisions: DecisionStore | None, *, config_version: str,
                      actor: str = "cli", progress: Progress | None = None) -> AssignResult:
    """Write a plan: deletes, creates (200 a call), then the status fields, then the decisions."""
    if plan.creates and not plan.territory_ids:
        raise DomainError("the territory model is not in the CRM: run `revloops territories sync --apply` first")
    out, total = AssignResult(), len(plan.deletes) + len(plan.creates) + len(plan.field_updates)
    try:
        for i in range(0, len(plan.deletes), BATCH_SIZE):
            deleting = plan.deletes[i: i + BATCH_SIZE]
            _count(out, "deleted", deleting,
                   crm.bulk_delete("ObjectTerritory2Association", [d[0] for d in deleting]))
            _tick(progress, out, total)
        for i in range(0, len(plan.creates), BATCH_SIZE):
            creating = plan.creates[i: i + BATCH_SIZE]
            rows = [ObjectTerritory2Association(ObjectId=a, Territory2Id=plan.territory_ids[t],
                                                AssociationCause=RULE_CAUSE) for a, t in creating]
            _count(out, "created", creating, crm.bulk_create(rows))
            _tick(progress, out, total)
        for i in range(0, len(plan.field_updates), BATCH_SIZE):
            updating = plan.field_updates[i: i + BATCH_SIZE]
            _count(out, "updated", updating, crm.bulk_update("Account", updating))
            _tick(progress, out, total)
    except AdapterError as exc:
        out.interrupted = f"{type(exc).__name__}: {exc}"
    if decisions is not None:
        out.decisions = _record(plan, decisions, config_version, actor)
    return out


def _tick(progress: Progress | None, out: AssignResult, total: int) -> None:
    if progress is not None:
        progress(out.created + out.deleted + out.updated + len(out.failures), total)


def _count(out: AssignResult, kind: str, chunk: Sequence[Any], results: list[Any]) -> None:
    for item, res in zip(chunk, results, strict=True):
        if res.success:
            setattr(out, kind, getattr(out, kind) + 1)
        else:
            out.failures.append(f"{kind[:-1]} {item[0]}: " + "; ".join(e.message for e in res.errors))


def _record(plan: AssignPlan, decisions: DecisionStore, config_version: str, actor: str) -> int:
    rows = {r["Id"]: r for r in plan.assignments.frame.filter(
        plan.assignments.frame["Id"].is_in(list(plan.changed))).iter_rows(named=True)}
    items = []
    for account_id, row in rows.items():
        outcome = row["territory"] if row["status"] == ASSIGNED else row["status"]
        evidence = plan.assignments.evidence.get(account_id)
        items.append(Decision(
            loop="deploy", sobject="Account", record_id=account_id, outcome=outcome,
            detail={"status": row["status"], "territory": row["territory"], "rule_id": row["rule_id"],
                    "confidence": round(row["confidence"], 4), "evidence": evidence},
            explanation=_explain(row), config_version=config_version, inputs_digest=digest(evidence or row),
            actor=actor))
    decisions.record_many(items)
    return len(items)


def _explain(row: Mapping[str, Any]) -> str:
    if row["status"] == ASSIGNED:
        return f"Matched {row['rule_id']} -> territory {row['territory']} (confidence {row['confidence']:.2f})"
    return f"{row['status']} (confidence {row['confidence']:.2f})" + (f", rule {row['rule_id']}" if row["rule_id"] else "")


# -- review -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PendingAccount:
    """An account waiting for review, with the evidence stored on it."""

    account_id: str
    name: str | None
    status: str
    evidence: dict[str, Any]


def pending(crm: CRM, status: str | None = None) -> list[PendingAccount]:
    """Accounts in a ``pending:*`` territory state (one state when ``status`` is given), with evidence."""
    flt = Filter("Territory_Status__c", "eq", status) if status else Filter("Territory_Status__c", "like", "pending:%")
    out = []
    for a in crm.query_all(Query("Account", (flt,), (("Name", False),))):
        text = a.Territory_Evidence__c  # type: ignore[attr-defined]
        try:
            evidence = json.loads(text) if text else {}
        except json.JSONDecodeError:
            evidence = {"raw": text}
        out.append(PendingAccount(a.Id or "", a.Name, a.Territory_Status__c or "", evidence))  # type: ignore[attr-defined]
    return out


def resolve(cfg: GtmConfig, crm: CRM, decisions: DecisionStore, account_id: str, *, territory: str | None = None,
            approve: bool = False, reason: str = "", actor: str = "cli", dry_run: bool = False) -> Decision:
    """Settle a pending account: put it in ``territory``, or ``approve`` the territory its evidence proposes.

    The territory is written as a manual association (later assignment runs keep it), the status becomes
    ``manual``, and the decision is logged with who decided and why. A dry run checks all of it and answers
    the decision it would log (without an id: nothing is written).
    """
    if (territory is None) == (not approve):
        raise InputError("give either --territory or --approve", field="territory")
    account = crm.get("Account", account_id)
    status = account.Territory_Status__c or ""  # type: ignore[attr-defined]
    if status not in SENTINELS:
        raise InputError(f"account {account_id} is not pending (status {status or 'none'})", field="account")
    found = pending_evidence(account)
    if approve:
        territory = found.get("proposed")
        if not territory:
            options = ", ".join(found.get("candidates") or []) or "none"
            raise InputError(f"nothing to approve: no single proposed territory (candidates: {options}); "
                             "choose one with --territory", field="approve")
    (tree,) = _require(cfg, "territories")
    ids = _territory_ids(crm, tree.model.developer_name)
    if territory not in ids:
        raise NotFound(f"territory {territory!r} is not in the CRM's model {tree.model.developer_name}")
    review = {"decided_by": actor, "why": reason, "approved": approve, "was": status, "territory": territory,
              "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    decision = Decision(
        loop="deploy", sobject="Account", record_id=account_id, outcome=str(territory),
        detail={"status": MANUAL, "territory": territory, "review": review, "evidence": found},
        explanation=f"{actor} put {account_id} in {territory} ({'approved' if approve else 'chosen'}; was {status})"
                    + (f": {reason}" if reason else ""),
        config_version=cfg.version, inputs_digest=digest(found), actor=actor)
    if dry_run:
        return decision.model_copy(update={"id": ""})  # shown, never stored
    stale = _rule_associations(crm, ids, account_id)
    if stale:
        crm.bulk_delete("ObjectTerritory2Association", stale)
    crm.create(ObjectTerritory2Association(ObjectId=account_id, Territory2Id=ids[territory],
                                           AssociationCause=MANUAL_CAUSE))
    crm.update("Account", account_id, {"Territory_Status__c": MANUAL,
                                       "Territory_Evidence__c": _evidence_text({**found, "review": review})})
    return decisions.record(decision)


def _rule_associations(crm: CRM, ids: Mapping[str, str], account_id: str) -> list[str]:
    """The ids of one account's rule associations to the model's territories (the last one per territory)."""
    names = {v: k for k, v in ids.items()}
    found: dict[str, str] = {}
    query = Query("ObjectTerritory2Association", (Filter("ObjectId", "eq", account_id),), (("Id", False),))
    for a in crm.query_all(query):
        terr = names.get(a.Territory2Id or "")  # type: ignore[attr-defined]
        if terr is not None and a.AssociationCause != MANUAL_CAUSE:  # type: ignore[attr-defined]
            found[terr] = a.Id or ""
    return list(found.values())


def pending_evidence(account: Account | Any) -> dict[str, Any]:
    """The evidence stored on an account (an empty dict when there is none or it is not JSON)."""
    text = getattr(account, "Territory_Evidence__c", None)
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


# -- coverage -----------------------------------------------------------------------------------------

def territory_coverage(cfg: GtmConfig, crm: CRM) -> Coverage:
    """Per territory of the CRM's model: accounts, open pipeline, users by role; and the uncovered accounts."""
    (tree,) = _require(cfg, "territories")
    model = crm.find_one(Query("Territory2Model", (Filter("DeveloperName", "eq", tree.model.developer_name),)))
    if model is None:
        raise NotFound(f"territory model {tree.model.developer_name} is not in the CRM: run territories sync --apply")
    terrs = list(crm.query_all(Query("Territory2", (Filter("Territory2ModelId", "eq", model.Id),))))
    name_of = {t.Id: t.DeveloperName for t in terrs}  # type: ignore[attr-defined]
    rows = [(t.DeveloperName, t.Name, name_of.get(t.ParentTerritory2Id)) for t in terrs]  # type: ignore[attr-defined]
    in_config = {t.developer_name: i for i, t in enumerate(tree.territories)}
    rows.sort(key=lambda r: (in_config.get(r[0], len(in_config)), r[0]))
    assoc = [(a.ObjectId, name_of[a.Territory2Id]) for a in crm.query_all(Query("ObjectTerritory2Association"))  # type: ignore[attr-defined]
             if a.Territory2Id in name_of]  # type: ignore[attr-defined]
    status: dict[str, str | None] = {a.Id or "": a.Territory_Status__c  # type: ignore[attr-defined]
                                     for a in crm.query_all(Query("Account"))}
    opps = [(o.AccountId, o.Amount or 0.0) for o in crm.query_all(Query("Opportunity", (Filter("IsClosed", "eq", False),)))  # type: ignore[attr-defined]
            if o.AccountId]  # type: ignore[attr-defined]
    people: dict[str | None, str | None] = {u.Id: u.Name or " ".join(p for p in (u.FirstName, u.LastName) if p)  # type: ignore[attr-defined]
              or u.Username for u in crm.query_all(Query("User"))}  # type: ignore[attr-defined]
    users = [(name_of[a.Territory2Id], a.RoleInTerritory2 or "", people.get(a.UserId) or a.UserId or "")  # type: ignore[attr-defined]
             for a in crm.query_all(Query("UserTerritory2Association")) if a.Territory2Id in name_of]  # type: ignore[attr-defined]
    return coverage(rows, assoc, status, opps, users)


# -- demo ---------------------------------------------------------------------------------------------

#: accounts whose addresses need reading, added by the demo so the review queue has something in it
AWKWARD_ACCOUNTS = (
    {"Name": "Peach State Freight", "BillingState": "Georgia"},
    {"Name": "Peachtree Analytics", "BillingState": "Georgia", "BillingCity": "Atlanta"},
    {"Name": "Turia Systems", "BillingCity": "Valencia"},
    {"Name": "Thames Data", "BillingCity": "London"},
    {"Name": "Mixed Signals GmbH", "BillingCountry": "Germany", "BillingState": "CA"},
    {"Name": "Paulista Software", "BillingCountry": "Brazil"},
)


def add_awkward_accounts(crm: CRM) -> list[str]:
    """Create the demo's awkward accounts (idempotent by External_Id__c) and answer their ids."""
    ids = []
    for i, fields in enumerate(AWKWARD_ACCOUNTS):
        res = crm.upsert("Account", "External_Id__c", f"demo-awkward-{i}", fields)
        ids.append(res.id or "")
    return ids
