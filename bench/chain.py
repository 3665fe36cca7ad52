"""Chain benchmark: the workflow engine's own floor, and the inbound lead chain measured against it.

    python bench/chain.py            # 600 workflows per floor figure; 3 rounds of 300 floor + 300 chain
    python bench/chain.py --quick    # 150 workflows; 2 rounds of 75 + 75 (100 per Postgres chain figure)

Figures, measured in this one run:
  1. SQLite (WAL), one process: workflows of K trivial steps run one after another (start, wait, next);
  2. SQLite (WAL), one process: the same workflows through the ``chain`` queue;
  3. the inbound chain (``lead.inbound``: capture, enrich, score, route, engage, finish) on SQLite with
     offline providers through the ``chain`` queue, next to the floor with the same number of steps
     taken in the same process just before it, in rounds: chain / floor over all rounds (target >= 0.8x),
     and where the chain's time goes, step by step;
  4. Postgres (a throwaway local server, fsync on): worker processes taking the queue, one vs two,
     for the trivial workflows and for the chain (each on its own leads): 2 workers / 1 (target >= 1.6x).
Queued throughput is timed from the steps' own timestamps (first step start to last step end, in
milliseconds), so start-up, seeding and enqueueing are not counted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dbos import DBOSClient  # noqa: E402

from revloops.app import Caller, app_on  # noqa: E402
from revloops.bootstrap import Platform, build  # noqa: E402
from revloops.chains import inbound, probe  # noqa: E402
from revloops.engine import setup  # noqa: E402
from revloops.engine.registry import enqueue_once, run_once, submit  # noqa: E402
from revloops.ports.crm import Query  # noqa: E402
from revloops.testing.postgres import throwaway_postgres  # noqa: E402

EXAMPLE = ROOT / "examples" / "acme" / "config"
#: The chain's steps for a lead owned by a user: capture, enrich, score, route, engage, finish.
CHAIN_STEPS = 6


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds spent while a batch ran: the worker processes, the Postgres server, the whole machine."""

    workers: float
    postgres: float
    machine: float

    def per_workflow(self, n: int) -> str:
        rest = max(0.0, self.machine - self.workers - self.postgres)
        return (f"CPU per workflow: workers {1000 * self.workers / n:.1f} ms, Postgres {1000 * self.postgres / n:.1f}"
                f" ms, rest of the machine {1000 * rest / n:.1f} ms")


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (empty when the process is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _proc_cpu(pid: int | str, children: bool = False) -> float:
    """User + system CPU seconds of one process, with its finished children's when asked (Linux /proc)."""
    fields = _stat(pid)
    if not fields:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def _postgres_cpu() -> float:
    """CPU seconds of the Postgres server: its processes alive now, and the backends that already ended
    (counted in the postmaster's children's time, so a connection closing mid-batch is not lost)."""
    procs = {}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip().startswith("postgres"):
                procs[pid] = _stat(pid)
        except OSError:
            continue
    total = 0.0
    for pid, fields in procs.items():
        if not fields:
            continue
        postmaster = fields[1] not in procs  # its parent is not a Postgres process
        total += _proc_cpu(pid, children=postmaster)
    return total


def _machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Figure:
    """N workflows in ``seconds``."""

    label: str
    n: int
    seconds: float
    cpu: CpuUse | None = None

    @property
    def ms_per_workflow(self) -> float:
        return 1000 * self.seconds / self.n

    @property
    def per_second(self) -> float:
        return self.n / self.seconds

    def line(self) -> str:
        return f"{self.label:<44} {self.ms_per_workflow:8.2f} ms/wf {self.per_second:8.1f} wf/s  (n={self.n})"


def span_seconds(client: DBOSClient, prefix: str) -> float:
    """First step start to last step end of the runs whose ids start with ``prefix``.

    Step timestamps are taken in the worker in milliseconds; the runs' own timestamps are whole seconds on
    SQLite, which would make a 5-second batch read anywhere from 4 to 6 seconds.
    """
    runs = client.list_workflows(workflow_id_prefix=prefix, load_input=False, load_output=False)
    starts: list[int] = []
    ends: list[int] = []
    for run in runs:
        for info in client.list_workflow_steps(run.workflow_id, load_output=False):
            if info["started_at_epoch_ms"] is not None and info["completed_at_epoch_ms"] is not None:
                starts.append(info["started_at_epoch_ms"])
                ends.append(info["completed_at_epoch_ms"])
    return (max(ends) - min(starts)) / 1000


def time_sequential(label: str, fn: Callable[..., Any], args_for: Callable[[int], tuple[Any, ...]], n: int) -> Figure:
    """Run ``fn`` n times one after another in this process (the engine must be launched)."""
    tag = f"{label}-{time.monotonic_ns()}"
    start = time.perf_counter()
    for i in range(n):
        run_once(f"{tag}-{i}", fn, *args_for(i))
    return Figure(label, n, time.perf_counter() - start)


def time_queued(label: str, fn: Callable[..., Any], args_for: Callable[[int], tuple[Any, ...]], n: int,
                client: DBOSClient, tag: str | None = None) -> Figure:
    """Put ``fn`` on the chain queue n times and wait for all (the engine must be launched)."""
    tag = tag or f"{label}-{time.monotonic_ns()}"
    handles = [enqueue_once("chain", f"{tag}-{i}", fn, *args_for(i)) for i in range(n)]
    for h in handles:
        h.get_result()
    return Figure(label, n, span_seconds(client, tag))


def against_floor(label: str, fn: Callable[..., Any], args_for: Callable[[int], tuple[Any, ...]], n: int,
                  k_steps: int, client: DBOSClient, tag: str | None = None) -> tuple[Figure, Figure, float]:
    """The hook for the chain: ``fn`` through the queue vs the floor with the same number of steps."""
    floor = time_queued(f"floor, {k_steps} trivial steps", probe.steps, lambda i: (k_steps, i), n, client)
    chain = time_queued(label, fn, args_for, n, client, tag)
    return chain, floor, chain.per_second / floor.per_second


def sqlite_figures(n: int, k: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        plat = build(db=f"sqlite:///{Path(tmp) / 'state.sqlite'}", state_dir=Path(tmp))
        setup.launch(plat)
        client = setup.client(plat.settings)
        try:
            time_sequential("warm-up", probe.steps, lambda i: (k, i), 20)
            seq = time_sequential(f"SQLite WAL, sequential, {k} steps", probe.steps, lambda i: (k, i), n)
            queued = time_queued(f"SQLite WAL, queue, {k} steps", probe.steps, lambda i: (k, i), n, client)
        finally:
            client.destroy()
            setup.shutdown()
    return [seq, queued]


def seeded_org(root: Path, leads: int, db: str | None = None) -> tuple[Platform, list[str]]:
    """The example org's config (a private copy), its local CRM seeded; answers the platform and lead ids."""
    config = root / "config"
    shutil.copytree(EXAMPLE, config)
    plat = build(config=config, db=db or f"sqlite:///{root / 'state.sqlite'}", state_dir=root)
    app_on(plat).seed_org(Caller.operator("seed"), users=8, accounts=max(60, leads // 3), leads=leads, seed=11,
                          history=False)  # fresh inbound: every lead waits for the chain
    ids = [str(lead.Id) for lead in plat.crm.query_all(Query("Lead", order_by=(("CreatedDate", False),)))]
    return plat, ids


@dataclass(frozen=True)
class StepTime:
    """One step of the chain across a batch: how many ran and their mean wall time."""

    name: str
    runs: int
    mean_ms: float


def step_times(client: DBOSClient, prefix: str) -> tuple[list[StepTime], float, float]:
    """Per-step wall times of the runs under ``prefix``; the mean time per run inside steps, and from the
    first step's start to the last step's end (step times are in ms; run timestamps on SQLite are whole seconds).

    Wall times are taken under the queue's concurrency, so they include waiting for the CPU and for locks.
    """
    runs = client.list_workflows(workflow_id_prefix=prefix, load_input=False, load_output=False)
    spent: dict[str, list[float]] = defaultdict(list)
    in_steps = in_runs = 0.0
    for run in runs:
        infos = [i for i in client.list_workflow_steps(run.workflow_id, load_output=False)
                 if i["started_at_epoch_ms"] is not None and i["completed_at_epoch_ms"] is not None]
        for info in infos:
            ms = float(info["completed_at_epoch_ms"] - info["started_at_epoch_ms"])  # type: ignore[operator]
            spent[info["function_name"].rsplit(".", 1)[-1]].append(ms)
            in_steps += ms
        if infos:
            in_runs += float(max(i["completed_at_epoch_ms"] for i in infos)  # type: ignore[type-var]
                             - min(i["started_at_epoch_ms"] for i in infos))  # type: ignore[type-var]
    order = ["capture_step", "enrich_step", "enrich_degraded_step", "score_step", "route_step", "engage_step",
             "compose_step", "land_step", "finish_step"]
    names = sorted(spent, key=lambda s: order.index(s) if s in order else len(order))
    out = [StepTime(name, len(spent[name]), sum(spent[name]) / len(spent[name])) for name in names]
    return out, in_steps / max(1, len(runs)), in_runs / max(1, len(runs))


def chain_sqlite(n: int, rounds: int) -> None:
    """Figure 3: the inbound chain on SQLite, offline providers, against the floor with as many steps.

    ``rounds`` pairs of (floor, chain) on n workflows each, taken one after the other in one process, so a
    slow patch of a shared machine lands on both sides of some pair rather than on one figure; the ratio
    is the pooled one (all floor workflows per second over all chain workflows per second), each pair's
    shown beside it.
    """
    with tempfile.TemporaryDirectory() as tmp:
        plat, ids = seeded_org(Path(tmp), n * rounds + 20)
        setup.launch(plat)
        client = setup.client(plat.settings)
        pairs: list[tuple[Figure, Figure]] = []
        try:
            # Warm the process (imports, the routing snapshot, the scoring config) on leads not measured.
            for key in [inbound.start_lead(lead_id) for lead_id in ids[n * rounds:]]:
                client.retrieve_workflow(key).get_result()
            for r in range(rounds):
                batch = ids[r * n:(r + 1) * n]
                tag = f"chain-{time.monotonic_ns()}"
                chain, floor, _ = against_floor("inbound chain, SQLite, offline providers", inbound.inbound,
                                                lambda i, batch=batch: (batch[i], None), n, CHAIN_STEPS, client, tag)
                pairs.append((floor, chain))
            steps, in_steps, per_run = step_times(client, tag)
        finally:
            client.destroy()
            setup.shutdown()
    for i, (floor, chain) in enumerate(pairs, 1):
        print(f"round {i}: {floor.line()}")
        print(f"round {i}: {chain.line()}   ({floor.seconds / chain.seconds:.2f}x)")
    floor_s, chain_s = sum(f.seconds for f, _ in pairs), sum(c.seconds for _, c in pairs)
    print(f"{'floor, all rounds':<44} {1000 * floor_s / (n * rounds):8.2f} ms/wf")
    print(f"{'inbound chain, all rounds':<44} {1000 * chain_s / (n * rounds):8.2f} ms/wf")
    print(f"{'chain / floor (target >= 0.8x)':<44} {floor_s / chain_s:8.2f}x")
    print(f"  per step (last round), wall ms under the queue's concurrency ({plat.settings.chain_concurrency}):")
    for st in steps:
        print(f"    {st.name:<24} {st.mean_ms:8.1f} ms  x{st.runs}  ({100 * st.mean_ms * st.runs / n / per_run:4.1f}%"
              " of run time)")
    print(f"    {'between steps (engine)':<24} {per_run - in_steps:8.1f} ms  per run"
          f"  ({100 * (per_run - in_steps) / per_run:4.1f}% of {per_run:.0f} ms, first step start to last step end)")


Job = tuple[str, tuple[Any, ...]]


def postgres_workers(url: str, root: Path, workers: int, jobs: Sequence[Job], label: str,
                     env_extra: dict[str, str] | None = None) -> Figure:
    """Enqueue the jobs (workflow name, args), then let ``workers`` worker processes drain the chain queue."""
    settings = build(db=url, state_dir=root).settings
    client = setup.client(settings)
    tag = f"pg{workers}-{time.monotonic_ns()}"
    for i, (name, args) in enumerate(jobs):
        submit(client, "chain", f"{tag}-{i}", name, *args)
    env = {**os.environ, "REVLOOPS_DB": url, "REVLOOPS_STATE_DIR": str(root), **(env_extra or {})}
    ready = [root / f"{tag}-{w}.ready" for w in range(workers)]
    procs = [subprocess.Popen([sys.executable, "-m", "revloops.engine.worker", "--executor-id", f"bench-{w}",
                               "--ready-file", str(ready[w])],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for w in range(workers)]
    try:
        while not all(r.exists() for r in ready):  # started and warmed up: what follows is the batch
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a worker exited at start while {label} ran")
            time.sleep(0.05)
        before = [_proc_cpu(p.pid) for p in procs], _postgres_cpu(), _machine_busy()
        while len(client.list_workflows(workflow_id_prefix=tag, status="SUCCESS", load_input=False,
                                        load_output=False)) < len(jobs):
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a worker exited while {label} ran")
            time.sleep(1.0)  # the span comes from the steps' timestamps; polling less leaves the CPU to the workers
        cpu = CpuUse(sum(_proc_cpu(p.pid) for p in procs) - sum(before[0]), _postgres_cpu() - before[1],
                     _machine_busy() - before[2])
        return Figure(f"Postgres, {workers} worker process(es), {label}", len(jobs), span_seconds(client, tag), cpu)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        client.destroy()


def postgres_figures(n: int, k: int, chain_n: int) -> list[tuple[Figure, Figure]]:
    """Figure 4: one vs two workers, for the trivial workflows and then the chain (each run on its own leads)."""
    with throwaway_postgres(durable=True) as pg, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = build(db=pg.url(), state_dir=root).settings
        setup.migrate(settings)
        # A worker registers the queues; start one briefly so the client can enqueue onto them.
        postgres_workers(pg.url(), root, 1, [("probe.steps", (k, i)) for i in range(10)], "warm-up")
        floor = [postgres_workers(pg.url(), root, w, [("probe.steps", (k, i)) for i in range(n)], f"{k} steps")
                 for w in (1, 2)]
        if chain_n == 0:
            return [(floor[0], floor[1])]
        plat, ids = seeded_org(root, 2 * chain_n, db=pg.url())
        env = {"REVLOOPS_CONFIG": str(plat.settings.config)}
        batches = [ids[:chain_n], ids[chain_n:]]
        chain = [postgres_workers(pg.url(), root, w, [("lead.inbound", (lead_id, None)) for lead_id in batch],
                                  "inbound chain", env) for w, batch in zip((1, 2), batches, strict=True)]
        plat.engine.dispose()
        return [(floor[0], floor[1]), (chain[0], chain[1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-chain", action="store_true", help="only the engine's floor")
    parser.add_argument("--no-sqlite", action="store_true", help="only the Postgres figures")
    args = parser.parse_args()
    n = 150 if args.quick else 600
    chain_n = 100 if args.quick else 300
    if not args.no_sqlite:
        for f in sqlite_figures(n, args.steps):
            print(f.line())
        if not args.no_chain:
            chain_sqlite(n // 2, 2 if args.quick else 3)
    if not args.no_postgres:
        pairs = postgres_figures(n, args.steps, 0 if args.no_chain else chain_n)
        cores = os.cpu_count() or 1
        for one, two in pairs:
            for fig in (one, two):
                print(fig.line())
                if fig.cpu is not None:
                    print(f"    {fig.cpu.per_workflow(fig.n)}")
            print(f"{'2 workers / 1 worker (target >= 1.6x)':<44} {two.per_second / one.per_second:8.2f}x")
            if two.cpu is not None:
                # With every core busy, two workers cannot go faster than the cores divided by what one
                # workflow costs the whole machine; against one worker's measured rate that is the ceiling.
                ceiling = cores / (two.cpu.machine / two.n)
                print(f"    ceiling on this machine ({cores} cores / {1000 * two.cpu.machine / two.n:.1f} ms of machine"
                      f" CPU per workflow): {ceiling:.1f} wf/s = {ceiling / one.per_second:.2f}x one worker")


if __name__ == "__main__":
    main()
