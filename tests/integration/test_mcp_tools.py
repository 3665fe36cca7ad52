"""Every tool of the catalog called once with valid input and once with invalid input, through the SDK's own
client over stdio, as an eng caller (who may call them all) on a seeded org.

A valid call answers structured content that validates against the tool's ``outputSchema``, and a short text;
an invalid one is a tool error (``isError``) whose text names the field or record at fault. Every input field is
described, annotations are set, and a tool that writes takes ``dry_run``.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client
from mcp_types import ToolAnnotations

from revloops.app import Caller, Revloops
from revloops.core.errors import UpstreamUnavailable
from revloops.interfaces.mcp.server import RevloopsMCP
from revloops.interfaces.mcp.tools import Entry
from revloops.ports.crm import Query
from tests.integration.mcp_org import Org, slice_of
from tests.integration.mcp_org import org as org  # noqa: F401 - the module's fixture

CANCELLED_RUN = "mcp-test-cancelled-run"


def _text(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def _git_commit(path: Any) -> None:
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit",
                                                 "-qm", "config"]):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)


def _cancelled_run(app: Revloops) -> None:
    """A workflow run parked as cancelled (enqueued on a queue no worker of the test serves, then cancelled)."""
    from revloops.engine.setup import client, migrate

    migrate(app.settings)
    cl = client(app.settings)
    try:
        cl.enqueue({"queue_name": "mcp-test", "workflow_name": "mcp.test", "workflow_id": CANCELLED_RUN})
        cl.cancel_workflow(CANCELLED_RUN)
    finally:
        cl.destroy()


def _cases(org: Org) -> dict[str, tuple[dict[str, Any], dict[str, Any], str]]:
    """Per tool: valid arguments, invalid arguments, and what the invalid call's error must name."""
    app, crm = org.app, org.app.platform.crm
    ava = org.users["rep"]
    lead = sorted(lead.Id or "" for lead in crm.query_all(Query("Lead")) if lead.OwnerId == ava)[0]
    account = sorted(a.Id or "" for a in crm.query_all(Query("Account")) if a.OwnerId == ava)[0]
    assigned = sorted(a.Id or "" for a in crm.query_all(Query("Account"))
                      if getattr(a, "Territory_Status__c", None) == "assigned")[0]
    opp = sorted(o.Id or "" for o in crm.query_all(Query("Opportunity")) if o.OwnerId == ava)[0]
    op = Caller.operator("test")
    task = app.my_tasks(Caller(user_id=ava, tier="rep", name="ava")).items[0].task_id
    pending = app.pending_territories(op)[0].account_id
    return {
        "my_leads": ({"limit": 5}, {"limit": 0}, "limit"),
        "my_accounts": ({"limit": 3}, {"cursor": "not-a-cursor"}, "cursor"),
        "my_tasks": ({"limit": 5}, {"cursor": "abc"}, "cursor"),
        "my_pipeline": ({"limit": 5}, {"limit": 1000}, "limit"),
        "lead_brief": ({"lead_id": lead}, {"lead_id": "junk"}, "lead_id"),
        "account_brief": ({"account_id": account}, {"account_id": lead}, "account_id"),
        "explain_decision": ({"record_or_decision_id": lead},
                             {"record_or_decision_id": "dec_00000000000000000000000000"},
                             "dec_00000000000000000000000000"),
        "draft_email": ({"record_id": lead}, {"record_id": account}, "record_id"),
        "complete_task": ({"task_id": task, "note": "called them; demo booked"}, {"task_id": "00Tnothing"},
                          "00Tnothing"),
        "team_pipeline": ({"as_of": "2025-01-15"}, {"target": -5}, "target"),
        "team_performance": ({}, {"start": "2025-02-01", "end": "2025-01-01"}, "end"),
        "reassign_record": ({"record_ids": [lead], "to_user": org.users["rep2"], "reason": "cover"},
                            {"record_ids": [lead], "to_user": "005nope", "reason": "cover"}, "to_user"),
        "preview_routing": ({"from_crm": True, "limit": 50}, {}, "records"),
        "route_record": ({"record_id": lead, "dry_run": True}, {"record_id": account, "sobject": "Lead"}, "record_id"),
        "list_routing_rules": ({"limit": 5}, {"since": "yesterday"}, "since"),
        "validate_config": ({}, {"strict": True}, "strict"),
        "diff_routing": ({"against": "HEAD"}, {"only": ["nope"]}, "only"),
        "sync_territories": ({}, {"dry_run": False, "plan_id": "plan_0000000000000000"}, "plan_id"),
        "assign_territories": ({}, {"min_confidence": 2}, "min_confidence"),
        "list_pending_territories": ({}, {"status": "assigned"}, "status"),
        "resolve_pending_territory": ({"account_id": pending, "territory": "EMEA_France", "reason": "checked"},
                                      {"account_id": assigned, "territory": "EMEA_France", "reason": "x"}, "account"),
        "territory_coverage": ({}, {"territory": "x"}, "territory"),
        "list_scenarios": ({}, {"limit": 0}, "limit"),
        "run_scenario": ({"draws": 50}, {"scenario": "no_such_plan"}, "no_such_plan"),
        "compare_scenarios": ({"a": "base", "b": "flat", "draws": 50}, {"a": "base", "b": "nope"}, "nope"),
        "promote_scenario": ({"scenario": "flat"}, {"scenario": "nope"}, "nope"),
        "enrich_record": ({"record_id": lead}, {"record_id": opp}, "record_id"),
        "rescore_leads": ({"max_leads": 20, "limit": 5}, {"dry_run": False}, "plan_id"),
        "list_signals": ({}, {"limit": 0}, "limit"),
        "scan_account": ({"domain": "globex.example"}, {"domain": "nope.example"}, "nope.example"),
        "manage_target_accounts": ({"action": "add", "domain": "mcp-target.example", "name": "MCP Target"},
                                   {"action": "add", "domain": "mcp-target.example"}, "name"),
        "list_plays": ({}, {"cursor": "x"}, "cursor"),
        "funnel_report": ({"by": ["source"], "grain": "quarter"}, {"grain": "hour"}, "grain"),
        "run_sql": ({"sql": "SELECT count(*) AS n FROM crm_lead"}, {"sql": "DELETE FROM crm_lead"}, "sql"),
        "workflow_status": ({}, {"failures": -1}, "failures"),
        "retry_workflow": ({"workflow_id": CANCELLED_RUN}, {"workflow_id": "no-such-run"}, "no-such-run"),
        "system_health": ({}, {"verbose": True}, "verbose"),
    }


