"""The MCP server as a client meets it, against the SDK's own minimal server in the same run.

    python bench/mcp.py            # 300 calls per figure
    python bench/mcp.py --quick    # 60

Set-up: the demo org (examples/acme/config seeded as `revloops demo` seeds it: 20 users, 500 accounts, 2,000
leads, seed 7), the warehouse loaded. Servers, each its own process, each talked to by the SDK's own client over
one session, calls one after another:

- ours over stdio (``python -m revloops.interfaces.mcp``, a rep's token) and over HTTP (``revloops mcp --http``
  on 127.0.0.1, a bearer token per request);
- the SDK's minimal server (bench/mcp_minimal.py: one read tool answering a page of 20 rows) over stdio and over
  HTTP with a static token verifier, listing the same tool definitions as ours lists the rep (so its
  ``tools/list`` does the same work); and, for reference, the bare minimal server listing its one tool.

Figures: calls per second of ``tools/list`` and of a read tool's round trip (ours: ``my_tasks``, a rep's open
tasks, one indexed read; the minimal server's page of rows), ours over the minimal one (target >= 0.5x); then
p50/p95 of ``my_leads`` (a rep, 20 a page), ``lead_brief`` (a rep's own lead) and ``funnel_report`` (ops, by
source, by quarter) over both transports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# this file is bench/mcp.py: its folder on the path would shadow the SDK's package `mcp`
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT / "src"))

import httpx2  # noqa: E402
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402

TOKENS = [{"token": "bench-rep", "user": "ava.chen@acme.example", "tier": "rep"},
          {"token": "bench-ops", "user": "ops@acme.example", "tier": "ops"}]
TARGET = 0.5


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(root: Path) -> dict[str, str]:
    """The demo org under ``root``; answers the servers' environment and a lead of the rep."""
    from revloops.app import Caller, open_app
    from revloops.ports.crm import Query

    config = root / "config"
    shutil.copytree(ROOT / "examples" / "acme" / "config", config)
    env = {"REVLOOPS_CONFIG": str(config), "REVLOOPS_DB": f"sqlite:///{root / 'state.sqlite'}",
           "REVLOOPS_STATE_DIR": str(root), "REVLOOPS_API_TOKENS": json.dumps(TOKENS), "REVLOOPS_ENV": "test"}
    os.environ.update(env)
    app = open_app()
    op = Caller.operator("bench")
    started = time.perf_counter()
    app.seed_org(op, users=20, accounts=500, leads=2000, seed=7)
    app.refresh_warehouse(op)
    rep = app.authenticate("bench-rep", "mcp")
    lead = next(lead.Id or "" for lead in app.platform.crm.query_all(Query("Lead")) if lead.OwnerId == rep.user_id)
    opp = app.my_pipeline(rep, limit=1).items
    if opp:
        app.pursue_start(op, opp[0].opportunity_id)  # the rep has open tasks
    app.close()
    print(f"demo org seeded and loaded in {time.perf_counter() - started:.1f} s")
    return {**os.environ, **env, "BENCH_LEAD": lead}


class Http:
    """A server process on 127.0.0.1 (stopped at the end)."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int) -> None:
        self.port = port
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{argv} did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server."""
        self.proc.terminate()
        self.proc.wait(timeout=20)


async def connect(stack: AsyncExitStack, target: StdioServerParameters | tuple[str, str]) -> Client:
    """The SDK's client on a stdio command or an HTTP URL with a bearer token."""
    if isinstance(target, StdioServerParameters):
        return await stack.enter_async_context(Client(target, read_timeout_seconds=120, cache=None))
    url, token = target
    http = await stack.enter_async_context(httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                                              timeout=120))
    return await stack.enter_async_context(Client(streamable_http_client(url, http_client=http),
                                                  read_timeout_seconds=120, cache=None))


