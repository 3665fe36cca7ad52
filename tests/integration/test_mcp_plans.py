"""Writes are plan, then apply, through the SDK's client over HTTP: a plan id applied after its records changed is
refused; applied unchanged, it does exactly what the dry run showed, and the decision log credits the caller.
``promote_scenario`` shows its one-line diff and writes only without ``dry_run``."""

from __future__ import annotations

from typing import Any

import anyio

from revloops.app import Caller
from revloops.ports.crm import Query
from tests.integration.mcp_org import Org
from tests.integration.mcp_org import org as org  # noqa: F401 - the module's fixture


def _text(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def _calls(org: Org, key: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    async def run() -> list[Any]:
        async with org.client(key, "http") as c:
            return [await c.call_tool(name, args) for name, args in calls]

    return anyio.run(run)


def test_a_reassignment_applies_exactly_its_plan_or_refuses(org: Org) -> None:
    crm, decisions = org.app.platform.crm, org.app.platform.decisions
    team = {u.Id or "" for u in crm.query_all(Query("User")) if u.ManagerId == org.users["olivia"]}
    ben = org.users["rep2"]
    carla = sorted(team - {ben, org.users["rep"]})[0]
    leads = sorted(lead.Id or "" for lead in crm.query_all(Query("Lead")) if lead.OwnerId == ben)[:2]
    ask = {"record_ids": leads, "to_user": carla, "reason": "Ben is on leave"}

    (shown,) = _calls(org, "manager", [("reassign_record", ask)])
    plan = shown.structured_content
    assert not shown.is_error and plan["dry_run"] is True
    assert [(c["record_id"], c["from_owner"], c["to_owner"]) for c in plan["changes"]] == [(x, ben, carla) for x in leads]
    assert {crm.get("Lead", x).OwnerId for x in leads} == {ben}  # a dry run writes nothing

    crm.update("Lead", leads[1], {"Title": "VP Sales"})  # the data changes after the plan was shown
    (stale,) = _calls(org, "manager", [("reassign_record", {**ask, "dry_run": False, "plan_id": plan["plan_id"]})])
    assert stale.is_error and "plan_id" in _text(stale)
    assert {crm.get("Lead", x).OwnerId for x in leads} == {ben}

    again, applied, twice = _apply_twice(org, ask)  # a fresh plan, applied, then applied again
    new_plan = again.structured_content
    assert new_plan["plan_id"] != plan["plan_id"] and new_plan["changes"] == plan["changes"]
    done = applied.structured_content
    assert not applied.is_error and done["dry_run"] is False and done["changes"] == new_plan["changes"]
    assert {crm.get("Lead", x).OwnerId for x in leads} == {carla}
    for lead, decision_id in zip(leads, done["decisions"], strict=True):
        logged = decisions.get(decision_id)
        assert (logged.record_id, logged.outcome, logged.actor) == (lead, carla, "mcp:dana.lead@acme.example")
        assert logged.detail["plan_id"] == new_plan["plan_id"] and logged.detail["reason"] == "Ben is on leave"
    assert twice.is_error and "plan_id" in _text(twice)  # applied once: its records moved on


def _apply_twice(org: Org, ask: dict[str, Any]) -> list[Any]:
    async def run() -> list[Any]:
        async with org.client("manager", "http") as c:
            shown = await c.call_tool("reassign_record", ask)
            pid = shown.structured_content["plan_id"]
            applied = await c.call_tool("reassign_record", {**ask, "dry_run": False, "plan_id": pid})
            twice = await c.call_tool("reassign_record", {**ask, "dry_run": False, "plan_id": pid})
            return [shown, applied, twice]

    return anyio.run(run)


def test_a_manager_reassigns_only_within_the_team(org: Org) -> None:
    crm = org.app.platform.crm
    users = list(crm.query_all(Query("User")))
    paul = next(u.Id or "" for u in users if u.Username == "paul.dubois@acme.example")
    outsider = next(u.Id or "" for u in users if u.ManagerId == paul)
    theirs = next(lead.Id or "" for lead in crm.query_all(Query("Lead")) if lead.OwnerId == outsider)
    mine = next(lead.Id or "" for lead in crm.query_all(Query("Lead")) if lead.OwnerId == org.users["rep"])
    to_outsider, their_lead = _calls(org, "manager", [
        ("reassign_record", {"record_ids": [mine], "to_user": outsider, "reason": "x"}),
        ("reassign_record", {"record_ids": [theirs], "to_user": org.users["rep"], "reason": "x"}),
    ])
    assert to_outsider.is_error and "not_found" in _text(to_outsider) and outsider in _text(to_outsider)
    assert their_lead.is_error and "not_found" in _text(their_lead) and theirs in _text(their_lead)


def test_a_rescore_applies_exactly_its_plan(org: Org) -> None:
    crm, decisions = org.app.platform.crm, org.app.platform.decisions
    leads = sorted(lead.Id or "" for lead in crm.query_all(Query("Lead")))[:12]
    (shown,) = _calls(org, "ops", [("rescore_leads", {"lead_ids": leads, "limit": 200})])
    plan = shown.structured_content
    assert not shown.is_error and plan["considered"] == 12 and plan["changes"]["total"] > 0
    before = {x: crm.get("Lead", x).fields().get("Lead_Score__c") for x in leads}

    (applied,) = _calls(org, "ops", [("rescore_leads", {"lead_ids": leads, "limit": 200, "dry_run": False,
                                                        "plan_id": plan["plan_id"]})])
    assert not applied.is_error, _text(applied)
    assert applied.structured_content["applied"] == plan["changes"]["total"]
    changed = {c["lead_id"]: c for c in plan["changes"]["items"]}
    for lead in leads:
        fields = crm.get("Lead", lead).fields()
        if lead in changed:
            assert fields["Lead_Score__c"] == changed[lead]["new_total"]
            assert fields["Qualification__c"] == changed[lead]["new_band"]
            logged = decisions.for_record(lead, limit=1, loop="qualify")[0]
            assert logged.actor == "mcp:ops@acme.example" and logged.detail["plan_id"] == plan["plan_id"]
        else:
            assert fields.get("Lead_Score__c") == before[lead]  # not in the plan: untouched


def test_a_proposed_scoring_config_is_preview_only(org: Org) -> None:
    from revloops.config.yamlfile import load_yaml

    path = org.root / "config" / "qualify" / "scoring.yaml"
    scoring = load_yaml(path, str(path)).data  # the file as a client would send it, as JSON
    leads = sorted(lead.Id or "" for lead in org.app.platform.crm.query_all(Query("Lead")))[20:25]
    preview, apply, broken = _calls(org, "ops", [
        ("rescore_leads", {"lead_ids": leads, "scoring": scoring}),
        ("rescore_leads", {"lead_ids": leads, "scoring": scoring, "dry_run": False, "plan_id": "plan_x"}),
        ("rescore_leads", {"lead_ids": leads, "scoring": {**scoring, "thresholds": "high"}}),
    ])
    assert not preview.is_error and preview.structured_content["proposed"] is True
    assert apply.is_error and "scoring" in _text(apply)
    assert broken.is_error and "thresholds" in _text(broken)


def test_promote_shows_one_line_and_writes_only_without_dry_run(org: Org) -> None:
    path = org.root / "config" / "design" / "capacity_config.yaml"
    before = path.read_text()
    (shown,) = _calls(org, "ops", [("promote_scenario", {"scenario": "flat"})])
    diff = shown.structured_content["diff"].splitlines()
    assert [line for line in diff if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))] == [
        "-active_scenario: base", "+active_scenario: flat"]
    assert path.read_text() == before
    applied, scenarios = _calls(org, "ops", [("promote_scenario", {"scenario": "flat", "dry_run": False}),
                                             ("list_scenarios", {})])
    assert not applied.is_error and "active_scenario: flat" in path.read_text()
    assert [s["id"] for s in scenarios.structured_content["items"] if s["active"]] == ["flat"]
    logged = org.app.platform.decisions.for_record("design/capacity_config.yaml", limit=1)[0]
    assert (logged.outcome, logged.actor) == ("flat", "mcp:ops@acme.example")


