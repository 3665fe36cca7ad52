"""Deploy's flows through the ports: sync the hierarchy, assign accounts, review pending ones, coverage.

The CLI (and the API and MCP tools) call these; each takes the config and the ports it needs.
Assignment writes ObjectTerritory2Association rows (create and delete only, as Salesforce allows) and the
account's ``Territory_Status__c`` / ``Territory_Evidence__c``; like the sync it re-plans from the CRM on
every run, so an apply cut short is finished by the next one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from revloops.config.loader import GtmConfig
from revloops.core.decisions import Decision, canonical_json, digest
from revloops.core.errors import AdapterError, DomainError, InputError, NotFound
from revloops.core.model import Frozen
from revloops.core.records import Account, ObjectTerritory2Association
from revloops.loops.deploy import sync
from revloops.loops.deploy.assign import (
    GEO_INPUT,
    Assignments,
    MatchEnv,
    accounts_frame,
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


@dataclass
class AssignPlan:
    """Outcomes and the writes that make the CRM hold them."""

    assignments: Assignments
    names: dict[str, str | None]
    territory_ids: dict[str, str]
    creates: list[tuple[str, str]] = field(default_factory=list)
    deletes: list[tuple[str, str, str]] = field(default_factory=list)
    field_updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    changed: dict[str, str | None] = field(default_factory=dict)
    moves: list[Move] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.creates or self.deletes or self.field_updates)


@dataclass
class _Org:
    territory_ids: dict[str, str]
    rule_assoc: dict[str, dict[str, str]]  # account -> territory -> association id
    manual: dict[str, str]
    excluded: dict[str, frozenset[str]]
    accounts: list[dict[str, Any]]


def _read_org(crm: CRM, model_name: str, extra: Iterable[str]) -> _Org:
    model = crm.find_one(Query("Territory2Model", (Filter("DeveloperName", "eq", model_name),)))
    ids: dict[str, str] = {}
    if model is not None:
        for t in crm.query_all(Query("Territory2", (Filter("Territory2ModelId", "eq", model.Id),))):
            ids[t.DeveloperName] = t.Id or ""  # type: ignore[attr-defined]
    names = {v: k for k, v in ids.items()}
    rule: dict[str, dict[str, str]] = {}
    manual: dict[str, str] = {}
    for a in crm.query_all(Query("ObjectTerritory2Association", order_by=(("Id", False),))):
        terr = names.get(a.Territory2Id or "")  # type: ignore[attr-defined]
        if terr is None:
            continue
        if a.AssociationCause == MANUAL_CAUSE:  # type: ignore[attr-defined]
            manual.setdefault(a.ObjectId, terr)  # type: ignore[attr-defined]
        else:
            rule.setdefault(a.ObjectId, {})[terr] = a.Id or ""  # type: ignore[attr-defined]
    excluded: dict[str, set[str]] = {}
    for x in crm.query_all(Query("Territory2ObjectExclusion")):
        terr = names.get(x.Territory2Id or "")  # type: ignore[attr-defined]
        if terr is not None:
            excluded.setdefault(x.ObjectId or "", set()).add(terr)  # type: ignore[attr-defined]
    wanted = {"Id", "Name", "Website", *GEO_INPUT, "Territory_Status__c", "Territory_Evidence__c", *extra}
    accounts = [{k: v for k, v in a.model_dump().items() if k in wanted} for a in crm.query_all(Query("Account"))]
    return _Org(ids, rule, manual, {k: frozenset(v) for k, v in excluded.items()}, accounts)


def _evidence_text(evidence: Mapping[str, Any] | None) -> str | None:
    if not evidence:
        return None
    text = canonical_json(evidence)
    return text if len(text) <= EVIDENCE_LIMIT else text[: EVIDENCE_LIMIT - 1] + "…"


def _outcomes(cfg: GtmConfig, org: _Org, resolver: GeoResolver, threshold: float) -> Assignments:
    tree, rules = _require(cfg, "territories", "match_rules")
    env = MatchEnv.build(rules, tree)
    frame = accounts_frame(org.accounts, extra=[f for f in env.compiled.fields if not f.startswith("geo.")])
    return assign_batch(frame, env, resolver, manual=org.manual, excluded=org.excluded, threshold=threshold)


def _holder(cfg: GtmConfig, territory: str | None, role: str = "AE") -> str | None:
    today = dt.datetime.now(dt.UTC).date()
    for a in _user_assignments(cfg):
        if a.territory == territory and a.role == role and a.active_on(today):
            return str(a.user)
    return None


def plan_assignments(cfg: GtmConfig, crm: CRM, resolver: GeoResolver, *, threshold: float = 0.8,
                     against: GtmConfig | None = None) -> AssignPlan:
    """Match every account and plan the association and status writes.

    Args:
        cfg: the config (match rules, hierarchy, assignments).
        crm: where accounts, associations and exclusions are read.
        resolver: reads unclear addresses.
        threshold: the least confidence for an assignment from a resolved address.
        against: another version of the config (``--against GITREV``): list the accounts that would move.
    """
    (tree,) = _require(cfg, "territories")
    rules = cfg.get("match_rules")
    org = _read_org(crm, tree.model.developer_name, [f for f in _fields(rules) if not f.startswith("geo.")])
    result = _outcomes(cfg, org, resolver, threshold)
    current = {a["Id"]: a for a in org.accounts}
    out = AssignPlan(result, {a["Id"]: a.get("Name") for a in org.accounts}, org.territory_ids)
    for row in result.frame.iter_rows(named=True):
        _diff_account(out, org, current[row["Id"]], row, result.evidence.get(row["Id"]))
    if against is not None:
        before = _outcomes(against, org, resolver, threshold)
        out.moves = _moves(before, result, out.names, against, cfg)
    return out


def _fields(rules: Any) -> list[str]:
    from revloops.core.rules import compile_rules

    return compile_rules(rules, "Account").fields if rules is not None else []


def _diff_account(out: AssignPlan, org: _Org, account: Mapping[str, Any], row: Mapping[str, Any],
                  evidence: Mapping[str, Any] | None) -> None:
    account_id, status, territory = row["Id"], row["status"], row["territory"]
    have = org.rule_assoc.get(account_id, {})
    want = territory if status == ASSIGNED else None
    if want is not None and want not in have:
        out.creates.append((account_id, want))
    out.deletes.extend((assoc, account_id, terr) for terr, assoc in have.items() if terr != want)
    fields: dict[str, Any] = {"Territory_Status__c": status}
    if status != MANUAL:  # a settled account keeps the evidence and the review (who, why) written by resolve
        fields["Territory_Evidence__c"] = _evidence_text(evidence)
    if any(account.get(k) != v for k, v in fields.items()):
        out.field_updates.append((account_id, fields))
    before = org.manual.get(account_id) or next(iter(have), None)
    if status != MANUAL and (account.get("Territory_Status__c") != status or before != want):
        out.changed[account_id] = want


def _moves(before: Assignments, after: Assignments, names: Mapping[str, str | None], old: GtmConfig,
           new: GtmConfig) -> list[Move]:
    was = {r[0]: (r[1], r[2]) for r in before.frame.select("Id", "status", "territory").iter_rows()}
    moves = []
    for account_id, status, territory in after.frame.select("Id", "status", "territory").iter_rows():
        old_status, old_territory = was.get(account_id, (None, None))
        if (old_status, old_territory) != (status, territory):
            moves.append(Move(account_id=account_id, name=names.get(account_id), before=old_territory or old_status,
                              after=territory or status, before_owner=_holder(old, old_territory),
                              after_owner=_holder(new, territory)))
    return moves


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


def _count(out: AssignResult, kind: str, chunk: list[Any], results: list[Any]) -> None:
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
            approve: bool = False, reason: str = "", actor: str = "cli") -> Decision:
    """Settle a pending account: put it in ``territory``, or ``approve`` the territory its evidence proposes.

    The territory is written as a manual association (later assignment runs keep it), the status becomes
    ``manual``, and the decision is logged with who decided and why.
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
    org = _read_org(crm, tree.model.developer_name, [])
    if territory not in org.territory_ids:
        raise NotFound(f"territory {territory!r} is not in the CRM's model {tree.model.developer_name}")
    stale = list(org.rule_assoc.get(account_id, {}).values())
    if stale:
        crm.bulk_delete("ObjectTerritory2Association", stale)
    crm.create(ObjectTerritory2Association(ObjectId=account_id, Territory2Id=org.territory_ids[territory],
                                           AssociationCause=MANUAL_CAUSE))
    review = {"decided_by": actor, "why": reason, "approved": approve, "was": status, "territory": territory,
              "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    crm.update("Account", account_id, {"Territory_Status__c": MANUAL,
                                       "Territory_Evidence__c": _evidence_text({**found, "review": review})})
    return decisions.record(Decision(
        loop="deploy", sobject="Account", record_id=account_id, outcome=str(territory),
        detail={"status": MANUAL, "territory": territory, "review": review, "evidence": found},
        explanation=f"{actor} put {account_id} in {territory} ({'approved' if approve else 'chosen'}; was {status})"
                    + (f": {reason}" if reason else ""),
        config_version=cfg.version, inputs_digest=digest(found), actor=actor))


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