async def timed(n: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    """Seconds of each of ``n`` calls, one after another (after a warm-up of a tenth of them)."""
    for _ in range(max(5, n // 10)):
        await call()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        result = await call()
        out.append(time.perf_counter() - start)
        if getattr(result, "is_error", False):
            raise RuntimeError(f"a benchmarked call failed: {result.content}")
    return out


def rate(samples: list[float]) -> float:
    """Calls per second."""
    return len(samples) / sum(samples)


def pct(samples: list[float], q: float) -> float:
    """The q-quantile in milliseconds."""
    return 1000 * statistics.quantiles(samples, n=100, method="inclusive")[int(q * 100) - 1]


async def throughput(target: Any, tool: str, args: dict[str, Any], n: int) -> tuple[float, float]:
    """tools/list and one tool's calls per second on one session."""
    async with AsyncExitStack() as stack:
        c = await connect(stack, target)
        listed = await timed(n, c.list_tools)
        called = await timed(n, lambda: c.call_tool(tool, args))
    return rate(listed), rate(called)


async def rep_catalog(target: StdioServerParameters) -> list[dict[str, Any]]:
    """The tool definitions ours lists the rep, as JSON."""
    async with AsyncExitStack() as stack:
        c = await connect(stack, target)
        listed = await c.list_tools()
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]


async def latencies(target: Any, calls: dict[str, tuple[str, dict[str, Any]]], n: int) -> dict[str, list[float]]:
    """Each named call's latencies on one session."""
    out = {}
    async with AsyncExitStack() as stack:
        c = await connect(stack, target)
        for label, (tool, args) in calls.items():
            out[label] = await timed(n, lambda tool=tool, args=args: c.call_tool(tool, args))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 calls per figure instead of 300")
    args = parser.parse_args(argv)
    n = 60 if args.quick else 300
    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp:
        env = seed(Path(tmp))
        ours_stdio = StdioServerParameters(command=sys.executable, args=["-m", "revloops.interfaces.mcp"],
                                           env={**env, "REVLOOPS_TOKEN": "bench-rep"}, cwd=tmp)
        ops_stdio = StdioServerParameters(command=sys.executable, args=["-m", "revloops.interfaces.mcp"],
                                          env={**env, "REVLOOPS_TOKEN": "bench-ops"}, cwd=tmp)
        catalog = Path(tmp) / "catalog.json"
        catalog.write_text(json.dumps(asyncio.run(rep_catalog(ours_stdio))))
        minimal = [sys.executable, str(ROOT / "bench" / "mcp_minimal.py")]
        minimal_stdio = StdioServerParameters(command=minimal[0], args=[*minimal[1:], "stdio", str(catalog)], env=env,
                                              cwd=tmp)
        bare_stdio = StdioServerParameters(command=minimal[0], args=[*minimal[1:], "stdio"], env=env, cwd=tmp)
        p_ours, p_min, p_bare = _port(), _port(), _port()
        ours_http = Http([sys.executable, "-c", "from revloops.interfaces.cli.app import main; main()", "mcp",
                          "--http", "--port", str(p_ours)], env, p_ours)
        min_http = Http([*minimal, "http", str(p_min), "bench-min", str(catalog)], env, p_min)
        bare_http = Http([*minimal, "http", str(p_bare), "bench-min"], env, p_bare)
        try:
            url_ours, url_min = f"http://127.0.0.1:{p_ours}/mcp", f"http://127.0.0.1:{p_min}/mcp"
            url_bare = f"http://127.0.0.1:{p_bare}/mcp"
            rows = []
            ok = True
            for transport, ours, base, bare in (
                    ("stdio", ours_stdio, minimal_stdio, bare_stdio),
                    ("http", (url_ours, "bench-rep"), (url_min, "bench-min"), (url_bare, "bench-min"))):
                o_list, o_call = asyncio.run(throughput(ours, "my_tasks", {"limit": 20}, n))
                m_list, m_call = asyncio.run(throughput(base, "rows", {"limit": 20}, n))
                b_list, b_call = asyncio.run(throughput(bare, "rows", {"limit": 20}, n))
                for what, o, m in (("tools/list", o_list, m_list), ("read tool", o_call, m_call)):
                    ok = ok and o / m >= TARGET
                    rows.append(f"{transport:6} {what:11} ours {o:8.1f}/s   minimal {m:8.1f}/s   "
                                f"ratio {o / m:4.2f}x (target >= {TARGET}x)")
                rows.append(f"{transport:6} (reference) bare minimal server listing one tool: tools/list "
                            f"{b_list:.1f}/s (ours {o_list / b_list:.2f}x), read tool {b_call:.1f}/s")
            print(f"\nthroughput, {n} calls one after another on one session:")
            print("\n".join(rows))
            lead = env["BENCH_LEAD"]
            print(f"\nlatency on the demo org, {n} calls each (ms):")
            for transport, rep, ops in (("stdio", ours_stdio, ops_stdio),
                                        ("http", (url_ours, "bench-rep"), (url_ours, "bench-ops"))):
                got = asyncio.run(latencies(rep, {"my_leads": ("my_leads", {"limit": 20}),
                                                  "lead_brief": ("lead_brief", {"lead_id": lead})}, n))
                got |= asyncio.run(latencies(ops, {"funnel_report": ("funnel_report", {"by": ["source"],
                                                                                        "grain": "quarter"})},
                                             max(20, n // 5)))
                for label, samples in got.items():
                    print(f"{transport:6} {label:14} p50 {pct(samples, 0.5):7.2f}   p95 {pct(samples, 0.95):7.2f}")
        finally:
            for server in (ours_http, min_http, bare_http):
                server.stop()
    print(f"\n{'PASS' if ok else 'FAIL'}: every throughput ratio >= {TARGET}x")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
