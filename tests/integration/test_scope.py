"""Data scope through the API: a rep sees only their leads and the decisions on them, a manager their team
(two levels deep here), ops everything; a record out of scope answers exactly like a missing one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from revloops.app import Caller, app_on
from revloops.bootstrap import Platform, build
from revloops.core.ids import new_id
from revloops.core.records import Lead, User
from revloops.interfaces.api.app import create_app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
TOKENS = ('[{"token": "t-dana", "user": "dana@scope.example", "tier": "manager"},'
          ' {"token": "t-mo", "user": "mo@scope.example", "tier": "manager"},'
          ' {"token": "t-ria", "user": "ria@scope.example", "tier": "rep"},'
          ' {"token": "t-sam", "user": "sam@scope.example", "tier": "rep"},'
          ' {"token": "t-ops", "user": "ops@scope.example", "tier": "ops"}]')


def _user(plat: Platform, name: str, manager: str | None) -> str:
    return plat.crm.create(User(Username=f"{name}@scope.example", Email=f"{name}@scope.example", LastName=name,
                                IsActive=True, ManagerId=manager))


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str], dict[str, list[str]]]]:
    """Dana manages Mo, who manages Ria; Sam reports to nobody. Each owns two leads; Ria's first is routed."""
    root = tmp_path_factory.mktemp("scope")
    mp = pytest.MonkeyPatch()
    mp.setenv("REVLOOPS_API_TOKENS", TOKENS)
    plat = build(config=EXAMPLE, db=f"sqlite:///{root / 'state.sqlite'}")
    users = {"dana": _user(plat, "dana", None)}
    users["mo"] = _user(plat, "mo", users["dana"])
    users["ria"] = _user(plat, "ria", users["mo"])
    users["sam"] = _user(plat, "sam", None)
    leads = {name: [plat.crm.create(Lead(LastName=f"{name} lead {i}", Company=f"{name} co {i}", OwnerId=uid))
                    for i in range(2)] for name, uid in users.items()}
    app = app_on(plat)
    decision = app.resolve_route(Caller.operator("test"), record_id=leads["ria"][0], dry_run=False)
    plat.crm.update("Lead", leads["ria"][0], {"OwnerId": users["ria"]})  # routing may have moved it: keep Ria's
    with TestClient(create_app(app)) as client:
        yield client, {"decision": decision.id, **users}, leads
    mp.undo()


def _leads(client: TestClient, token: str) -> set[str]:
    resp = client.get("/api/leads", params={"limit": 200}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["total"] == len(body["items"]) and body["next_cursor"] is None
    return {item["id"] for item in body["items"]}


def test_a_rep_sees_only_their_own_leads(org) -> None:  # type: ignore[no-untyped-def]
    client, _, leads = org
    assert _leads(client, "t-ria") == set(leads["ria"])
    assert _leads(client, "t-sam") == set(leads["sam"])


def test_a_manager_sees_their_team_two_levels_deep(org) -> None:  # type: ignore[no-untyped-def]
    client, _, leads = org
    assert _leads(client, "t-dana") == set(leads["dana"] + leads["mo"] + leads["ria"])
    assert _leads(client, "t-mo") == set(leads["mo"] + leads["ria"])


def test_ops_sees_the_whole_org(org) -> None:  # type: ignore[no-untyped-def]
    client, _, leads = org
    assert set().union(*leads.values()) <= _leads(client, "t-ops")


def test_out_of_scope_answers_like_a_missing_record(org) -> None:  # type: ignore[no-untyped-def]
    client, ids, leads = org
    ria_lead, decision = leads["ria"][0], ids["decision"]
    for token in ("t-ria", "t-mo", "t-dana", "t-ops"):  # in scope
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get(f"/api/decisions/{decision}", headers=headers).status_code == 200
        assert client.get(f"/api/records/{ria_lead}/decisions", headers=headers).json()[0]["id"] == decision
    sam = {"Authorization": "Bearer t-sam"}
    hidden = client.get(f"/api/decisions/{decision}", headers=sam)
    missing = client.get("/api/decisions/dec_00000000000000000000000000", headers=sam)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"] == missing.json()["error"] == "not_found"
    assert hidden.json()["message"].replace(decision, "X") == missing.json()["message"].replace(
        "dec_00000000000000000000000000", "X")
    hidden_record = client.get(f"/api/records/{ria_lead}/decisions", headers=sam)
    nobody = new_id("Lead")  # a well-formed id of no record
    missing_record = client.get(f"/api/records/{nobody}/decisions", headers=sam)
    assert hidden_record.status_code == missing_record.status_code == 404
    assert hidden_record.json()["message"].replace(ria_lead, "X") == missing_record.json()["message"].replace(
        nobody, "X")


def test_a_rep_may_not_run_an_ops_action(org) -> None:  # type: ignore[no-untyped-def]
    client, _, _ = org
    resp = client.post("/api/config/validate", headers={"Authorization": "Bearer t-ria"})
    assert resp.status_code == 403 and resp.json()["error"] == "forbidden"
    assert client.post("/api/config/validate").status_code == 401