@pytest.fixture(scope="module")
def calls(org: Org) -> Iterator[dict[str, Any]]:
    """Every tool called (valid input, then invalid) in one stdio session as eng, and the tools it listed."""
    _git_commit(org.root / "config")
    _cancelled_run(org.app)
    cases = _cases(org)

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {"cases": cases}
        async with org.client("eng") as c:
            out["tools"] = {t.name: t for t in (await c.list_tools()).tools}
            for name in out["tools"]:
                valid, invalid, _ = cases[name]
                out[name] = (await c.call_tool(name, valid), await c.call_tool(name, invalid))
        return out

    yield anyio.run(run)


ALL = slice_of("eng")


def test_the_table_covers_the_catalog(calls: dict[str, Any]) -> None:
    assert list(calls["tools"]) == ALL and set(calls["cases"]) == set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_a_valid_call_answers_its_output_schema(calls: dict[str, Any], name: str) -> None:
    result, _ = calls[name]
    assert not result.is_error, _text(result)
    assert _text(result).strip()
    schema = calls["tools"][name].output_schema
    assert schema is not None and schema["type"] == "object"
    jsonschema.validate(result.structured_content, schema)


@pytest.mark.parametrize("name", ALL)
def test_an_invalid_call_is_a_clear_tool_error(calls: dict[str, Any], name: str) -> None:
    _, result = calls[name]
    named = calls["cases"][name][2]
    assert result.is_error and result.structured_content is None
    text = _text(result)
    assert named in text, text
    assert "Traceback" not in text and len(text) < 2000


