"""The load test: 8 clients of mixed resolve, preview and signed events against ``revloops serve`` for 5 minutes.

The example org is seeded into a throwaway SQLite database; the real server (``revloops serve --no-engine``)
runs as its own process on 127.0.0.1. Eight client threads send, back to back with no think time, dry-run
resolves (inline records and seeded lead ids), previews of a few hundred inline records (some with the example
rules file proposed as JSON) and signed CRM events (unique ids, seeded record ids). One more client sends, the
whole time, previews whose proposed rules carry a pathological pattern (``^(a+)+$`` over emails of 5,000 a's and
a ``!``), and ``GET /health`` is polled every 50 ms by a thread in a process of its own, so the client threads'
own GIL does not show up in its latency. Reported: per kind count, errors, p50 and p99; the server's RSS
after the warm-up and at the end; and the verdicts against the targets (errors 0, memory within 10%, health
p99 under 100 ms). The exit code is 0 even when a target is missed: it is a benchmark.

    python bench/load.py                  # 300 s measured (after a 20 s warm-up)
    python bench/load.py --quick          # 30 s measured (after a 5 s warm-up)
    python bench/load.py --seconds 120    # any duration
    python bench/load.py health URL SECONDS   # (internal) the /health poller process
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

EXAMPLE = ROOT / "examples" / "acme" / "config"
TOKEN = "load-ops-token"
SECRET = "load-events-secret"
CLIENTS = 8
HEALTH_EVERY = 0.05
TARGET_HEALTH_P99_MS = 100.0
TARGET_MEMORY_PCT = 10.0
BAD_PATTERN = "^(a+)+$"
SYSTEM_FIELDS = ("Id", "OwnerId", "LastModifiedDate", "SystemModstamp", "Routing_Decision_Id__c",
                 "Routing_Explanation__c")
# (kind, weight) of the mixed clients' requests
MIX = (("resolve inline", 30), ("resolve by id", 30), ("events", 30), ("preview", 6), ("preview + rules", 4))
EVENT_KINDS = (("lead.created", "Lead"), ("lead.converted", "Lead"), ("opportunity.stage_changed", "Opportunity"),
               ("opportunity.closed_won", "Opportunity"), ("account.changed", "Account"))


class Org:
    """What the clients send: the seeded org's ids and request bodies built before the clock starts."""

    def __init__(self, leads: list[dict[str, Any]], ids: dict[str, list[str]], rules: dict[str, Any]) -> None:
        self.ids = ids
        self.resolve_inline = [json.dumps({"object": "Lead", "record": r}).encode() for r in leads]
        self.resolve_by_id = [json.dumps({"object": "Lead", "record_id": i}).encode() for i in ids["Lead"]]
        pick = random.Random(5)
        self.previews = [json.dumps({"records": pick.choices(leads, k=n)}).encode() for n in (200, 300, 400)]
        self.previews_rules = [json.dumps({"records": pick.choices(leads, k=n), "rules": rules}).encode()
                               for n in (200, 300)]
        bad = json.loads(json.dumps(rules))
        bad["rules"][0]["when"] = {"Email": {"matches": BAD_PATTERN}}
        records = [{"LastName": f"Slow{i}", "Company": "Aaaa Inc", "Email": "a" * (5000 + i) + "!"}
                   for i in range(300)]
        self.pathological = json.dumps({"records": records, "rules": bad}).encode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(root: Path) -> tuple[Path, str, Org]:
    """The example org in a temporary folder: config copy, SQLite state, and the bodies built from it."""
    import yaml

    from revloops.app import Caller, open_app
    from revloops.ports.crm import Query

    config = root / "config"
    shutil.copytree(EXAMPLE, config)
    db = f"sqlite:///{root / 'state.sqlite'}"
    with open_app(config=config, db=db) as app:
        app.seed_org(Caller.operator("seed"), users=6, accounts=120, leads=300, seed=11, history=False)
        crm = app.platform.crm
        ids = {obj: [str(r.Id) for r in crm.query_all(Query(obj))] for obj in ("Lead", "Account", "Opportunity")}
        leads = [{k: v for k, v in r.model_dump(mode="json", exclude_none=True).items() if k not in SYSTEM_FIELDS}
                 for r in crm.query_all(Query("Lead"))]
    rules = json.loads(json.dumps(yaml.safe_load((EXAMPLE / "rules.yaml").read_text()), default=str))
    return config, db, Org(leads, ids, rules)


