"""A seeded org for the MCP server's tests, a token per tier, and the servers the SDK's own client talks to: the
stdio server (``python -m revloops.interfaces.mcp``, a subprocess the client starts) and the HTTP server
(``revloops serve --no-engine``, the API with ``/mcp`` mounted, a subprocess on 127.0.0.1 stopped at the end).

The org: the example config seeded with 120 accounts and 300 leads (and the demo's awkward accounts, some of
which park as pending), territories synced and assigned, one
deal play started on Ava's pipeline (so she has an open task), the warehouse loaded. Above the seeded
managers sit two users made here: Dana, who manages Olivia (so Dana's team is two levels deep), and Vic, a
leader; ops and eng tokens name no CRM user.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from revloops.app import Caller, Revloops, app_on
from revloops.bootstrap import build
from revloops.core.records import User
from revloops.ports.crm import Query

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "acme" / "config"

#: tier -> (token, user)
USERS = {
    "rep": ("t-rep", "ava.chen@acme.example"),
    "rep2": ("t-rep2", "ben.ortiz@acme.example"),
    "manager": ("t-manager", "dana.lead@acme.example"),
    "leadership": ("t-leadership", "vic.vp@acme.example"),
    "ops": ("t-ops", "ops@acme.example"),
    "eng": ("t-eng", "eng@acme.example"),
}
TIER_OF = {"rep": "rep", "rep2": "rep", "manager": "manager", "leadership": "leadership", "ops": "ops", "eng": "eng"}
TOKENS = json.dumps([{"token": tok, "user": user, "tier": TIER_OF[key]} for key, (tok, user) in USERS.items()])

#: the catalog of docs/PRODUCT.md section 6, in order, by the tier that adds each tool
CATALOG = {
    "rep": ["my_leads", "my_accounts", "my_tasks", "my_pipeline", "lead_brief", "account_brief", "explain_decision",
            "draft_email", "complete_task"],
    "manager": ["team_pipeline", "team_performance", "reassign_record"],
    "leadership": [],
    "ops": ["preview_routing", "route_record", "list_routing_rules", "validate_config", "diff_routing",
            "sync_territories", "assign_territories", "list_pending_territories", "resolve_pending_territory",
            "territory_coverage", "list_scenarios", "run_scenario", "compare_scenarios", "promote_scenario",
            "enrich_record", "rescore_leads", "list_signals", "scan_account", "manage_target_accounts", "list_plays",
            "funnel_report", "run_sql", "workflow_status"],
    "eng": ["retry_workflow", "system_health"],
}
TIERS = ("rep", "manager", "leadership", "ops", "eng")


def slice_of(tier: str) -> list[str]:
    """The tools a tier lists: its own and every tier's below."""
    return [name for t in TIERS[: TIERS.index(tier) + 1] for name in CATALOG[t]]


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Org:
    """The seeded org: its application (this process), the environment a server needs, and who is who."""

    root: Path
    app: Revloops
    env: dict[str, str]
    users: dict[str, str]  # key of USERS -> CRM user id (absent for ops and eng)
    http_url: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    def caller(self, key: str) -> Caller:
        """The caller a key of USERS names, as the server sees it."""
        return self.app.authenticate(USERS[key][0], channel="mcp")

    def stdio(self, key: str | None, **extra: str) -> StdioServerParameters:
        """How the SDK's client starts the stdio server for ``key``'s token (none: no token)."""
        env = {**self.env, **extra}
        if key is not None:
            env["REVLOOPS_TOKEN"] = USERS[key][0]
        return StdioServerParameters(command=sys.executable, args=["-m", "revloops.interfaces.mcp"], env=env,
                                     cwd=str(self.root))

    @asynccontextmanager
    async def client(self, key: str, transport: str = "stdio") -> Any:
        """The SDK's client connected as ``key`` over ``transport`` (stdio or http)."""
        async with AsyncExitStack() as stack:
            if transport == "stdio":
                client = Client(self.stdio(key), read_timeout_seconds=120)
            else:
                http = await stack.enter_async_context(httpx2.AsyncClient(
                    headers={"Authorization": f"Bearer {USERS[key][0]}"}, timeout=120))
                client = Client(streamable_http_client(self.http_url, http_client=http), read_timeout_seconds=120)
            yield await stack.enter_async_context(client)


def _user(app: Revloops, name: str, manager: str | None, role: str) -> str:
    return app.platform.crm.create(User(Username=f"{name}@acme.example", Email=f"{name}@acme.example",
                                        FirstName=name.split(".")[0].title(), LastName=name.split(".")[1].title(),
                                        IsActive=True, ManagerId=manager, Sales_Role__c=role))


def seed_org(tmp: Path, mp: pytest.MonkeyPatch) -> Org:
    """Seed the org (see the module docstring) under ``tmp``."""
    config = tmp / "config"
    shutil.copytree(EXAMPLE, config)
    env = {"REVLOOPS_CONFIG": str(config), "REVLOOPS_DB": f"sqlite:///{tmp / 'state.sqlite'}",
           "REVLOOPS_STATE_DIR": str(tmp), "REVLOOPS_API_TOKENS": TOKENS, "REVLOOPS_EVENTS_SECRET": "test-secret",
           "REVLOOPS_ENV": "test", "PYTHONUNBUFFERED": "1"}
    for key, value in env.items():
        mp.setenv(key, value)
    mp.delenv("REVLOOPS_TOKEN", raising=False)
    plat = build(config=config, db=env["REVLOOPS_DB"], events_secret="test-secret", state_dir=tmp)
    app = app_on(plat)
    op = Caller.operator("seed")
    app.seed_org(op, users=6, accounts=120, leads=300, seed=11)
    crm = plat.crm
    by_name = {u.Username: u.Id or "" for u in crm.query_all(Query("User"))}
    vic = _user(app, "vic.vp", None, "Manager")
    dana = _user(app, "dana.lead", vic, "Manager")
    olivia = by_name["olivia.brown@acme.example"]
    crm.update("User", olivia, {"ManagerId": dana})
    users = {"rep": by_name["ava.chen@acme.example"], "rep2": by_name["ben.ortiz@acme.example"], "manager": dana,
             "leadership": vic, "olivia": olivia}
    app.sync_territories(op, dry_run=False)
    app.add_demo_accounts(op)  # accounts with ambiguous addresses: some park as pending:* for review
    app.assign_territories(op, dry_run=False)
    ava = Caller(user_id=users["rep"], tier="rep", name="ava", channel="mcp")
    opp = app.my_pipeline(ava, limit=1).items[0].opportunity_id
    app.pursue_start(op, opp)
    app.refresh_warehouse(op)
    return Org(root=tmp, app=app, env={**os.environ, **env}, users=users)


def wait_for(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until ``url`` answers (or the server exits, which fails the test with its output)."""
    with httpx.Client(timeout=2) as client:
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the server exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if client.get(url).status_code < 500:
                    return
            except httpx.TransportError:
                time.sleep(0.1)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    """The seeded org, with the HTTP server (the API with /mcp) running on 127.0.0.1 until the module ends."""
    mp = pytest.MonkeyPatch()
    found = seed_org(tmp_path_factory.mktemp("mcp"), mp)
    port = free_port()
    found.http_url = f"http://127.0.0.1:{port}/mcp"
    log = found.root / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from revloops.interfaces.cli.app import main; main()", "serve", "--no-engine",
             "--host", "127.0.0.1", "--port", str(port)],
            env=found.env, cwd=found.root, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", proc, log)
        yield found
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        found.app.close()
        mp.undo()
