"""Checks a RevOps engineer relies on before a merge, and a surface bad input cannot break: each test is a
defect found by using the product as a user (the CLI) or attacking it as a tester (HTTP)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ruamel.yaml import YAML
from typer.testing import CliRunner

from revloops.app import app_on
from revloops.bootstrap import Platform
from revloops.core.ids import new_id
from revloops.interfaces.api.app import create_app
from revloops.interfaces.cli.app import app as cli
from revloops.ports.crm import Filter, Query

OPS = {"Authorization": "Bearer ops-token"}


@pytest.fixture(scope="module")
def client(acme: Platform) -> TestClient:
    return TestClient(create_app(app_on(acme)))


def _rules(acme: Platform) -> dict[str, Any]:
    return YAML(typ="safe").load((Path(acme.settings.config) / "rules.yaml").read_text())  # type: ignore[no-any-return]


def _run(acme: Platform, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, [*args, "--config", str(acme.settings.config), "--db", acme.settings.db_url],
                              env=env)


def _preview(client: TestClient, body: dict[str, Any]) -> Any:
    resp = client.post("/api/loops/route/preview", json=body, headers=OPS)
    assert resp.status_code == 200, resp.text
    return resp.json()


# -- Route's checks tell the truth ----------------------------------------------------------------------------

def test_a_rule_that_keeps_its_id_but_targets_another_role_moves_its_records(acme: Platform,
                                                                              client: TestClient) -> None:
    rules = _rules(acme)
    changed = [r for r in rules["rules"] if r["action"].get("type") == "territory" and r["action"]["role"] == "AE"]
    for rule in changed:
        rule["action"]["role"] = "SDR"
    out = _preview(client, {"from_crm": True, "rules": rules})
    routed = out["preview"]["by_rule"]
    expected = sum(routed.get(r["id"], 0) for r in changed)
    assert expected > 0  # the example org has territory-routed leads
    action_moves = [m for m in out["moves"] if m["reason"] == "action"]
    assert len(action_moves) == expected and out["moves"] == action_moves  # no rule changed, every record moves
    assert {m["old_rule"] for m in action_moves} <= {r["id"] for r in changed}
    assert all(m["old_rule"] == m["new_rule"] for m in action_moves)
    assert out["summary"]["by_rule"]


def test_a_proposal_identical_to_the_config_moves_nothing_and_counts_only_rotation(client: TestClient,
                                                                                    acme: Platform) -> None:
    out = _preview(client, {"from_crm": True, "rules": _rules(acme)})
    assert out["moves"] == [] and out["rotation"] == 0


def _leads_in_pool(acme: Platform, n: int, day: dt.date | None) -> list[dict[str, Any]]:
    """``n`` leads the mid-market EMEA rule takes (pool emea-sdr: two members, 30 a day each)."""
    out = []
    for i in range(n):
        rec: dict[str, Any] = {"Id": new_id("Lead"), "LastName": f"L{i}", "Company": f"Co {i}",
                               "Country": "Germany", "NumberOfEmployees": 500, "Email": f"l{i}@co{i}.example"}
        if day is not None:
            rec["CreatedDate"] = (dt.datetime.combine(day, dt.time(9)) + dt.timedelta(days=i % 10)).isoformat()
        out.append(rec)
    return out


def test_caps_hold_per_day_the_records_were_created(acme: Platform, client: TestClient) -> None:
    one_day = [{**r, "CreatedDate": "2026-03-02T09:00:00"} for r in _leads_in_pool(acme, 100, None)]
    squeezed = _preview(client, {"records": one_day})["preview"]
    assert squeezed["capped"] == 100 - 60  # two members of 30 a day; the rest fell to a later rule
    spread = _preview(client, {"records": _leads_in_pool(acme, 100, dt.date(2026, 3, 2))})["preview"]
    assert spread["capped"] == 0 and spread["by_rule"]["mid-market-emea"] == 100
    lifted = _preview(client, {"records": one_day, "caps": False})["preview"]
    assert lifted["caps"] is False and lifted["by_rule"]["mid-market-emea"] == 100


def test_against_reads_like_git_diff(acme: Platform, tmp_path: Path) -> None:
    import subprocess

    config = Path(acme.settings.config)
    git = ["git", "-C", str(config), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    if not (config / ".git").exists():
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-qm", "base"], check=True)
    rules = config / "rules.yaml"
    original = rules.read_text()
    try:
        rules.write_text(original.replace("NumberOfEmployees: {gte: 1000}", "NumberOfEmployees: {gte: 250}"))
        ran = _run(acme, "route", "preview", "--from-crm", "--against", "HEAD", "--json")
        assert ran.exit_code == 0, ran.output
        out = json.loads(ran.output)
        assert out["old"] == "HEAD" and out["new"].startswith("working tree")
        # the working tree's looser threshold takes records onto the enterprise rules
        assert out["moves"] and all(m["new_rule"].endswith("enterprise") for m in out["moves"])
    finally:
        rules.write_text(original)


def test_validate_warns_of_a_field_nothing_provides_with_the_nearest_name(acme: Platform) -> None:
    rules = Path(acme.settings.config) / "rules.yaml"
    original = rules.read_text()
    try:
        rules.write_text(original.replace("geo.country: {in: [GB, IE, DE", "geo.regoin: {in: [GB, IE, DE", 1))
        ran = _run(acme, "validate", "--json")
        assert ran.exit_code == 0, ran.output
        warnings = json.loads(ran.output)["warnings"]
        assert any("rules.yaml:" in w and "geo.regoin" in w and "did you mean geo.region" in w for w in warnings)
    finally:
        rules.write_text(original)


def test_validate_and_test_refuse_a_queue_the_crm_lacks(acme: Platform) -> None:
    rules = Path(acme.settings.config) / "rules.yaml"
    original = rules.read_text()
    try:
        rules.write_text(original.replace("queue: Disqualified", "queue: Disqualifed"))
        ran = _run(acme, "validate", "--json")
        assert ran.exit_code == 1
        body = json.loads(ran.output)
        assert body["error"] == "config_invalid"
        assert any("Disqualifed is not in the CRM" in e["message"] and "rules.yaml:" in e["message"]
                   for e in body["errors"])
    finally:
        rules.write_text(original)


def test_a_rule_with_500_alternatives_validates_and_routes(acme: Platform, client: TestClient) -> None:
    rules = _rules(acme)
    rules["rules"].insert(0, {"id": "many-domains", "priority": 1, "objects": ["Lead"],
                              "when": {"any": [{"Email": {"ends_with": f"@d{i}.example"}} for i in range(500)]},
                              "action": {"type": "queue", "queue": "Disqualified"}})
    out = _preview(client, {"records": [{"LastName": "X", "Company": "Y", "Email": "x@d417.example"}],
                            "rules": rules})
    assert out["moves"][0]["new_rule"] == "many-domains"


@pytest.mark.parametrize("pattern", ["^(?!z)(a+)+$", r"(a)\1"])
def test_a_pattern_re2_cannot_take_is_refused_naming_its_place(client: TestClient, acme: Platform,
                                                               pattern: str) -> None:
    rules = _rules(acme)
    rules["rules"][0]["when"] = {"Email": {"matches": pattern}}
    resp = client.post("/api/loops/route/preview", json={"records": [], "rules": rules}, headers=OPS)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["field"].startswith("rules.rules[0]") and "RE2" in json.dumps(body)


def test_a_catastrophic_pattern_for_python_is_linear_for_re2(client: TestClient, acme: Platform) -> None:
    rules = _rules(acme)
    rules["rules"][0]["when"] = {"Email": {"matches": "^(a+)+$"}}
    evil = [{"LastName": "X", "Company": "Y", "Email": "a" * 5000 + "!"}]
    out = _preview(client, {"records": evil, "rules": rules})
    assert out["records"] == 1


def test_a_dry_run_shows_no_decision_id_and_every_shown_id_explains(acme: Platform, client: TestClient) -> None:
    lead = acme.crm.find_one(Query("Lead", (Filter("Country", "ne", None),)))
    assert lead is not None and lead.Id
    dry = client.post("/api/loops/route/resolve", json={"record_id": lead.Id}, headers=OPS).json()
    assert dry["id"] == "" and dry["detail"]["applied"] is False
    applied = client.post("/api/loops/route/resolve?apply=true", json={"record_id": lead.Id}, headers=OPS).json()
    assert client.get(f"/api/decisions/{applied['id']}", headers=OPS).status_code == 200


# -- the API and the CLI survive bad input and lose nothing ----------------------------------------------------

def test_an_oversized_body_is_413_and_no_token_is_401_before_the_body_is_read(client: TestClient) -> None:
    big = b"x" * (9 * 1024 * 1024)
    assert client.post("/api/crm/events", content=big, headers={"X-Revloops-Signature": "t=1,v1=" + "a" * 64}
                       ).status_code == 413
    small = b"{" + b" " * 100_000
    assert client.post("/api/loops/route/preview", content=small).status_code == 401
    assert client.post("/api/crm/events", content=small).status_code == 401


@pytest.mark.parametrize("header", ["t=١٢٣٤,v1=" + "a" * 64, "t=" + "9" * 5000 + ",v1=x", "t=1,v1=é" + "a" * 63,
                                    "garbage" * 100])
def test_a_strange_signature_header_is_401_not_500(client: TestClient, header: str) -> None:
    resp = client.post("/api/crm/events", content=b'{"events": []}',
                       headers={"X-Revloops-Signature": header.encode("utf-8")})
    assert resp.status_code == 401


@pytest.mark.parametrize("raw, field", [
    ('{"record": {"LastName": "N", "Company": "C", "AnnualRevenue": NaN}}', "record.AnnualRevenue"),
    ('{"record": {"LastName": "N", "Company": "C", "AnnualRevenue": 1e999}}', "record.AnnualRevenue"),
    ('{"record": {"LastName": "\\ud800", "Company": "C"}}', "record.LastName"),
    ('{"record_id": "00Qnot-an-id!!!!"}', "record_id"),
])
def test_inputs_that_crashed_answer_422_naming_the_field(client: TestClient, raw: str, field: str) -> None:
    resp = client.post("/api/loops/route/resolve", content=raw.encode(),
                       headers={**OPS, "Content-Type": "application/json"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == field


def test_an_apply_routes_the_stored_record_and_a_failed_apply_takes_no_slot(acme: Platform,
                                                                              client: TestClient) -> None:
    lead = acme.crm.find_one(Query("Lead", (Filter("Country", "eq", "Germany"),)))
    assert lead is not None and lead.Id
    invented = {"Id": lead.Id, "LastName": "Z", "Company": "Invented", "Country": "Japan",
                "NumberOfEmployees": 50_000}
    stored = client.post("/api/loops/route/resolve", json={"record_id": lead.Id}, headers=OPS).json()
    applied = client.post("/api/loops/route/resolve?apply=true", json={"record": invented}, headers=OPS).json()
    assert applied["record_id"] == lead.Id and applied["detail"]["rule_id"] == stored["detail"]["rule_id"]
    actual = {c["field"]: c.get("actual") for step in applied["trace"] for c in step.get("conditions", [])}
    assert actual.get("geo.country") == "DE"  # the stored record's country, not the invented one
    before = acme.rotation.states()
    missing = new_id("Lead")
    for _ in range(3):
        resp = client.post("/api/loops/route/resolve?apply=true", json={"record_id": missing}, headers=OPS)
        assert resp.status_code == 404
    assert acme.rotation.states() == before


def test_settings_mistakes_are_one_line_and_exit_2(tmp_path: Path) -> None:
    for env, name in (({"REVLOOPS_CRM": "hubspot"}, "REVLOOPS_CRM"),
                      ({"REVLOOPS_API_TOKENS": "[not json"}, "REVLOOPS_API_TOKENS"),
                      ({"REVLOOPS_DB": "mysql://x/y"}, "REVLOOPS_DB"),
                      ({"REVLOOPS_DB": f"sqlite:///{tmp_path}/missing/dir/state.sqlite"}, "REVLOOPS_DB")):
        ran = CliRunner().invoke(cli, ["loops"], env=env)
        assert ran.exit_code == 2, ran.output
        assert name in ran.output and "Traceback" not in ran.output
    assert not (tmp_path / "missing").exists()


def test_a_json_failure_prints_a_json_error(acme: Platform) -> None:
    ran = _run(acme, "explain", "dec_nope", "--json")
    assert ran.exit_code == 1
    assert json.loads(ran.output)["error"] == "not_found"


def test_crm_check_exits_1_when_sign_in_fails() -> None:
    ran = CliRunner().invoke(cli, ["crm", "check"], env={"REVLOOPS_CRM": "salesforce"})
    assert ran.exit_code == 1 and "failed" in ran.output


def test_validate_reports_schema_and_cross_file_problems_in_one_pass(acme: Platform) -> None:
    """A file that breaks its schema and another file's broken reference come out of one `validate` run."""
    root = Path(acme.settings.config)
    rules, scoring = root / "rules.yaml", root / "qualify" / "scoring.yaml"
    rules_text, scoring_text = rules.read_text(), scoring.read_text()
    try:
        scoring.write_text(scoring_text.replace("points: ", "points: lots #", 1))
        rules.write_text(rules_text.replace("pool: smb-intl}", "pool: smb-intnl}", 1))
        ran = _run(acme, "validate", "--json")
        assert ran.exit_code == 1, ran.output
        errors = json.loads(ran.output)["errors"]
        assert any("scoring.yaml:" in e["location"] and "points" in e["message"] for e in errors), errors
        assert any("rules.yaml:" in e["location"] and "smb-intnl" in e["message"] for e in errors), errors
    finally:
        rules.write_text(rules_text)
        scoring.write_text(scoring_text)