def _server_command() -> list[str]:
    script = Path(sys.executable).parent / "revloops"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from revloops.interfaces.cli.app import main; main()"]


def _start_server(root: Path, config: Path, db: str, port: int) -> subprocess.Popen[bytes]:
    tokens = json.dumps([{"token": TOKEN, "user": "ops@acme.example", "tier": "ops"}])
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLOOPS_")}
    env |= {"REVLOOPS_API_TOKENS": tokens, "REVLOOPS_EVENTS_SECRET": SECRET, "REVLOOPS_CONFIG": str(config),
            "REVLOOPS_DB": db, "REVLOOPS_STATE_DIR": str(root / ".revloops")}
    log = (root / "server.log").open("wb")
    cmd = [*_server_command(), "serve", "--no-engine", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(cmd, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)


def _wait(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited while starting:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer /health within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


def rss_mb(pid: int) -> float:
    """The resident set of a process (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stats:
    """Latencies (ms) and errors per kind, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ms: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: dict[str, list[str]] = defaultdict(list)

    def add(self, kind: str, ms: float, problem: str | None) -> None:
        with self.lock:
            self.ms[kind].append(ms)
            if problem is not None:
                self.errors[kind] += 1
                if len(self.samples[kind]) < 3:
                    self.samples[kind].append(problem)


def _events_body(org: Org, rng: random.Random) -> tuple[bytes, dict[str, str], int]:
    now = dt.datetime.now(dt.UTC).isoformat()
    events = []
    for _ in range(rng.randint(1, 3)):
        kind, obj = rng.choice(EVENT_KINDS)
        rid = rng.choice(org.ids[obj])
        events.append({"id": f"{kind}:{rid}:{uuid.uuid4().hex}", "type": kind, "object": obj, "record_id": rid,
                       "occurred_at": now, "record": {"Id": rid} if rng.random() < 0.5 else None})
    body = json.dumps({"events": events}).encode()
    from revloops.core.signing import sign

    return body, {"X-Revloops-Signature": sign(SECRET, body)}, len(events)


def _one(client: httpx.Client, org: Org, kind: str, rng: random.Random) -> str | None:
    """Send one request of ``kind``; answers what was wrong with the answer, or None."""
    expected, n = 200, 0
    if kind == "resolve inline":
        resp = client.post("/api/loops/route/resolve", content=rng.choice(org.resolve_inline))
    elif kind == "resolve by id":
        resp = client.post("/api/loops/route/resolve", content=rng.choice(org.resolve_by_id))
    elif kind == "preview":
        resp = client.post("/api/loops/route/preview", content=rng.choice(org.previews))
    elif kind == "preview + rules":
        resp = client.post("/api/loops/route/preview", content=rng.choice(org.previews_rules))
    elif kind == "pathological preview":
        resp = client.post("/api/loops/route/preview", content=org.pathological)
    else:
        body, headers, n = _events_body(org, rng)
        resp = client.post("/api/crm/events", content=body, headers=headers)
        expected = 202
    if resp.status_code != expected:
        return f"{resp.status_code}: {resp.text[:200]}"
    if kind == "events" and resp.json() != {"accepted": n, "duplicates": 0, "rejected": []}:
        return f"events answer {resp.text[:200]}"
    return None


def client_loop(base: str, org: Org, stats: Stats, stop: threading.Event, seed: int,
                kinds: tuple[tuple[str, int], ...]) -> None:
    """One keep-alive client sending requests of ``kinds`` (weighted) back to back until ``stop``."""
    rng = random.Random(seed)
    names, weights = [k for k, _ in kinds], [w for _, w in kinds]
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=120.0) as client:
        while not stop.is_set():
            kind = rng.choices(names, weights)[0]
            start = time.perf_counter()
            try:
                problem = _one(client, org, kind, rng)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            stats.add(kind, (time.perf_counter() - start) * 1000, problem)


def health_poller(base: str, seconds: float) -> None:
    """(Its own process.) ``GET /health`` every 50 ms for ``seconds``; prints the latencies and errors as JSON."""
    ms: list[float] = []
    errors: list[str] = []
    with httpx.Client(base_url=base, timeout=30.0) as client:
        stop = time.monotonic() + seconds
        tick = time.monotonic()
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                resp = client.get("/health")
                if resp.status_code != 200:
                    errors.append(f"{resp.status_code}: {resp.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            ms.append((time.perf_counter() - start) * 1000)
            # the next poll 50 ms after this one started, or at once after a slower answer (no catching up)
            tick = max(tick + HEALTH_EVERY, time.monotonic())
            time.sleep(max(0.0, tick - time.monotonic()))
    print(json.dumps({"ms": ms, "errors": errors}))


def _start_clients(base: str, org: Org, stats: Stats, stop: threading.Event) -> list[threading.Thread]:
    threads = [threading.Thread(target=client_loop, args=(base, org, stats, stop, 100 + i, MIX), daemon=True)
               for i in range(CLIENTS)]
    threads.append(threading.Thread(target=client_loop, daemon=True,
                                    args=(base, org, stats, stop, 99, (("pathological preview", 1),))))
    for t in threads:
        t.start()
    return threads


def _pct(values: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def run(seconds: float, warmup: float) -> dict[str, Any]:
    """Seed, serve, warm up, measure for ``seconds``; the figures for ``report``. The server is stopped
    whatever happens."""
    with tempfile.TemporaryDirectory(prefix="revloops-load-") as tmp:
        root = Path(tmp)
        config, db, org = _seed(root)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _start_server(root, config, db, port)
        stop = threading.Event()
        try:
            _wait(base, proc, root / "server.log")
            _warm_alone(base, org)
            return _measure(base, proc, org, stop, seconds, warmup)
        finally:
            stop.set()
            _stop(proc)


def _measure(base: str, proc: subprocess.Popen[bytes], org: Org, stop: threading.Event, seconds: float,
             warmup: float) -> dict[str, Any]:
    """Start the clients, let them warm up, then measure: latencies, health, RSS, CPU."""
    stats = Stats()
    threads = _start_clients(base, org, stats, stop)
    time.sleep(warmup)
    with stats.lock:  # the warm-up's requests are not counted
        stats.ms.clear()
        stats.errors.clear()
        stats.samples.clear()
    mem_start, cpu_start, load_start = rss_mb(proc.pid), cpu_seconds(proc.pid), os.getloadavg()[0]
    own_start = time.process_time()
    poller = subprocess.Popen([sys.executable, __file__, "health", base, str(seconds)], stdout=subprocess.PIPE,
                              text=True)
    try:
        began = time.monotonic()
        memory = _watch_memory(proc, began, seconds)
        with stats.lock:
            kinds = {k: list(v) for k, v in stats.ms.items()}
            errors, samples = dict(stats.errors), {k: list(v) for k, v in stats.samples.items()}
        elapsed = time.monotonic() - began
        mem_end, cpu_end, own = rss_mb(proc.pid), cpu_seconds(proc.pid), time.process_time() - own_start
        out, _ = poller.communicate(timeout=120)
    finally:
        if poller.poll() is None:
            poller.kill()
            poller.wait()
    stop.set()
    for t in threads:
        t.join(timeout=130)
    return {"seconds": elapsed, "kinds": kinds, "errors": errors, "samples": samples,
            "health": json.loads(out.strip().splitlines()[-1]), "mem_start": mem_start, "mem_end": mem_end,
            "memory": memory, "server_cpu": cpu_end - cpu_start, "clients_cpu": own, "load_start": load_start,
            "load_end": os.getloadavg()[0], "warmup": warmup}


def _warm_alone(base: str, org: Org) -> None:
    """One request of each kind alone first: the first builds the routing snapshot (concurrent first requests
    would each build it), and a failure here stops the run before the load starts."""
    rng = random.Random(1)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=120.0) as client:
        for kind, _ in (*MIX, ("pathological preview", 1)):
            problem = _one(client, org, kind, rng)
            if problem is not None:
                raise SystemExit(f"warm-up {kind}: {problem}")


def _watch_memory(proc: subprocess.Popen[bytes], began: float, seconds: float) -> list[tuple[float, float]]:
    """Sleep for ``seconds`` from ``began``, sampling the server's RSS every second: (seconds in, MB)."""
    samples: list[tuple[float, float]] = []
    while (left := began + seconds - time.monotonic()) > 0:
        if proc.poll() is not None:
            raise SystemExit("the server exited during the run")
        samples.append((time.monotonic() - began, rss_mb(proc.pid)))
        time.sleep(min(1.0, left))
    return samples


def report(fig: dict[str, Any]) -> None:
    """The table and the verdicts."""
    secs = fig["seconds"]
    print(f"\nLoad test: {CLIENTS} mixed clients + 1 pathological-preview client + /health every "
          f"{HEALTH_EVERY * 1000:.0f} ms, {secs:.0f} s measured after a {fig['warmup']:.0f} s warm-up "
          f"(1-minute load {fig['load_start']:.1f} at the start, {fig['load_end']:.1f} at the end)")
    print(f"\n  {'kind':<22}{'count':>8}{'req/s':>8}{'errors':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    total, errors = 0, 0
    rows = [(k, fig["kinds"].get(k, []), fig["errors"].get(k, 0))
            for k in [*(k for k, _ in MIX), "pathological preview"]]
    health = fig["health"]
    rows.append(("GET /health", health["ms"], len(health["errors"])))
    for kind, ms, err in rows:
        total, errors = total + len(ms), errors + err
        print(f"  {kind:<22}{len(ms):>8}{len(ms) / secs:>8.1f}{err:>8}{_pct(ms, 50):>10.1f}{_pct(ms, 99):>10.1f}"
              f"{max(ms, default=float('nan')):>10.1f}")
    print(f"  {'all':<22}{total:>8}{total / secs:>8.1f}{errors:>8}")
    for kind, problems in [*fig["samples"].items(), ("GET /health", health["errors"][:3])]:
        for problem in problems:
            print(f"    {kind} error: {problem}")
    start, end = fig["mem_start"], fig["mem_end"]
    change = (end - start) / start * 100
    memory = fig["memory"]
    print(f"\n  server RSS: {start:.1f} MB after the warm-up, {end:.1f} MB at the end ({change:+.1f}%), "
          f"peak {max(mb for _, mb in memory):.1f} MB")
    step = max(1, len(memory) // 10)
    print("  RSS over the run: " + ", ".join(f"{t:.0f} s {mb:.0f}" for t, mb in memory[::step]) + " (MB)")
    print(f"  CPU in {secs:.0f} s: server {fig['server_cpu']:.0f} s ({fig['server_cpu'] / secs:.2f} cores), "
          f"client threads {fig['clients_cpu']:.0f} s ({fig['clients_cpu'] / secs:.2f} cores), on "
          f"{os.cpu_count()} cores")
    h99 = _pct(health["ms"], 99)
    verdicts = [("errors", errors == 0, f"{errors} (target 0)"),
                ("memory", abs(change) <= TARGET_MEMORY_PCT, f"{change:+.1f}% (target within {TARGET_MEMORY_PCT:.0f}%)"),
                ("/health p99", h99 < TARGET_HEALTH_P99_MS, f"{h99:.1f} ms (target < {TARGET_HEALTH_P99_MS:.0f} ms)")]
    print()
    for name, ok, text in verdicts:
        print(f"  {name:<12} {text:<36} {'met' if ok else 'MISSED'}")
    missed = [name for name, ok, _ in verdicts if not ok]
    print("\n  all targets met" if not missed else f"\n  TARGETS MISSED: {', '.join(missed)}")


def main(argv: list[str]) -> int:
    if argv[:1] == ["health"]:
        health_poller(argv[1], float(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 s measured after a 5 s warm-up")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds (default 300)")
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else (30.0 if args.quick else 300.0)
    report(run(seconds, warmup=5.0 if args.quick else 20.0))
    return 0  # a benchmark: a missed target is reported, not an exit status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
