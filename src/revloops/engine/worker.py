"""The worker loop: start the engine, take work from the queues until SIGTERM/SIGINT, stop cleanly.

Several workers (processes or machines) sharing one Postgres system database split the queued work;
each needs its own ``executor_id`` so that, when it restarts after a crash, it resumes exactly the runs
it had in flight. ``python -m revloops.engine.worker`` and ``revloops worker`` both land here.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from revloops.bootstrap import Platform, build
from revloops.engine.setup import launch, shutdown

log = logging.getLogger(__name__)


def warm_up(plat: Platform) -> None:
    """Load what the first steps would otherwise all load at once: the config, the chain's modules and data.

    A config with errors does not stop the worker (engine-only work still runs): the errors are logged
    here, and each run that needs the config fails on them and is parked where ``revloops status`` shows it.
    """
    from revloops.chains.inbound import warm
    from revloops.core.errors import ConfigError

    try:
        warm(plat)
    except ConfigError as exc:
        log.warning("the config at %s has errors; runs that need it will fail until it is fixed:\n%s",
                    plat.settings.config, exc)


def serve_forever(
    plat: Platform,
    *,
    executor_id: str | None = None,
    queues: list[str] | None = None,
    modules: tuple[str, ...] = (),
    stop: threading.Event | None = None,
    ready_file: Path | None = None,
    grace_seconds: int = 10,
) -> None:
    """Run a worker until ``stop`` is set or the process gets SIGTERM/SIGINT.

    Args:
        plat: the platform whose ports the steps use.
        executor_id: this worker's name (default from settings).
        queues: only take work from these queues (default all).
        modules: extra modules declaring workflows.
        stop: an event that ends the loop (signals set it too).
        ready_file: touched once the engine is up (lets a supervisor or test wait without sleeping).
        grace_seconds: how long running workflows may finish at shutdown; the rest recover on restart.
    """
    stop = stop or threading.Event()
    previous = _on_signals(stop)
    _ = plat.engine  # migrate the state database before taking work, not inside the first step
    warm_up(plat)
    launch(plat, executor_id=executor_id, listen=queues, modules=modules)
    try:
        if ready_file is not None:
            ready_file.write_text("ready\n")
        while not stop.wait(0.5):
            pass
    finally:
        shutdown(wait_seconds=grace_seconds)
        _restore(previous)


def _on_signals(stop: threading.Event) -> dict[int, object]:
    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, handler)
    return previous


def _restore(previous: dict[int, object]) -> None:
    for sig, old in previous.items():
        signal.signal(sig, old)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m revloops.engine.worker [--executor-id ID] [--queue Q ...] [--module M ...]``."""
    from revloops.core.logsafe import install

    install()
    parser = argparse.ArgumentParser(prog="revloops-worker", description=__doc__)
    parser.add_argument("--executor-id", default=None)
    parser.add_argument("--queue", action="append", default=None, help="take work only from this queue")
    parser.add_argument("--module", action="append", default=[], help="also import this workflow module")
    parser.add_argument("--db", default=None, help="state database URL")
    parser.add_argument("--engine-db", default=None, help="engine system database URL")
    parser.add_argument("--ready-file", type=Path, default=None)
    args = parser.parse_args(argv)
    plat = build(db=args.db, engine_db=args.engine_db)
    serve_forever(plat, executor_id=args.executor_id, queues=args.queue, modules=tuple(args.module),
                  ready_file=args.ready_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
