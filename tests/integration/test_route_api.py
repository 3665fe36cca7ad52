"""Route over HTTP and the CLI: auth, bad bodies, live resolve with apply, preview and diff."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from revloops.app import app_on
from revloops.bootstrap import Platform
from revloops.interfaces.api.app import create_app
from revloops.interfaces.cli.app import app as cli
from revloops.ports.crm import Filter, Query
from tests.integration.yaml_helpers import rules_with_catch_all_first

OPS = {"Authorization": "Bearer ops-token"}


@pytest.fixture(scope="module")
def client(acme: Platform) -> TestClient:
    return TestClient(create_app(app_on(acme)))


def _a_lead(acme: Platform) -> str:
    lead = acme.crm.find_one(Query("Lead", (Filter("Country", "ne", None),)))
    assert lead is not None and lead.Id
    return lead.Id


def test_no_token_or_bad_token_is_401(client: TestClient) -> None:
    body = {"object": "Lead", "record": {"LastName": "Ng", "Company": "Acme"}}
    assert client.post("/api/loops/route/resolve", json=body).status_code == 401
    bad = client.post("/api/loops/route/resolve", json=body, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_rep_tier_may_not_route(client: TestClient) -> None:
    body = {"object": "Lead", "record": {"LastName": "Ng", "Company": "Acme"}}
    assert client.post("/api/loops/route/resolve", json=body,
                       headers={"Authorization": "Bearer rep-token"}).status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"object": "Lead", "record": {"LastName": "Ng", "Company": "Acme", "NumberOfEmployees": "lots"}},
     "record.NumberOfEmployees"),
    ({"object": "Lead", "record": {"LastName": "Ng", "Colour__c": "red"}}, "record.Colour__c"),
    ({"object": "Planet", "record": {}}, "object"),
    ({"object": "Lead"}, "record"),
    ({"object": "Lead", "record_id": "short"}, "record_id"),
])
def test_bad_body_is_422_naming_the_field(client: TestClient, body: dict[str, object], field: str) -> None:
    resp = client.post("/api/loops/route/resolve", json=body, headers=OPS)
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == field


def test_resolve_inline_record_gives_trace_and_explanation(client: TestClient) -> None:
    body = {"object": "Lead", "record": {"LastName": "Schmidt", "Company": "Grosse GmbH", "Country": "Deutschland",
                                         "NumberOfEmployees": 5000, "Email": "k.schmidt@grosse.example",
                                         "LeadSource": "Web"}}
    resp = client.post("/api/loops/route/resolve", json=body, headers=OPS)
    assert resp.status_code == 200, resp.text
    decision = resp.json()
    assert decision["loop"] == "route" and decision["trace"] and decision["explanation"].startswith("Matched")
    deciding = decision["trace"][-1]
    assert deciding["matched"] and deciding["rule_id"] == decision["detail"]["rule_id"]
    geo = [c for step in decision["trace"] for c in step["conditions"] if c["field"] == "geo.country"]
    assert geo and all(c["actual"] == "DE" for c in geo)


def test_apply_writes_owner_and_decision_and_explain_reads_it(client: TestClient, acme: Platform) -> None:
    lead_id = _a_lead(acme)
    resp = client.post("/api/loops/route/resolve?apply=true", json={"object": "Lead", "record_id": lead_id},
                       headers=OPS)
    assert resp.status_code == 200, resp.text
    decision = resp.json()
    lead = acme.crm.get("Lead", lead_id)
    assert lead.Routing_Decision_Id__c == decision["id"]  # type: ignore[attr-defined]
    if not decision["outcome"].startswith("pending:"):
        assert lead.OwnerId == decision["outcome"]  # type: ignore[attr-defined]
    assert decision["actor"] == "api:ops@acme.example"
    stored = client.get(f"/api/decisions/{decision['id']}", headers=OPS).json()
    assert stored["trace"] == decision["trace"]
    result = CliRunner().invoke(cli, ["explain", lead_id, "--config", str(acme.settings.config),
                                      "--db", acme.settings.db_url])
    assert result.exit_code == 0 and decision["detail"]["rule_id"] in result.output


def test_preview_never_advances_the_rotation(client: TestClient, acme: Platform) -> None:
    before = acme.rotation.states()
    resp = client.post("/api/loops/route/preview", json={"object": "Lead", "from_crm": True, "limit": 200},
                       headers=OPS)
    assert resp.status_code == 200, resp.text
    preview = resp.json()["preview"]
    assert preview["total"] == 200 and sum(preview["by_rule"].values()) == 200
    assert sum(preview["by_owner"].values()) == 200
    assert acme.rotation.states() == before


def test_preview_with_proposed_rules_lists_moves(client: TestClient, acme: Platform) -> None:
    proposed = rules_with_catch_all_first(acme.settings.config / "rules.yaml")
    resp = client.post("/api/loops/route/preview", json={"from_crm": True, "limit": 100, "rules": proposed},
                       headers=OPS)
    body = resp.json()
    assert resp.status_code == 200, resp.text
    assert body["moves"] and all(m["new_rule"] == "catch-all" for m in body["moves"])
    assert sum(body["summary"]["by_rule"].values()) == len(body["moves"]) == body["moves_total"]
    assert body["next_cursor"] is None  # no page asked for: every move


def test_the_moves_of_a_preview_come_a_page_at_a_time(acme: Platform) -> None:
    from revloops.app import Caller
    from revloops.app.models import Proposal, RecordSource
    from revloops.core.errors import InputError

    app, op = app_on(acme), Caller.operator("test")
    proposal = Proposal(rules=rules_with_catch_all_first(acme.settings.config / "rules.yaml"))
    source = RecordSource(from_crm=True, limit=100)
    whole = app.preview_routing(op, source, proposal)
    assert whole.moves and whole.moves_total == len(whole.moves) > 7
    pages, cursor = [], None
    while True:
        page = app.preview_routing(op, source, proposal, moves_limit=7, cursor=cursor)
        assert page.moves is not None and len(page.moves) <= 7 and page.moves_total == whole.moves_total
        assert page.summary == whole.summary  # the counts cover every move, whatever the page
        pages += page.moves
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == whole.moves
    with pytest.raises(InputError) as bad:
        app.preview_routing(op, source, proposal, moves_limit=0)
    assert bad.value.field == "moves_limit"


def test_cli_preview_against_a_git_revision(acme: Platform, tmp_path: Path) -> None:
    config = Path(acme.settings.config)
    git = ["git", "-C", str(config), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    rules = config / "rules.yaml"
    original = rules.read_text()
    try:
        rules.write_text(original.replace("NumberOfEmployees: {gte: 1000}", "NumberOfEmployees: {gte: 250}"))
        result = CliRunner().invoke(cli, ["route", "preview", "--from-crm", "--against", "HEAD", "--json",
                                          "--config", str(config), "--db", acme.settings.db_url])
        assert result.exit_code == 0, result.output
        import json

        out = json.loads(result.output)
        assert out["records"] == 300 and out["old"] == "HEAD"
        # like git diff: HEAD (stricter) is the old side, the working tree's looser threshold the new one
        assert out["moves"] and all(m["new_rule"] and m["new_rule"].endswith("enterprise") for m in out["moves"])
    finally:
        rules.write_text(original)