def test_the_single_record_writes_try_first_and_change_nothing(org: Org) -> None:
    """resolve_pending_territory, scan_account and retry_workflow with dry_run: the answer, and nothing written."""
    from tests.integration.test_mcp_tools import CANCELLED_RUN, _cancelled_run

    app, crm, decisions = org.app, org.app.platform.crm, org.app.platform.decisions
    op = Caller.operator("test")
    pending = app.pending_territories(op)[0]
    before = (crm.get("Account", pending.account_id).fields(), len(decisions.for_record(pending.account_id)))
    signals_before = len(org.app.platform.ledger.all_signals())
    scans_before = len(org.app.platform.ledger.scans(domain="globex.example", limit=500))
    _cancelled_run(app)
    [resolved, scanned, retried] = _calls(org, "eng", [
        ("resolve_pending_territory", {"account_id": pending.account_id, "territory": "EMEA_France",
                                       "reason": "checked", "dry_run": True}),
        ("scan_account", {"domain": "globex.example", "dry_run": True}),
        ("retry_workflow", {"workflow_id": CANCELLED_RUN, "dry_run": True}),
    ])
    assert not resolved.is_error and resolved.structured_content["outcome"] == "EMEA_France"
    assert resolved.structured_content["id"] == "" and "dry run" in _text(resolved)
    assert (crm.get("Account", pending.account_id).fields(), len(decisions.for_record(pending.account_id))) == before
    assert not scanned.is_error and scanned.structured_content["dry_run"] is True
    assert scanned.structured_content["scans"] == [] and "would be scanned" in _text(scanned)
    assert len(org.app.platform.ledger.all_signals()) == signals_before
    assert len(org.app.platform.ledger.scans(domain="globex.example", limit=500)) == scans_before
    assert not retried.is_error and retried.structured_content["dry_run"] is True
    assert app.workflow_status(op).counts.get("CANCELLED", 0) >= 1  # still parked: nothing re-queued
    [unknown] = _calls(org, "eng", [("scan_account", {"domain": "nope.example", "dry_run": True})])
    assert unknown.is_error and "nope.example" in _text(unknown)
