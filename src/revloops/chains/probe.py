"""Probe workflows: the engine's own cost, and its guarantees, without any loop's logic.

``probe.steps`` runs K trivial steps (the floor a chain with K steps is measured against);
``probe.crm_write`` writes one Task to the CRM with an idempotent upsert keyed on the run, so a run that
is recovered after a crash still leaves exactly one record. Tests and ``bench/chain.py`` use them.
"""

from __future__ import annotations

import time
from pathlib import Path

from revloops.core.errors import UpstreamUnavailable
from revloops.engine.registry import step, workflow
from revloops.engine.setup import platform

TASK_KEY_FIELD = "Revloops_Key__c"


@step(attempts=1)
def trivial(value: int) -> int:
    """A step that does nothing but be checkpointed."""
    return value + 1


@workflow("probe.steps")
def steps(n_steps: int, seed: int = 0) -> int:
    """K trivial steps one after another; answers ``seed + n_steps``."""
    value = seed
    for _ in range(n_steps):
        value = trivial(value)
    return value


@step(attempts=1)
def pause(seconds: float) -> None:
    """Hold the run for a while (widens the window a crash test aims at)."""
    time.sleep(seconds)


@step(attempts=5, interval=0.2)
def write_task(key: str) -> str:
    """Upsert the Task whose external key is ``key``; answers its id (the same id on every retry)."""
    result = platform().crm.upsert("Task", TASK_KEY_FIELD, key, {"Subject": f"probe {key}"})
    if result.id is None:
        raise UpstreamUnavailable(f"the CRM did not answer an id for {key}")
    return result.id


@workflow("probe.crm_write")
def crm_write(key: str, hold_seconds: float = 0.0) -> str:
    """A trivial step, an optional pause, one idempotent CRM write, a trivial step; answers the Task id."""
    trivial(0)
    if hold_seconds > 0:
        pause(hold_seconds)
    task_id = write_task(key)
    trivial(1)
    return task_id


@step(attempts=3, interval=0.05)
def guarded(fault_file: str) -> str:
    """Fails (transiently) while ``fault_file`` exists: the fault a retry test removes."""
    if Path(fault_file).exists():
        raise UpstreamUnavailable(f"fault injected: {fault_file} exists")
    return "ok"


@workflow("probe.guarded")
def guarded_chain(fault_file: str) -> list[int | str]:
    """A step, a step that fails while the fault is present, a step; answers what each returned."""
    first = trivial(0)
    middle = guarded(fault_file)
    last = trivial(first)
    return [first, middle, last]
