"""Account assignment: every pending state from a real case, exclusions and manual assignments, the two
paths agreeing, apply/resume, --against moves, review with a logged decision, and coverage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revloops.core.errors import InputError
from revloops.core.records import Account, ObjectTerritory2Association, Opportunity, Territory2ObjectExclusion
from revloops.loops.deploy import flow
from revloops.loops.deploy.assign import MatchEnv, accounts_frame, assign_batch, assign_one
from revloops.loops.deploy.resolver import OfflineResolver
from revloops.ports.crm import Filter, Query
from tests.unit.deploy_support import FailingCRM, config, local_crm

TODAY = dt.date(2026, 11, 29)
CASES: dict[str, dict[str, Any]] = {
    "clean_us_west": {"BillingCountry": "USA", "BillingState": "California"},
    "clean_us_east": {"BillingCountry": "United States", "BillingState": "NY"},
    "clean_gb": {"BillingCountry": "UK", "BillingCity": "Leeds"},
    "france": {"BillingCountry": "France"},
    "georgia_alone": {"BillingState": "Georgia"},
    "georgia_atlanta": {"BillingState": "Georgia", "BillingCity": "Atlanta"},
    "valencia": {"BillingCity": "Valencia"},
    "london": {"BillingCity": "London"},
    "germany_ca": {"BillingCountry": "Germany", "BillingState": "CA"},
    "brazil": {"BillingCountry": "Brazil"},
    "sg_big": {"BillingCountry": "Singapore", "NumberOfEmployees": 5000},
    "sg_small": {"BillingCountry": "Singapore", "NumberOfEmployees": 50},
    "nothing": {},
}


def _records() -> list[dict[str, Any]]:
    return [{"Id": key, "Name": key.replace("_", " ").title(), **fields} for key, fields in CASES.items()]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> MatchEnv:
    cfg = config(tmp_path_factory.mktemp("cfg"))
    return MatchEnv.build(cfg.get("match_rules"), cfg.get("territories"))


def _batch(env: MatchEnv, records: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    result = assign_batch(accounts_frame(records, extra=["NumberOfEmployees"]), env, OfflineResolver(), **kw)
    return {o.account_id: o for o in result.outcomes()}


def test_each_case_lands_where_a_person_would_put_it(env: MatchEnv) -> None:
    got = _batch(env, _records())
    expect = {
        "clean_us_west": ("assigned", "NA_West"), "clean_us_east": ("assigned", "NA_East"),
        "clean_gb": ("assigned", "EMEA_UKI"),  # UKI and its parent EMEA both hold: the more specific wins
        "france": ("assigned", "EMEA"),
        "georgia_alone": ("pending:ambiguous_geo", None),  # US state or the country: nothing tells them apart
        "georgia_atlanta": ("assigned", "NA_East"),  # the city settles it
        "valencia": ("pending:low_confidence", None),  # Venezuela's or Spain's: a city without a country
        "london": ("assigned", "EMEA_UKI"),
        "germany_ca": ("pending:ambiguous_geo", None),  # contradictory country and state
        "brazil": ("pending:no_match", None),
        "sg_big": ("pending:multi_match", None),  # two Singapore territories of the same type priority
        "sg_small": ("assigned", "APAC_SG"),
        "nothing": ("pending:ambiguous_geo", None),
    }
    assert {k: (o.status, o.territory) for k, o in got.items()} == expect
    assert got["clean_gb"].confidence == 1.0 and got["clean_gb"].rule_id == "uki"
    assert 0.8 <= got["london"].confidence < 1.0
    assert got["sg_big"].evidence["candidates"] == ["APAC_SG", "APAC_Strategic"]
    assert got["brazil"].evidence["rule_id"] == "rest"
    valencia = got["valencia"].evidence
    assert valencia["why_resolved"].startswith("a city (Valencia) without a country")
    assert valencia["resolution"]["confidence"] < 0.8 and "gazetteer" in valencia["resolution"]["evidence"][0]


def test_exclusions_and_manual_assignments_are_respected(env: MatchEnv) -> None:
    got = _batch(env, _records(), excluded={"clean_gb": frozenset({"EMEA_UKI"}), "sg_big": frozenset({"APAC_SG"})},
                 manual={"brazil": "EMEA"})
    assert (got["clean_gb"].status, got["clean_gb"].territory, got["clean_gb"].rule_id) == ("assigned", "EMEA", "emea")
    assert (got["sg_big"].status, got["sg_big"].territory) == ("assigned", "APAC_Strategic")
    assert (got["brazil"].status, got["brazil"].territory) == ("manual", "EMEA")


def test_a_higher_threshold_turns_a_resolved_city_into_low_confidence(env: MatchEnv) -> None:
    got = _batch(env, _records(), threshold=0.97)
    assert got["london"].status == "pending:low_confidence"
    assert got["london"].evidence["proposed"] == "EMEA_UKI"
    assert got["clean_us_west"].status == "assigned"  # a clean address is not weighed


ADDRESSES = st.fixed_dictionaries({}, optional={
    "BillingCountry": st.sampled_from(["USA", "US", "Germany", "UK", "France", "Singapore", "Brazil", "Georgia", ""]),
    "BillingState": st.sampled_from(["CA", "California", "NY", "Georgia", "Bavaria", "GA", "WA", ""]),
    "BillingCity": st.sampled_from(["London", "Valencia", "Atlanta", "Munich", "Springfield", "Tbilisi", ""]),
    "BillingPostalCode": st.sampled_from(["94105", "30301", "SW1A 1AA", ""]),
    "NumberOfEmployees": st.sampled_from([10, 999, 1000, 20000]),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ADDRESSES, min_size=1, max_size=25), st.sets(st.integers(0, 24), max_size=4))
def test_the_batch_and_single_record_paths_agree(env: MatchEnv, addresses: list[dict[str, Any]],
                                                 excluded_rows: set[int]) -> None:
    records = [{"Id": f"a{i}", "Name": f"Co {i}", **a} for i, a in enumerate(addresses)]
    excluded = {f"a{i}": frozenset({"EMEA_UKI", "APAC_SG", "NA_West"}) for i in excluded_rows if i < len(records)}
    batch = _batch(env, records, excluded=excluded)
    resolver = OfflineResolver()
    for rec in records:
        one = assign_one(rec, env, resolver, excluded=excluded.get(rec["Id"], frozenset()))
        b = batch[rec["Id"]]
        assert (one.status, one.territory, one.rule_id, one.evidence) == (b.status, b.territory, b.rule_id, b.evidence)
        assert one.confidence == pytest.approx(b.confidence)


def _seed_accounts(crm: Any) -> dict[str, str]:
    ids = {}
    for rec in _records():
        fields = {k: v for k, v in rec.items() if k != "Id"}
        ids[rec["Id"]] = crm.create(Account(**fields))
    return ids


def test_apply_writes_associations_status_and_evidence_and_a_second_run_plans_nothing(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    crm, log = local_crm(tmp_path)
    flow.apply_sync(cfg, crm, log, today=TODAY)
    ids = _seed_accounts(crm)
    plan = flow.plan_assignments(cfg, crm, OfflineResolver())
    assert len(plan.creates) == 7  # the assigned cases
    result = flow.apply_assignments(plan, crm, log, config_version=cfg.version, actor="test")
    assert (result.created, result.updated, result.failures) == (7, len(CASES), [])
    assoc = list(crm.query_all(Query("ObjectTerritory2Association")))
    assert {a.AssociationCause for a in assoc} == {"Territory2AssignmentRule"}  # type: ignore[attr-defined]
    brazil = crm.get("Account", ids["brazil"])
    assert brazil.Territory_Status__c == "pending:no_match"  # type: ignore[attr-defined]
    assert '"rule_id":"rest"' in (brazil.Territory_Evidence__c or "")  # type: ignore[attr-defined]
    decisions = log.for_record(ids["sg_big"], loop="deploy")
    assert decisions[0].outcome == "pending:multi_match"
    assert decisions[0].detail["evidence"]["candidates"] == ["APAC_SG", "APAC_Strategic"]
    assert log.for_record(ids["clean_us_west"], loop="deploy")[0].outcome == "NA_West"
    again = flow.plan_assignments(cfg, crm, OfflineResolver())
    assert again.empty and again.changed == {}


def test_manual_associations_and_exclusions_in_the_crm_are_kept(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    crm, log = local_crm(tmp_path)
    flow.apply_sync(cfg, crm, log, today=TODAY)
    ids = _seed_accounts(crm)
    terr = {t.DeveloperName: t.Id for t in crm.query_all(Query("Territory2"))}  # type: ignore[attr-defined]
    crm.create(ObjectTerritory2Association(ObjectId=ids["clean_us_west"], Territory2Id=terr["NA_East"],
                                           AssociationCause="Territory2Manual"))
    crm.create(Territory2ObjectExclusion(ObjectId=ids["clean_gb"], Territory2Id=terr["EMEA_UKI"]))
    plan = flow.plan_assignments(cfg, crm, OfflineResolver())
    flow.apply_assignments(plan, crm, log, config_version=cfg.version)
    by_account = {(a.ObjectId, a.AssociationCause): a.Territory2Id  # type: ignore[attr-defined]
                  for a in crm.query_all(Query("ObjectTerritory2Association"))}
    assert by_account[(ids["clean_us_west"], "Territory2Manual")] == terr["NA_East"]
    assert (ids["clean_us_west"], "Territory2AssignmentRule") not in by_account
    assert by_account[(ids["clean_gb"], "Territory2AssignmentRule")] == terr["EMEA"]


def test_an_assignment_apply_cut_short_is_finished_by_the_next(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    crm, log = local_crm(tmp_path)
    flow.apply_sync(cfg, crm, log, today=TODAY)
    _seed_accounts(crm)
    failing = FailingCRM(crm, fail_on=2)  # associations created, then the status updates fail
    result = flow.apply_assignments(flow.plan_assignments(cfg, failing, OfflineResolver()), failing, log,
                                    config_version=cfg.version)
    assert result.interrupted and result.created == 7 and result.updated == 0
    left = flow.plan_assignments(cfg, crm, OfflineResolver())
    assert (len(left.creates), len(left.field_updates)) == (0, len(CASES))
    flow.apply_assignments(left, crm, log, config_version=cfg.version)
    assert flow.plan_assignments(cfg, crm, OfflineResolver()).empty


def test_against_another_config_lists_the_accounts_that_move_with_their_owners(tmp_path: Path) -> None:
    old = config(tmp_path / "old")
    new_rules = (tmp_path / "old" / "deploy" / "match_rules.yaml").read_text().replace(
        "territory: EMEA_UKI}", "territory: NA_East}")  # the UK goes to the east coast team
    new = config(tmp_path / "new", {"deploy/match_rules.yaml": new_rules})
    crm, log = local_crm(tmp_path)
    flow.apply_sync(new, crm, log, today=TODAY)
    ids = _seed_accounts(crm)
    plan = flow.plan_assignments(new, crm, OfflineResolver(), against=old)
    moves = {m.account_id: m for m in plan.moves}
    assert set(moves) == {ids["clean_gb"], ids["london"]}
    gb = moves[ids["clean_gb"]]
    assert (gb.before, gb.after, gb.before_owner, gb.after_owner) == (
        "EMEA_UKI", "NA_East", "cleo@test.example", "ben@test.example")


def test_pending_lists_evidence_and_resolve_logs_who_and_why(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    crm, log = local_crm(tmp_path)
    flow.apply_sync(cfg, crm, log, today=TODAY)
    ids = _seed_accounts(crm)
    flow.apply_assignments(flow.plan_assignments(cfg, crm, OfflineResolver(), threshold=0.97), crm, log,
                           config_version=cfg.version)
    listed = {p.account_id: p for p in flow.pending(crm)}
    assert listed[ids["london"]].status == "pending:low_confidence"
    assert listed[ids["london"]].evidence["proposed"] == "EMEA_UKI"
    assert {p.account_id for p in flow.pending(crm, "pending:ambiguous_geo")} == {
        ids["georgia_alone"], ids["germany_ca"], ids["nothing"]}
    decision = flow.resolve(cfg, crm, log, ids["london"], approve=True, reason="HQ is in Shoreditch", actor="maria")
    assert (decision.outcome, decision.actor) == ("EMEA_UKI", "maria")
    assert decision.detail["review"]["why"] == "HQ is in Shoreditch" and decision.detail["review"]["approved"]
    assert log.for_record(ids["london"], loop="deploy")[0].id == decision.id
    chosen = flow.resolve(cfg, crm, log, ids["sg_big"], territory="APAC_Strategic", reason="named account")
    assert chosen.detail["review"]["was"] == "pending:multi_match"
    with pytest.raises(InputError, match="nothing to approve"):
        flow.resolve(cfg, crm, log, ids["georgia_alone"], approve=True)
    with pytest.raises(InputError, match="not pending"):
        flow.resolve(cfg, crm, log, ids["clean_gb"], territory="EMEA")
    manual = [a for a in crm.query_all(Query("ObjectTerritory2Association", (Filter("ObjectId", "eq", ids["london"]),)))]
    assert [a.AssociationCause for a in manual] == ["Territory2Manual"]  # type: ignore[attr-defined]
    # a later run keeps the reviewed accounts where people put them
    again = flow.plan_assignments(cfg, crm, OfflineResolver(), threshold=0.97)
    assert ids["london"] not in [a for a, _ in again.creates] and ids["london"] not in again.changed


def test_coverage_matches_a_hand_count(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    crm, log = local_crm(tmp_path)
    flow.apply_sync(cfg, crm, log, today=TODAY)
    ids = _seed_accounts(crm)
    flow.apply_assignments(flow.plan_assignments(cfg, crm, OfflineResolver()), crm, log, config_version=cfg.version)
    close = dt.date(2027, 1, 31)
    for account, amount, closed in (("clean_gb", 100.0, False), ("clean_gb", 50.0, True), ("london", 30.0, False),
                                    ("france", 7.0, False), ("clean_us_west", 11.0, False), ("brazil", 99.0, False)):
        crm.create(Opportunity(Name="o", StageName="Closed Won" if closed else "Qualification", CloseDate=close,
                               AccountId=ids[account], Amount=amount, IsClosed=closed))
    cov = flow.territory_coverage(cfg, crm)
    rows = {t.territory: t for t in cov.territories}
    # UKI holds clean_gb and london (open 100 + 30; the closed 50 does not count); EMEA holds france (7)
    assert (rows["EMEA_UKI"].accounts, rows["EMEA_UKI"].open_pipeline) == (2, 130.0)
    assert (rows["EMEA"].accounts, rows["EMEA"].accounts_rolled_up, rows["EMEA"].open_pipeline_rolled_up) == (1, 3, 137.0)
    assert (rows["World"].accounts_rolled_up, rows["World"].open_pipeline_rolled_up) == (7, 148.0)
    assert rows["EMEA_DACH"].users == {"SDR": ["Cleo Test"]} and rows["NA"].users == {"Manager": ["Ben Test"]}
    assert cov.territories[0].territory == "World" and cov.territories[0].depth == 0
    assert (cov.accounts, cov.unassigned) == (len(CASES), 6)
    assert cov.unassigned_by_status == {"pending:ambiguous_geo": 3, "pending:low_confidence": 1,
                                        "pending:multi_match": 1, "pending:no_match": 1}
