"""Worker processes for engine tests: started and killed by the test, never left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def wait_for(cond: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> None:
    """Poll ``cond`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


@dataclass
class WorkerProcs:
    """Worker subprocesses of one test; :meth:`stop_all` ends every one still alive."""

    root: Path
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, executor_id: str, *extra: str) -> subprocess.Popen[bytes]:
        ready = self.root / f"{executor_id}.ready"
        ready.unlink(missing_ok=True)
        log = (self.root / f"{executor_id}.log").open("ab")
        cmd = [sys.executable, "-m", "revloops.engine.worker", "--executor-id", executor_id,
               "--ready-file", str(ready), *extra]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env})
        log.close()
        self.procs.append(proc)
        wait_for(lambda: ready.exists() or proc.poll() is not None, 60, f"worker {executor_id} to start")
        if proc.poll() is not None:
            raise AssertionError(f"worker {executor_id} exited at start:\n{self.log(executor_id)}")
        return proc

    def log(self, executor_id: str) -> str:
        path = self.root / f"{executor_id}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no cleanup, no graceful shutdown, like a machine losing power."""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
