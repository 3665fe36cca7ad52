"""Who sees which tools and which records, through the SDK's own client, over stdio and over HTTP.

Each tier lists exactly its slice of the catalog (9, 12, 12, 35, 37); a tool outside the caller's tier answers
exactly like an unknown tool; data scope comes from the application layer (a rep's brief on another rep's lead is
not found; a manager sees the team two levels down; leadership sees the whole org). Without a valid token, HTTP
answers 401 with ``WWW-Authenticate`` and the stdio server serves nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from revloops.core.ids import new_id
from revloops.ports.crm import Query
from tests.integration.mcp_org import TIERS, Org, free_port, slice_of, wait_for
from tests.integration.mcp_org import org as org  # noqa: F401 - the module's fixture

TRANSPORTS = ("stdio", "http")
TIER_KEYS = {"rep": "rep", "manager": "manager", "leadership": "leadership", "ops": "ops", "eng": "eng"}


def _text(result: Any) -> str:
    return "\n".join(c.text for c in result.content if getattr(c, "type", "") == "text")


def _all_leads(org: Org, key: str, transport: str) -> set[str]:
    async def run() -> set[str]:
        found: set[str] = set()
        async with org.client(key, transport) as c:
            cursor = None
            while True:
                args: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
                page = (await c.call_tool("my_leads", args)).structured_content
                found |= {item["id"] for item in page["items"]}
                cursor = page["next_cursor"]
                if cursor is None:
                    assert len(found) == page["total"]
                    return found

    return anyio.run(run)


def _owned_by(org: Org, owners: set[str]) -> set[str]:
    return {lead.Id or "" for lead in org.app.platform.crm.query_all(Query("Lead")) if lead.OwnerId in owners}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_each_tier_lists_exactly_its_slice_of_the_catalog(org: Org, transport: str) -> None:
    async def run() -> dict[str, Any]:
        out = {}
        for tier in TIERS:
            async with org.client(TIER_KEYS[tier], transport) as c:
                out[tier] = await c.list_tools()
        return out

    listed = anyio.run(run)
    assert {t: len(r.tools) for t, r in listed.items()} == {"rep": 9, "manager": 12, "leadership": 12, "ops": 35,
                                                           "eng": 37}
    for tier in TIERS:
        assert [t.name for t in listed[tier].tools] == slice_of(tier)
        assert listed[tier].ttl_ms == 0 and listed[tier].cache_scope == "private"  # never cacheable
    sizes = {t: len(json.dumps(r.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":")))
             for t, r in listed.items()}
    assert sizes["rep"] < 12_000 and sizes["eng"] < 60_000, sizes


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_rep_calling_an_ops_tool_gets_the_unknown_tool_answer(org: Org, transport: str) -> None:
    async def run() -> list[Any]:
        async with org.client("rep", transport) as c:
            return [await c.call_tool("validate_config", {}), await c.call_tool("no_such_tool", {}),
                    await c.call_tool("run_sql", {"sql": 42}), await c.call_tool("retry_workflow", {})]

    hidden, unknown, hidden_bad_args, eng_only = anyio.run(run)
    assert unknown.is_error and _text(unknown) == "Unknown tool: no_such_tool"
    for result, name in ((hidden, "validate_config"), (hidden_bad_args, "run_sql"), (eng_only, "retry_workflow")):
        assert result.is_error and result.structured_content is None
        assert _text(result) == f"Unknown tool: {name}"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_reps_brief_on_another_reps_lead_is_not_found(org: Org, transport: str) -> None:
    bens = sorted(_owned_by(org, {org.users["rep2"]}))[0]
    avas = sorted(_owned_by(org, {org.users["rep"]}))[0]
    nobody = new_id("Lead")

    async def run() -> list[Any]:
        async with org.client("rep", transport) as c:
            return [await c.call_tool("lead_brief", {"lead_id": lead}) for lead in (bens, nobody, avas)]

    hidden, missing, own = anyio.run(run)
    assert hidden.is_error and missing.is_error and "not_found" in _text(hidden)
    assert _text(hidden).replace(bens, "X") == _text(missing).replace(nobody, "X")
    assert not own.is_error and own.structured_content["id"] == avas


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_rep_sees_only_their_own_leads(org: Org, transport: str) -> None:
    assert _all_leads(org, "rep", transport) == _owned_by(org, {org.users["rep"]})


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_manager_sees_the_team_two_levels_down(org: Org, transport: str) -> None:
    crm = org.app.platform.crm
    reports = {u.Id or "" for u in crm.query_all(Query("User")) if u.ManagerId == org.users["olivia"]}
    team = {org.users["manager"], org.users["olivia"], *reports}
    seen = _all_leads(org, "manager", transport)
    assert reports and _owned_by(org, reports) <= seen  # two levels down: Olivia's reps
    assert seen == _owned_by(org, team)
    assert seen < _owned_by(org, {lead.OwnerId or "" for lead in crm.query_all(Query("Lead"))})

    async def run() -> Any:
        async with org.client("manager", transport) as c:
            return await c.call_tool("team_pipeline", {"as_of": "2025-01-15"})

    pipeline = anyio.run(run).structured_content
    assert {r["owner_id"] for r in pipeline["reps"]["items"]} <= team


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_leadership_sees_the_whole_org_but_cannot_call_ops_tools(org: Org, transport: str) -> None:
    every = {lead.Id or "" for lead in org.app.platform.crm.query_all(Query("Lead"))}
    assert _all_leads(org, "leadership", transport) == every

    async def run() -> list[Any]:
        async with org.client("leadership", transport) as c:
            return [await c.call_tool("validate_config", {}), await c.call_tool("team_performance", {})]

    ops_tool, own_tool = anyio.run(run)
    assert ops_tool.is_error and _text(ops_tool) == "Unknown tool: validate_config"
    assert not own_tool.is_error, _text(own_tool)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic t-ops"}])
def test_http_without_a_valid_token_is_401_with_www_authenticate(org: Org, headers: dict[str, str]) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    resp = httpx.post(org.http_url, json=body, headers={**headers, "Accept": "application/json, text/event-stream"})
    assert resp.status_code == 401
    challenge = resp.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and "resource_metadata=" in challenge
    meta = httpx.get(org.http_url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"))
    assert meta.status_code == 200 and meta.json()["resource"] == org.http_url


def test_the_sdk_client_with_a_bad_token_is_refused(org: Org) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    async def run() -> None:
        async with (httpx2.AsyncClient(headers={"Authorization": "Bearer not-a-token"}) as http,
                    Client(streamable_http_client(org.http_url, http_client=http)) as c):
            await c.list_tools()

    with pytest.raises(BaseException):  # noqa: B017 - the SDK raises its transport's error on the 401
        anyio.run(run)


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_stdio_without_a_valid_token_serves_no_tools(org: Org, token: str | None) -> None:
    params = org.stdio(None, **({"REVLOOPS_TOKEN": token} if token else {}))
    hello = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}) + "\n"
    done = subprocess.run([params.command, *params.args], input=hello.encode(), env=params.env, cwd=params.cwd,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stdout == b""  # nothing on the protocol's channel
    assert b"refusing to serve" in done.stderr

    async def run() -> None:
        async with Client(params) as c:
            await c.list_tools()

    with pytest.raises(BaseException):  # noqa: B017 - the connection closes before the handshake
        anyio.run(run)


def test_stdio_writes_only_protocol_messages_on_stdout(org: Org) -> None:
    params = org.stdio("rep")
    requests = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "lead_brief",
                                                                      "arguments": {"lead_id": "junk"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}]
    answers = []
    with subprocess.Popen([params.command, *params.args], env=params.env, cwd=params.cwd, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        try:
            for message in requests:
                proc.stdin.write(json.dumps(message).encode() + b"\n")
                proc.stdin.flush()
                if "id" in message:
                    answers.append(json.loads(proc.stdout.readline()))  # every stdout line is one message
        finally:
            proc.stdin.close()
            rest = proc.stdout.read()
            err = proc.stderr.read()
            proc.wait(timeout=30)
    assert [a.get("id") for a in answers] == [1, 2, 3] and all(a["jsonrpc"] == "2.0" for a in answers)
    assert rest.strip() == b""
    assert answers[1]["result"]["isError"] is True and "lead_id" in answers[1]["result"]["content"][0]["text"]
    assert len(answers[2]["result"]["tools"]) == 9
    assert b"serving ava.chen@acme.example (rep tier)" in err


def test_revloops_mcp_http_serves_on_its_own(org: Org) -> None:
    """``revloops mcp --http``: the same server without the API, on 127.0.0.1, stopped at the end."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    log = org.root / "mcp-http.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", "from revloops.interfaces.cli.app import main; main()", "mcp",
                                 "--http", "--host", "127.0.0.1", "--port", str(port)],
                                env=org.env, cwd=org.root, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp"), proc, log)
        assert httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).status_code == 401
        standalone = Org(root=org.root, app=org.app, env=org.env, users=org.users, http_url=url)

        async def run() -> list[str]:
            async with standalone.client("manager", "http") as c:
                return [t.name for t in (await c.list_tools()).tools]

        assert anyio.run(run) == slice_of("manager")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert b"revloops mcp: serving http://127.0.0.1" in log.read_bytes()
