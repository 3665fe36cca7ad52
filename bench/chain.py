"""Chain benchmark, part one: the workflow engine's own floor.

    python bench/chain.py            # 600 workflows of 5 trivial steps per figure
    python bench/chain.py --quick    # 150 workflows

Figures, measured in this one run:
  1. SQLite (WAL), one process: workflows run one after another (start, wait, next);
  2. SQLite (WAL), one process: the same workflows through the ``chain`` queue;
  3. Postgres (a throwaway local server, fsync on): worker processes taking the queue, one vs two,
     and the 2-worker / 1-worker ratio (target >= 1.6x).
Queued throughput is timed from the runs' own timestamps (first dequeue to last completion), so
start-up and enqueueing are not counted. The chain's figure is one call to :func:`against_floor` with
the chain workflow and its number of steps: chain throughput / floor throughput (target >= 0.8x).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dbos import DBOSClient  # noqa: E402

from revloops.bootstrap import build  # noqa: E402
from revloops.engine import probe, setup  # noqa: E402
from revloops.engine.registry import enqueue_once, run_once, submit  # noqa: E402
from revloops.testing.postgres import throwaway_postgres  # noqa: E402


@dataclass(frozen=True)
class Figure:
    """N workflows in ``seconds``."""

    label: str
    n: int
    seconds: float

    @property
    def ms_per_workflow(self) -> float:
        return 1000 * self.seconds / self.n

    @property
    def per_second(self) -> float:
        return self.n / self.seconds

    def line(self) -> str:
        return f"{self.label:<44} {self.ms_per_workflow:8.2f} ms/wf {self.per_second:8.1f} wf/s  (n={self.n})"


def span_seconds(client: DBOSClient, prefix: str) -> float:
    """First dequeue (or start) to last completion of the runs whose ids start with ``prefix``."""
    runs = client.list_workflows(workflow_id_prefix=prefix, load_input=False, load_output=False)
    starts = [r.dequeued_at or r.created_at for r in runs]
    ends = [r.completed_at or r.updated_at for r in runs]
    return (max(e for e in ends if e) - min(s for s in starts if s)) / 1000


def time_sequential(label: str, fn: Callable[..., Any], args_for: Callable[[int], tuple[Any, ...]], n: int) -> Figure:
    """Run ``fn`` n times one after another in this process (the engine must be launched)."""
    tag = f"{label}-{time.monotonic_ns()}"
    start = time.perf_counter()
    for i in range(n):
        run_once(f"{tag}-{i}", fn, *args_for(i))
    return Figure(label, n, time.perf_counter() - start)


def time_queued(label: str, fn: Callable[..., Any], args_for: Callable[[int], tuple[Any, ...]], n: int,
                client: DBOSClient) -> Figure:
    """Put ``fn`` on the chain queue n times and wait for all (the engine must be launched)."""
    tag = f"{label}-{time.monotonic_ns()}"
    handles = [enqueue_once("chain", f"{tag}-{i}", fn, *args_for(i)) for i in range(n)]
    for h in handles:
        h.get_result()
    return Figure(label, n, span_seconds(client, tag))


def against_floor(label: str, fn: Callable[..., Any], args_for: Callable[[int], tuple[Any, ...]], n: int,
                  k_steps: int, client: DBOSClient) -> tuple[Figure, Figure, float]:
    """The hook for the chain: ``fn`` through the queue vs the floor with the same number of steps."""
    floor = time_queued(f"floor, {k_steps} trivial steps", probe.steps, lambda i: (k_steps, i), n, client)
    chain = time_queued(label, fn, args_for, n, client)
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


def postgres_workers(url: str, root: Path, workers: int, n: int, k: int) -> Figure:
    """Enqueue n runs, then let ``workers`` worker processes drain the chain queue."""
    settings = build(db=url, state_dir=root).settings
    client = setup.client(settings)
    tag = f"pg{workers}-{time.monotonic_ns()}"
    for i in range(n):
        submit(client, "chain", f"{tag}-{i}", "probe.steps", k, i)
    env = {**os.environ, "REVLOOPS_DB": url, "REVLOOPS_STATE_DIR": str(root)}
    procs = [subprocess.Popen([sys.executable, "-m", "revloops.engine.worker", "--executor-id", f"bench-{w}"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for w in range(workers)]
    try:
        while len(client.list_workflows(workflow_id_prefix=tag, status="SUCCESS", load_input=False,
                                        load_output=False)) < n:
            time.sleep(0.2)
        return Figure(f"Postgres, {workers} worker process(es), {k} steps", n, span_seconds(client, tag))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        client.destroy()


def postgres_figures(n: int, k: int) -> list[Figure]:
    with throwaway_postgres(durable=True) as pg, tempfile.TemporaryDirectory() as tmp:
        settings = build(db=pg.url(), state_dir=Path(tmp)).settings
        setup.migrate(settings)
        # A worker registers the queues; start one briefly so the client can enqueue onto them.
        postgres_workers(pg.url(), Path(tmp), 1, 10, k)
        return [postgres_workers(pg.url(), Path(tmp), w, n, k) for w in (1, 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    n = 150 if args.quick else 600
    figures = sqlite_figures(n, args.steps)
    for f in figures:
        print(f.line())
    if not args.no_postgres:
        one, two = postgres_figures(n, args.steps)
        print(one.line())
        print(two.line())
        print(f"{'2 workers / 1 worker (target >= 1.6x)':<44} {two.per_second / one.per_second:8.2f}x")


if __name__ == "__main__":
    main()
