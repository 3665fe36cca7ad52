"""The route API figure: ``POST /api/loops/route/resolve`` against the same server's ``GET /health``.

One uvicorn process on 127.0.0.1 serves the example org (seeded once into a temporary SQLite database);
one load generator drives both endpoints for the same duration and concurrency, one after the other:
``wrk`` when it is installed, else a threaded keep-alive client in its own process. The resolve body is an
inline lead with no ``apply`` (a dry run: full trace, simulated rotation, nothing written).

    python bench/route_api.py            # the API figure alone
    python bench/route_api.py serve CONFIG DB PORT   # (internal) the server process
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

EXAMPLE = ROOT / "examples" / "acme" / "config"
TOKEN = "bench-ops-token"
TOKENS = json.dumps([{"token": TOKEN, "user": "ops@acme.example", "tier": "ops"}])
LEAD = {"LastName": "Schmidt", "FirstName": "Maria", "Company": "Grosse GmbH", "Country": "Germany",
        "Email": "m.schmidt@grosse.de", "NumberOfEmployees": 4200, "Title": "VP Sales", "LeadSource": "Web"}
BODY = json.dumps({"object": "Lead", "record": LEAD})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(config: str, db: str, port: int) -> None:
    """The server process: the real app over the seeded database, one uvicorn worker."""
    import uvicorn

    from revloops.app import open_app
    from revloops.interfaces.api.app import create_app

    app = create_app(open_app(config=Path(config), db=db))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _seed(root: Path) -> tuple[Path, str]:
    from revloops.app import Caller, open_app

    config = root / "config"
    shutil.copytree(EXAMPLE, config)
    db = f"sqlite:///{root / 'state.sqlite'}"
    with open_app(config=config, db=db) as app:
        app.seed_org(Caller.operator("seed"), users=6, accounts=120, leads=300, seed=11, history=False)
    return config, db


def _wait(port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the API server exited while starting")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the API server did not start")


def _warm(url: str) -> None:
    """One request alone first: it builds the routing snapshot (concurrent first requests would each build it)."""
    import httpx

    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    resp = httpx.post(url, content=BODY, headers=headers, timeout=60.0)
    resp.raise_for_status()
    decision = resp.json()
    assert decision["trace"] and decision["explanation"].startswith("Matched"), decision


def _wrk(url: str, seconds: float, connections: int, post: bool, folder: Path) -> float:
    script = folder / ("post.lua" if post else "get.lua")
    lines = [f'wrk.headers["Authorization"] = "Bearer {TOKEN}"']
    if post:
        lines += ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"',
                  f"wrk.body = [[{BODY}]]"]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors from {url}:\n{out}")
    found = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    assert found is not None, out
    return float(found.group(1))


def _client_loop(url: str, seconds: float, connections: int, post: bool) -> float:
    """Fallback load generator: ``connections`` threads, each a keep-alive client, for ``seconds``."""
    import httpx

    counts = [0] * connections
    stop = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def worker(i: int) -> None:
        with httpx.Client(headers=headers, timeout=30.0) as client:
            while time.monotonic() < stop:
                resp = client.post(url, content=BODY) if post else client.get(url)
                resp.raise_for_status()
                counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - start)


def _drive(url: str, seconds: float, connections: int, post: bool, folder: Path) -> float:
    if shutil.which("wrk"):
        return _wrk(url, seconds, connections, post, folder)
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import route_api as r; "
            f"print(r._client_loop({url!r}, {seconds}, {connections}, {post}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def api_figures(seconds: float = 5.0, connections: int = 8, rounds: int = 3) -> dict[str, Any]:
    """Health and resolve throughput (requests/s, median of ``rounds`` alternating runs) and their ratio."""
    os.environ["REVLOOPS_API_TOKENS"] = TOKENS
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config, db = _seed(folder)
        port = _free_port()
        env = {**os.environ, "REVLOOPS_API_TOKENS": TOKENS}
        proc = subprocess.Popen([sys.executable, __file__, "serve", str(config), db, str(port)], env=env)
        try:
            _wait(port, proc)
            base = f"http://127.0.0.1:{port}"
            _warm(f"{base}/api/loops/route/resolve")
            _drive(f"{base}/api/loops/route/resolve", 1.0, connections, True, folder)
            health, resolve = [], []
            print("  (runs: health, resolve requests/s)", file=sys.stderr)
            for _ in range(rounds):
                health.append(_drive(f"{base}/health", seconds, connections, False, folder))
                resolve.append(_drive(f"{base}/api/loops/route/resolve", seconds, connections, True, folder))
                print(f"  {health[-1]:,.0f}  {resolve[-1]:,.0f}", file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    h, r = sorted(health)[len(health) // 2], sorted(resolve)[len(resolve) // 2]
    return {"health": h, "resolve": r, "ratio": r / h, "runs_health": health, "runs_resolve": resolve,
            "generator": "wrk" if shutil.which("wrk") else "threaded httpx client",
            "seconds": seconds, "connections": connections}


def print_api(fig: dict[str, Any]) -> None:
    """The API lines of the report."""
    print(f"\nAPI on loopback ({fig['generator']}, {fig['connections']} connections, {fig['seconds']:.0f} s per run, "
          f"median of {len(fig['runs_health'])})")
    print(f"  GET /health                                  {fig['health']:>10,.0f} requests/s")
    print(f"  POST /api/loops/route/resolve (full trace)   {fig['resolve']:>10,.0f} requests/s")
    print(f"  ratio, resolve / health                      {fig['ratio']:6.2f}x   (target >= 0.5x)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        print_api(api_figures(seconds=3.0 if "--quick" in sys.argv else 5.0))
