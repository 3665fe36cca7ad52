"""Territory sync: plan order, an idempotent second apply, resuming after a failed batch, the Salesforce fake."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from revloops.adapters.salesforce.auth import SessionAuth
from revloops.adapters.salesforce.crm import SalesforceCRM
from revloops.adapters.salesforce.transport import SalesforceClient
from revloops.core.records import User
from revloops.loops.deploy import flow
from revloops.loops.deploy.logic import TERRITORY, USER_ASSIGNMENT, Change
from revloops.ports.crm import Filter, Query
from revloops.testing.fake_salesforce import running
from tests.unit.deploy_support import TERRITORIES, USERS, FailingCRM, config, local_crm

TODAY = dt.date(2026, 11, 29)


def _keys(changes: list[Change], op: str, sobject: str) -> list[str]:
    return [c.key for c in changes if c.op == op and c.sobject == sobject]


def _positions(changes: list[Change]) -> dict[tuple[str, str, str], int]:
    return {(c.op, c.sobject, c.key): i for i, c in enumerate(changes)}


def test_a_first_plan_creates_parents_before_children_and_assignments_after_territories(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    crm, _ = local_crm(tmp_path)
    changes = flow.plan_sync(cfg, crm, today=TODAY).changes
    pos = _positions(changes)
    parents = {t: p for t, p in [("NA", "World"), ("NA_West", "NA"), ("EMEA_UKI", "EMEA"), ("APAC_SG", "APAC")]}
    for child, parent in parents.items():
        assert pos[("create", TERRITORY, parent)] < pos[("create", TERRITORY, child)]
    first_assignment = min(i for (op, obj, _), i in pos.items() if obj == USER_ASSIGNMENT)
    last_territory = max(i for (op, obj, _), i in pos.items() if obj == TERRITORY)
    assert last_territory < first_assignment
    assert changes[0].sobject == "Territory2Model"
    assert len(_keys(changes, "create", TERRITORY)) == 10 and len(_keys(changes, "create", USER_ASSIGNMENT)) == 5


def test_apply_then_a_second_plan_and_apply_find_nothing_to_do(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    crm, log = local_crm(tmp_path)
    first = flow.apply_sync(cfg, crm, log, today=TODAY)
    assert first.complete and len(first.results) == 1 + 3 + 10 + 5
    west = crm.find_one(Query("Territory2", (Filter("DeveloperName", "eq", "NA_West"),)))
    na = crm.find_one(Query("Territory2", (Filter("DeveloperName", "eq", "NA"),)))
    assert west is not None and na is not None and west.ParentTerritory2Id == na.Id  # type: ignore[attr-defined]
    assert west.AccountAccessLevel == "Edit"  # type: ignore[attr-defined]
    again = flow.plan_sync(cfg, crm, log, today=TODAY)
    assert again.changes == [] and again.fast
    assert flow.plan_sync(cfg, crm, log, today=TODAY, refresh=True).changes == []  # the full read agrees
    second = flow.apply_sync(cfg, crm, log, today=TODAY)
    assert second.complete and second.results == []


def test_a_change_made_in_the_crm_is_seen_by_the_next_plan(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    crm, log = local_crm(tmp_path)
    flow.apply_sync(cfg, crm, log, today=TODAY)
    dach = crm.find_one(Query("Territory2", (Filter("DeveloperName", "eq", "EMEA_DACH"),)))
    assert dach is not None and dach.Id
    crm.update("Territory2", dach.Id, {"Name": "Renamed by hand"})
    plan = flow.plan_sync(cfg, crm, log, today=TODAY)
    assert not plan.fast
    assert [(c.op, c.key, dict(c.fields)) for c in plan.changes] == [("update", "EMEA_DACH", {"Name": "DACH"})]


def test_moves_come_before_removals_and_removals_go_deepest_first(tmp_path: Path) -> None:
    crm, log = local_crm(tmp_path)
    flow.apply_sync(config(tmp_path / "v1"), crm, log, today=TODAY)
    # v2: APAC goes away; its child APAC_SG moves under World; APAC_Strategic goes with its parent.
    moved = TERRITORIES.replace("  - {developer_name: APAC, name: APAC, type: Geo_Region, parent: World}\n", "")
    moved = moved.replace("parent: APAC}\n  - {developer_name: APAC_Strategic, name: APAC strategic, type: Geo_Sub, "
                          "parent: APAC}\n", "parent: World}\n")
    rules = "version: 1\nrules:\n  - {id: sg, priority: 1, when: {geo.country: {eq: SG}}, action: {type: assign, territory: APAC_SG}}\n"
    cfg2 = config(tmp_path / "v2", {"design/territories.yaml": moved, "deploy/match_rules.yaml": rules,
                                    "deploy/assignments.yaml": "version: 1\nassignments: []\n"})
    changes = flow.plan_sync(cfg2, crm, log, today=TODAY).changes
    pos = _positions(changes)
    assert pos[("update", TERRITORY, "APAC_SG")] < pos[("delete", TERRITORY, "APAC")]
    assert pos[("delete", TERRITORY, "APAC_Strategic")] < pos[("delete", TERRITORY, "APAC")]
    assert all(pos[("delete", USER_ASSIGNMENT, k)] < pos[("delete", TERRITORY, "APAC_Strategic")]
               for k in _keys(changes, "delete", USER_ASSIGNMENT))
    assert len(_keys(changes, "delete", USER_ASSIGNMENT)) == 5
    result = flow.apply_sync(cfg2, crm, log, today=TODAY)
    assert result.complete
    sg = crm.find_one(Query("Territory2", (Filter("DeveloperName", "eq", "APAC_SG"),)))
    world = crm.find_one(Query("Territory2", (Filter("DeveloperName", "eq", "World"),)))
    assert sg is not None and world is not None and sg.ParentTerritory2Id == world.Id  # type: ignore[attr-defined]
    assert flow.plan_sync(cfg2, crm, log, today=TODAY, refresh=True).changes == []


def test_a_failed_batch_mid_apply_is_finished_by_the_next_apply(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    inner, log = local_crm(tmp_path)
    # batches: model, types, then territories level by level (World, regions, subs), then assignments
    failing = FailingCRM(inner, fail_on=4)
    broken = flow.apply_sync(cfg, failing, log, today=TODAY)
    assert broken.interrupted and "batch 4" in broken.interrupted
    done = {r.change.key for r in broken.results if r.success}
    assert {"World", "Test_FY"} <= done and "NA" not in done
    left = flow.plan_sync(cfg, inner, log, today=TODAY).changes
    assert {c.key for c in left if c.sobject == TERRITORY} == {"NA", "EMEA", "APAC", "NA_West", "NA_East",
                                                               "EMEA_UKI", "EMEA_DACH", "APAC_SG", "APAC_Strategic"}
    assert all(c.op == "create" for c in left)
    finished = flow.apply_sync(cfg, inner, log, today=TODAY)
    assert finished.complete and len(finished.results) == len(left)
    assert flow.plan_sync(cfg, inner, log, today=TODAY).changes == []


def test_an_assignment_for_a_user_missing_from_the_crm_fails_alone(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    crm, log = local_crm(tmp_path, users=USERS[:2])  # cleo is not in the CRM
    result = flow.apply_sync(cfg, crm, log, today=TODAY)
    failed = {r.change.key: r.error for r in result.failed}
    assert set(failed) == {"cleo@test.example|EMEA_UKI", "cleo@test.example|EMEA_DACH"}
    assert all("user 'cleo@test.example' has no record" in (e or "") for e in failed.values())
    assert sum(r.success for r in result.results) == 1 + 3 + 10 + 3
    crm.create(User(Username="cleo@test.example", Email="cleo@test.example", LastName="Test"))
    plan = flow.plan_sync(cfg, crm, log, today=TODAY)
    assert [(c.op, c.key) for c in plan.changes] == [("create", "cleo@test.example|EMEA_DACH"),
                                                     ("create", "cleo@test.example|EMEA_UKI")]


def test_assignments_outside_their_dates_are_not_wanted(tmp_path: Path) -> None:
    dated = ("version: 1\nassignments:\n"
             "  - {user: ava@test.example, territory: NA_West, role: AE, end: 2026-06-30}\n"
             "  - {user: ben@test.example, territory: NA_West, role: AE, start: 2026-07-01}\n")
    cfg = config(tmp_path, {"deploy/assignments.yaml": dated})
    crm, _ = local_crm(tmp_path)
    keys = _keys(flow.plan_sync(cfg, crm, today=TODAY).changes, "create", USER_ASSIGNMENT)
    assert keys == ["ben@test.example|NA_West"]


@pytest.fixture
def salesforce() -> Iterator[SalesforceCRM]:
    with running() as (fake, server):
        client = SalesforceClient(SessionAuth(server.url, fake.new_session()), ca_bundle=server.ca_file, timeout=10)
        yield SalesforceCRM(client)
        client.close()


def test_sync_against_the_salesforce_fake_applies_once_and_then_plans_nothing(tmp_path: Path,
                                                                              salesforce: SalesforceCRM) -> None:
    cfg = config(tmp_path)
    for name in USERS:
        salesforce.create(User(Username=name, Email=name, LastName="Test"))
    result = flow.apply_sync(cfg, salesforce, None, today=TODAY)
    assert result.complete, [r.error for r in result.failed]
    west = salesforce.find_one(Query("Territory2", (Filter("DeveloperName", "eq", "NA_West"),)))
    na = salesforce.find_one(Query("Territory2", (Filter("DeveloperName", "eq", "NA"),)))
    assert west is not None and na is not None and west.ParentTerritory2Id == na.Id  # type: ignore[attr-defined]
    assert len(list(salesforce.query_all(Query("UserTerritory2Association")))) == 5
    assert flow.plan_sync(cfg, salesforce, None, today=TODAY).changes == []