@pytest.mark.parametrize("name", ALL)
def test_every_input_is_described_and_annotations_are_set(calls: dict[str, Any], name: str) -> None:
    listed = calls["tools"][name]
    assert listed.description and len(listed.description) <= 100
    props = listed.input_schema.get("properties", {})
    assert all(p.get("description") for p in props.values()), props
    assert listed.input_schema.get("additionalProperties") is False
    hints = listed.annotations
    assert hints is not None and hints.read_only_hint is not None and hints.open_world_hint is not None
    if not hints.read_only_hint:
        assert hints.destructive_hint is not None and hints.idempotent_hint is not None
    writes_in_bulk = {"reassign_record", "sync_territories", "assign_territories", "rescore_leads",
                      "promote_scenario", "manage_target_accounts"}
    if name in writes_in_bulk:
        assert props["dry_run"]["default"] is True
    if not hints.read_only_hint:  # every write can be tried first
        assert "dry_run" in props


def test_reads_are_read_only_and_tools_reaching_out_say_so(calls: dict[str, Any]) -> None:
    tools = calls["tools"]
    writes = {n for n, t in tools.items() if not t.annotations.read_only_hint}
    assert writes == {"complete_task", "reassign_record", "route_record", "sync_territories", "assign_territories",
                      "resolve_pending_territory", "promote_scenario", "enrich_record", "rescore_leads",
                      "scan_account", "manage_target_accounts", "retry_workflow"}
    open_world = {n for n, t in tools.items() if t.annotations.open_world_hint}
    assert open_world == {"draft_email", "assign_territories", "enrich_record", "scan_account"}


def test_writes_landed_in_the_decision_log_with_the_caller(calls: dict[str, Any], org: Org) -> None:
    decisions = org.app.platform.decisions
    task = calls["cases"]["complete_task"][0]["task_id"]
    pending = calls["cases"]["resolve_pending_territory"][0]["account_id"]
    lead = calls["cases"]["enrich_record"][0]["record_id"]
    for record in (task, pending, lead):
        assert decisions.for_record(record, limit=1)[0].actor == "mcp:eng@acme.example"
    assert "called them" in (org.app.platform.crm.get("Task", task).fields().get("Description") or "")


def test_a_draft_says_it_is_offline_and_unsent(calls: dict[str, Any]) -> None:
    draft = calls["draft_email"][0].structured_content
    assert draft["offline"] is True and draft["sent"] is False and "offline" in draft["note"]
    assert draft["subject"] and draft["body"]


def test_an_unexpected_failure_is_logged_and_answered_short(org: Org, caplog: pytest.LogCaptureFixture) -> None:
    """Hand-written failing tools (not the catalog's) on the real server class, in process."""

    def boom() -> dict[str, str]:
        """Fails."""
        raise RuntimeError("secret detail /etc/passwd")

    def flaky() -> dict[str, str]:
        """Upstream down."""
        raise UpstreamUnavailable("pdl said 503 with key sk-123")

    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    entries = [Entry(boom, "rep", reads), Entry(flaky, "rep", reads)]
    server = RevloopsMCP(org.app, caller=org.caller("rep"), entries=entries)

    async def run() -> list[Any]:
        async with Client(server) as c:
            return [await c.call_tool("boom", {}), await c.call_tool("flaky", {})]

    with caplog.at_level(logging.INFO):
        crashed, upstream = anyio.run(run)
    assert crashed.is_error and _text(crashed) == "Error executing tool boom"
    assert upstream.is_error and "upstream_unavailable" in _text(upstream) and "sk-123" not in _text(upstream)
    fmt = logging.Formatter()
    logged = "\n".join(r.getMessage() + (fmt.formatException(r.exc_info) if r.exc_info else "") for r in caplog.records)
    assert "secret detail" in logged and "sk-123" in logged


def test_answers_are_small(calls: dict[str, Any]) -> None:
    sizes = {n: len(json.dumps(calls[n][0].structured_content)) for n in ALL}
    assert max(sizes.values()) < 64_000, sizes


def test_the_sdks_header_check_sees_no_schema_of_a_hidden_tool(org: Org) -> None:
    """The SDK looks a tool's input schema up before dispatch (for ``Mcp-Param-*`` headers); a tool outside the
    caller's tier has none there, so it answers as unknown at dispatch like any unknown tool."""
    lookup = RevloopsMCP(org.app, caller=org.caller("rep"))._lowlevel_server.get_tool_input_schema
    assert lookup is not None
    assert lookup("run_sql") is None and lookup("no_such_tool") is None
    assert lookup("my_leads") is not None and "limit" in lookup("my_leads")["properties"]
