"""The columnar assignment plan against the per-row plan it replaced.

``reference_plan`` below is the plan as it was before the columnar path (every Account and association read as
a record, then a Python loop diffing each account), kept here as the reference. Generated orgs (accounts with and
without associations, duplicate and manual associations, associations outside the model, exclusions, status
fields that already hold the outcome or not) must plan exactly the same writes, in the same order, with the
same plan id; and ``--against`` must list the same moves.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.tables import SOBJECT_TABLES
from revloops.config.loader import GtmConfig
from revloops.core.decisions import canonical_json, digest
from revloops.core.ids import new_id
from revloops.core.records import Account, ObjectTerritory2Association, Territory2ObjectExclusion
from revloops.loops.deploy import flow
from revloops.loops.deploy.assign import GEO_INPUT, Assignments, MatchEnv, accounts_frame, assign_batch
from revloops.loops.deploy.assignment import ASSIGNED, MANUAL
from revloops.loops.deploy.resolver import GeoResolver, OfflineResolver
from revloops.ports.crm import CRM, Filter, Query
from tests.unit.deploy_support import config, local_crm

TODAY = dt.date(2026, 11, 29)
RULE, MANUAL_CAUSE = "Territory2AssignmentRule", "Territory2Manual"


# -- the reference: the per-row plan before the columnar path, as it was ----------------------------------

@dataclass
class ReferencePlan:
    assignments: Assignments
    names: dict[str, str | None]
    territory_ids: dict[str, str]
    creates: list[tuple[str, str]] = field(default_factory=list)
    deletes: list[tuple[str, str, str]] = field(default_factory=list)
    field_updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    changed: dict[str, str | None] = field(default_factory=dict)
    moves: list[flow.Move] = field(default_factory=list)


@dataclass
class _RefOrg:
    territory_ids: dict[str, str]
    rule_assoc: dict[str, dict[str, str]]
    manual: dict[str, str]
    excluded: dict[str, frozenset[str]]
    accounts: list[dict[str, Any]]


def _ref_read_org(crm: CRM, model_name: str, extra: Iterable[str]) -> _RefOrg:
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
    return _RefOrg(ids, rule, manual, {k: frozenset(v) for k, v in excluded.items()}, accounts)


def _ref_evidence_text(evidence: Mapping[str, Any] | None) -> str | None:
    if not evidence:
        return None
    text = canonical_json(evidence)
    return text if len(text) <= flow.EVIDENCE_LIMIT else text[: flow.EVIDENCE_LIMIT - 1] + "…"


def _ref_outcomes(cfg: GtmConfig, org: _RefOrg, resolver: GeoResolver, threshold: float) -> Assignments:
    tree, rules = cfg.get("territories"), cfg.get("match_rules")
    env = MatchEnv.build(rules, tree)
    frame = accounts_frame(org.accounts, extra=[f for f in env.compiled.fields if not f.startswith("geo.")])
    return assign_batch(frame, env, resolver, manual=org.manual, excluded=org.excluded, threshold=threshold)


def _ref_holder(cfg: GtmConfig, territory: str | None, role: str = "AE") -> str | None:
    today = dt.datetime.now(dt.UTC).date()
    for a in cfg.get("assignments").assignments:
        if a.territory == territory and a.role == role and a.active_on(today):
            return str(a.user)
    return None


def _ref_fields(rules: Any) -> list[str]:
    from revloops.core.rules import compile_rules

    return compile_rules(rules, "Account").fields if rules is not None else []


def reference_plan(cfg: GtmConfig, crm: CRM, resolver: GeoResolver, *, threshold: float = 0.8,
                   against: GtmConfig | None = None) -> ReferencePlan:
    """The plan as ``flow.plan_assignments`` made it before the columnar path (records, a loop per account)."""
    tree, rules = cfg.get("territories"), cfg.get("match_rules")
    org = _ref_read_org(crm, tree.model.developer_name, [f for f in _ref_fields(rules) if not f.startswith("geo.")])
    result = _ref_outcomes(cfg, org, resolver, threshold)
    current = {a["Id"]: a for a in org.accounts}
    out = ReferencePlan(result, {a["Id"]: a.get("Name") for a in org.accounts}, org.territory_ids)
    for row in result.frame.iter_rows(named=True):
        _ref_diff_account(out, org, current[row["Id"]], row, result.evidence.get(row["Id"]))
    if against is not None:
        before = _ref_outcomes(against, org, resolver, threshold)
        out.moves = _ref_moves(before, result, out.names, against, cfg)
    return out


def _ref_diff_account(out: ReferencePlan, org: _RefOrg, account: Mapping[str, Any], row: Mapping[str, Any],
                      evidence: Mapping[str, Any] | None) -> None:
    account_id, status, territory = row["Id"], row["status"], row["territory"]
    have = org.rule_assoc.get(account_id, {})
    want = territory if status == ASSIGNED else None
    if want is not None and want not in have:
        out.creates.append((account_id, want))
    out.deletes.extend((assoc, account_id, terr) for terr, assoc in have.items() if terr != want)
    fields: dict[str, Any] = {"Territory_Status__c": status}
    if status != MANUAL:
        fields["Territory_Evidence__c"] = _ref_evidence_text(evidence)
    if any(account.get(k) != v for k, v in fields.items()):
        out.field_updates.append((account_id, fields))
    before = org.manual.get(account_id) or next(iter(have), None)
    if status != MANUAL and (account.get("Territory_Status__c") != status or before != want):
        out.changed[account_id] = want


def _ref_moves(before: Assignments, after: Assignments, names: Mapping[str, str | None], old: GtmConfig,
               new: GtmConfig) -> list[flow.Move]:
    was = {r[0]: (r[1], r[2]) for r in before.frame.select("Id", "status", "territory").iter_rows()}
    moves = []
    for account_id, status, territory in after.frame.select("Id", "status", "territory").iter_rows():
        old_status, old_territory = was.get(account_id, (None, None))
        if (old_status, old_territory) != (status, territory):
            moves.append(flow.Move(account_id=account_id, name=names.get(account_id),
                                   before=old_territory or old_status, after=territory or status,
                                   before_owner=_ref_holder(old, old_territory), after_owner=_ref_holder(new, territory)))
    return moves


# -- generated orgs ------------------------------------------------------------------------------------------

COMMON = [{"BillingCountry": "USA", "BillingState": "CA"}, {"BillingCountry": "United States", "BillingState": "NY"},
          {"BillingCountry": "UK"}, {"BillingCity": "London"}, {"BillingCountry": "Singapore", "NumberOfEmployees": 5000},
          {"BillingCountry": "Singapore", "NumberOfEmployees": 20000}, {"BillingCountry": "France"}]
ADDRESSES = st.sampled_from(COMMON) | st.fixed_dictionaries({}, optional={
    "BillingCountry": st.sampled_from(["USA", "US", "Germany", "UK", "France", "Singapore", "Brazil", "Georgia", ""]),
    "BillingState": st.sampled_from(["CA", "California", "NY", "Georgia", "Bavaria", "GA", ""]),
    "BillingCity": st.sampled_from(["London", "Valencia", "Atlanta", "Munich", "Leeds", ""]),
    "BillingPostalCode": st.sampled_from(["94105", "SW1A 1AA", ""]),
    "NumberOfEmployees": st.sampled_from([10, 1000, 20000]),
})
STATUSES = st.sampled_from([None, "assigned", "manual", "pending:no_match", "pending:ambiguous_geo",
                            "pending:multi_match", "pending:low_confidence", "stale"])
TERRITORIES = ["World", "NA", "NA_West", "NA_East", "EMEA", "EMEA_UKI", "EMEA_DACH", "APAC_SG", "APAC_Strategic",
               "outside"]  # ``outside``: a territory id that is not in the model
ASSOCIATION = st.tuples(st.sampled_from(TERRITORIES), st.sampled_from([RULE, RULE, MANUAL_CAUSE]))
ACCOUNT = st.fixed_dictionaries({
    "address": ADDRESSES,
    "status": STATUSES,
    "evidence": st.sampled_from([None, "", "{}", "not json", "keep"]),  # keep: what the plan would write
    "associations": st.lists(ASSOCIATION, max_size=3),
    "excluded": st.lists(st.sampled_from(TERRITORIES), max_size=2),
})


@dataclass
class Org:
    root: Path
    crm: LocalCRM
    cfg: GtmConfig
    moved: GtmConfig  # the UK goes to the east coast, the west coast to NA, Singapore's big accounts get bigger
    territory_ids: dict[str, str]


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    root = tmp_path_factory.mktemp("columnar")
    cfg = config(root / "cfg")
    rules = (root / "cfg" / "deploy" / "match_rules.yaml").read_text()
    moved = config(root / "moved", {"deploy/match_rules.yaml": rules.replace("territory: EMEA_UKI}", "territory: NA_East}")
                                    .replace("territory: NA_West}", "territory: NA}")
                                    .replace("{NumberOfEmployees: {gte: 1000}}", "{NumberOfEmployees: {gte: 15000}}")})
    crm, log = local_crm(root)
    flow.apply_sync(cfg, crm, log, today=TODAY)
    ids = {t.DeveloperName: t.Id or "" for t in crm.query_all(Query("Territory2"))}  # type: ignore[attr-defined]
    return Org(root, crm, cfg, moved, ids)


def _reset(crm: LocalCRM) -> None:
    with crm.engine.begin() as conn:
        for name in ("Account", "ObjectTerritory2Association", "Territory2ObjectExclusion"):
            conn.execute(SOBJECT_TABLES[name].delete())


def _territory(org: Org, name: str) -> str:
    return org.territory_ids.get(name) or new_id("Territory2", random.Random(name))


def _seed(org: Org, accounts: list[dict[str, Any]], orphans: int) -> None:
    """Write the generated org: accounts, then their associations and exclusions (and a few of nobody)."""
    _reset(org.crm)
    created = [org.crm.create(Account(Name=f"Co {i}", **a["address"],
                                      Territory_Status__c=a["status"])) for i, a in enumerate(accounts)]
    keep = reference_plan(org.cfg, org.crm, OfflineResolver())  # the evidence a plan would write, to keep
    texts = {account: fields.get("Territory_Evidence__c") for account, fields in keep.field_updates}
    for account_id, a in zip(created, accounts, strict=True):
        if a["evidence"] is not None:
            text = texts.get(account_id) if a["evidence"] == "keep" else a["evidence"]
            org.crm.update("Account", account_id, {"Territory_Evidence__c": text})
    rows: list[ObjectTerritory2Association] = []
    exclusions: list[Territory2ObjectExclusion] = []
    nobody = [new_id("Account", random.Random(i)) for i in range(orphans)]
    for account_id, a in [*zip(created, accounts, strict=True),
                          *((n, {"associations": [("NA_West", RULE)], "excluded": ["EMEA"]}) for n in nobody)]:
        rows += [ObjectTerritory2Association(ObjectId=account_id, Territory2Id=_territory(org, t), AssociationCause=c)
                 for t, c in a["associations"]]
        exclusions += [Territory2ObjectExclusion(ObjectId=account_id, Territory2Id=_territory(org, t))
                       for t in a["excluded"]]
    assert all(r.success for r in org.crm.bulk_create(rows))
    assert all(r.success for r in org.crm.bulk_create(exclusions))


def _assert_same(new: flow.AssignPlan, ref: ReferencePlan) -> None:
    assert list(new.creates) == ref.creates
    assert list(new.deletes) == ref.deletes
    assert list(new.field_updates) == ref.field_updates
    assert list(new.changed.items()) == list(ref.changed.items())
    assert new.moves == ref.moves
    assert dict(new.names) == ref.names and new.territory_ids == ref.territory_ids
    assert new.assignments.frame.equals(ref.assignments.frame) and new.assignments.evidence == ref.assignments.evidence
    assert new.empty == (not (ref.creates or ref.deletes or ref.field_updates))
    assert new.digest() == digest([ref.creates, ref.deletes, ref.field_updates])  # the same plan id as before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(st.lists(ACCOUNT, max_size=20), st.integers(0, 2), st.booleans(), st.sampled_from([0.8, 0.97]))
def test_the_columnar_plan_is_the_per_row_plan(org: Org, accounts: list[dict[str, Any]], orphans: int,
                                               against: bool, threshold: float) -> None:
    _seed(org, accounts, orphans)
    other = org.moved if against else None
    new = flow.plan_assignments(org.cfg, org.crm, OfflineResolver(), threshold=threshold, against=other)
    ref = reference_plan(org.cfg, org.crm, OfflineResolver(), threshold=threshold, against=other)
    _assert_same(new, ref)
    for kind in ("creates", "deletes", "field_updates", "changed", *(("moves",) if against else ())):
        event(f"{kind}: {'some' if getattr(ref, kind) else 'none'}")


TABLE = [  # (address, status, evidence, associations, exclusions): the cases a person would check by hand
    ({"BillingCountry": "USA", "BillingState": "CA"}, None, None, [], []),  # first run: create + status
    ({"BillingCountry": "USA", "BillingState": "CA"}, "assigned", "keep", [("NA_West", RULE)], []),  # settled
    ({"BillingCountry": "USA", "BillingState": "CA"}, "assigned", None, [("NA_East", RULE), ("NA_West", RULE)], []),
    ({"BillingCountry": "USA", "BillingState": "CA"}, "assigned", None, [("NA_West", RULE), ("NA_West", RULE)], []),
    ({"BillingCountry": "UK"}, "stale", None, [("EMEA", RULE)], ["EMEA_UKI"]),  # excluded: EMEA, status fixed
    ({"BillingCountry": "Brazil"}, "manual", "kept", [("EMEA", MANUAL_CAUSE), ("NA", RULE)], []),  # manual kept
    ({"BillingCountry": "Brazil"}, None, None, [("outside", RULE), ("NA", RULE)], []),  # pending: rule ones go
    ({"BillingState": "Georgia"}, "pending:ambiguous_geo", "keep", [], []),  # nothing to write
    ({}, None, None, [("outside", MANUAL_CAUSE)], ["outside"]),  # outside the model: ignored
]


def test_a_table_of_orgs_plans_as_before(org: Org) -> None:
    accounts = [{"address": a, "status": s, "evidence": e, "associations": assoc, "excluded": x}
                for a, s, e, assoc, x in TABLE]
    _seed(org, accounts, orphans=1)
    for against in (None, org.moved):
        new = flow.plan_assignments(org.cfg, org.crm, OfflineResolver(), against=against)
        ref = reference_plan(org.cfg, org.crm, OfflineResolver(), against=against)
        _assert_same(new, ref)
    assert len(new.creates) and len(new.deletes) and len(new.field_updates) and len(new.moves)


def test_evidence_is_written_once_per_distinct_evidence(org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    same = {"address": {"BillingCity": "Valencia"}, "status": None, "evidence": None, "associations": [],
            "excluded": []}
    _seed(org, [same] * 30 + [{**same, "address": {"BillingCountry": "Brazil"}}] * 20, orphans=0)
    calls: list[Any] = []
    real = flow._evidence_text

    def counting(evidence: Mapping[str, Any] | None) -> str | None:
        calls.append(evidence)
        return real(evidence)

    monkeypatch.setattr(flow, "_evidence_text", counting)
    plan = flow.plan_assignments(org.cfg, org.crm, OfflineResolver())
    assert len(plan.field_updates) == 50 and len(calls) == 2  # Valencia's reading, Brazil's no-match


# -- the containers the plan's writes come in ----------------------------------------------------------------

WEIRD = ['a"b', "back\\slash", "nl\n", "tab\t", "\x00\x01\x1f", "é ü 日本 😀", "\u2028", "\x7f", "", "plain",
         "manual", "assigned", '{"a":"b\\n"}']


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WEIRD), st.sampled_from(WEIRD), st.sampled_from([*WEIRD, None])),
                max_size=30))
def test_the_plan_digest_is_the_digest_of_its_lists(rows: list[tuple[str, str, str | None]]) -> None:
    frame = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.String, "c": pl.String}, orient="row")
    plan = flow.AssignPlan(Assignments(pl.DataFrame()), {}, {},
                           creates=flow.Rows(frame.select("a", "b")),
                           deletes=flow.Rows(frame.select("c", "a", "b").drop_nulls()),
                           field_updates=flow.FieldUpdates(frame.rename({"a": "Id", "b": "status", "c": "evidence"})))
    writes = [list(plan.creates), list(plan.deletes), list(plan.field_updates)]
    assert plan.digest() == digest(writes)
    listed = flow.AssignPlan(Assignments(pl.DataFrame()), {}, {}, *writes)  # plain lists: the generic digest
    assert listed.digest() == plan.digest()


def test_rows_read_like_a_list_of_tuples() -> None:
    frame = pl.DataFrame({"a": ["x", "y", "z", "w"], "b": ["1", "2", "3", None]})
    rows, listed = flow.Rows(frame), list(frame.iter_rows())
    assert len(rows) == 4 and list(rows) == listed and rows == listed and rows != listed[:2]
    for index in (0, 3, -1, -4):
        assert rows[index] == listed[index]
    for cut in (slice(1, 3), slice(None, 50), slice(None, None, -1), slice(3, 0, -2), slice(5, 9)):
        assert rows[cut] == listed[cut]
    with pytest.raises(IndexError):
        rows[4]
    assert ("y", "2") in rows and not flow.Rows(frame.head(0)) and bool(rows)
    updates = flow.FieldUpdates(pl.DataFrame({"Id": ["a", "b"], "status": ["manual", "assigned"],
                                              "evidence": [None, "{}"]}))
    assert list(updates) == [("a", {"Territory_Status__c": "manual"}),
                             ("b", {"Territory_Status__c": "assigned", "Territory_Evidence__c": "{}"})]
    lookup = flow.Lookup[str](pl.DataFrame({"k": ["a", "b"], "v": ["1", None]}))
    assert lookup == {"a": "1", "b": None} and list(lookup) == ["a", "b"] and "b" in lookup and "c" not in lookup
    assert lookup.get("c") is None and len(lookup) == 2 and flow.Lookup(pl.DataFrame({"k": [], "v": []})) == {}


def test_a_read_of_the_same_columns_is_what_the_plan_reads(org: Org) -> None:
    _seed(org, [{"address": {"BillingCountry": "UK"}, "status": None, "evidence": None, "associations": [],
                 "excluded": []}], orphans=0)
    columns = flow.account_columns(org.cfg)
    assert {"Id", "Name", "Territory_Status__c", "Territory_Evidence__c", *GEO_INPUT} <= set(columns)
    assert "NumberOfEmployees" in columns  # the Singapore rule reads it
    frame = pl.concat(list(org.crm.read_columns("Account", columns)))
    assert frame.columns == columns and frame.height == 1

