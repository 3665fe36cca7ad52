"""A third-party client: the MCP Inspector's CLI (``npx @modelcontextprotocol/inspector --cli``) lists each tier's
tools and calls one tool per tier, over stdio and over HTTP. Its exit codes: 0 ok, 3 auth, 5 a tool error or an
unknown tool. Without node and npx this fails, saying so (it is never skipped)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.mcp_org import TIERS, USERS, Org, slice_of
from tests.integration.mcp_org import org as org  # noqa: F401 - the module's fixture

INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"
#: one call per tier: the tool and its arguments
CALLS = {"rep": ("my_leads", ["limit=5"]), "manager": ("team_pipeline", ["as_of=2025-01-15"]),
         "leadership": ("my_pipeline", ["limit=3"]), "ops": ("validate_config", []), "eng": ("system_health", [])}
SERVER_ENV = ("REVLOOPS_CONFIG", "REVLOOPS_DB", "REVLOOPS_STATE_DIR", "REVLOOPS_API_TOKENS", "REVLOOPS_ENV")


def _npx() -> str:
    npx, node = shutil.which("npx"), shutil.which("node")
    if npx is None or node is None:
        pytest.fail("node and npx are needed for the MCP Inspector CLI test (Node 20+ on PATH); "
                    f"found node={node}, npx={npx}")
    return npx


def _inspector(org: Org, target: list[str], *method: str) -> tuple[int, Any, str]:
    done = subprocess.run([_npx(), "-y", INSPECTOR, "--cli", *target, *method], capture_output=True, timeout=240,
                          check=False, cwd=org.root, env={**os.environ, "npm_config_update_notifier": "false"})
    out = done.stdout.decode()
    try:
        parsed = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        parsed = None
    return done.returncode, parsed, out + done.stderr.decode()


def _stdio(org: Org, key: str) -> list[str]:
    env = [f"{k}={org.env[k]}" for k in SERVER_ENV]
    pairs = [arg for kv in [*env, f"REVLOOPS_TOKEN={USERS[key][0]}"] for arg in ("-e", kv)]
    return [*pairs, sys.executable, "-m", "revloops.interfaces.mcp"]


def _http(org: Org, token: str) -> list[str]:
    return [org.http_url, "--header", f"Authorization: Bearer {token}"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("transport", ["stdio", "http"])
@pytest.mark.parametrize("tier", TIERS)
def test_the_inspector_lists_and_calls_each_tiers_tools(org: Org, tier: str, transport: str) -> None:
    target = _stdio(org, tier) if transport == "stdio" else _http(org, USERS[tier][0])
    code, listed, log = _inspector(org, target, "--method", "tools/list")
    assert code == 0, log
    assert [t["name"] for t in listed["tools"]] == slice_of(tier)
    name, args = CALLS[tier]
    arg_pairs = ["--tool-arg", *args] if args else []
    code, called, log = _inspector(org, target, "--method", "tools/call", "--tool-name", name, *arg_pairs)
    assert code == 0, log
    assert called.get("isError") in (None, False) and called["structuredContent"], log
    assert called["content"][0]["type"] == "text"


@pytest.mark.timeout(600)
def test_the_inspector_sees_a_hidden_tool_as_unknown_and_a_bad_token_as_auth(org: Org) -> None:
    code, _, log = _inspector(org, _stdio(org, "rep"), "--method", "tools/call", "--tool-name", "run_sql",
                              "--tool-arg", "sql=SELECT 1")
    assert code == 5, log
    code, _, log = _inspector(org, _http(org, "not-a-token"), "--method", "tools/list")
    assert code == 3, log
