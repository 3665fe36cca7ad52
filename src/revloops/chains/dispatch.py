"""The inbox dispatcher: each pending CRM event goes to the reaction registered for its type.

A loop reacts to an event type with ``@reacts_to`` (``engine/registry.py``) in its own module of this package;
the dispatcher knows no type. A type nobody reacts to is marked skipped, with the reason. The run a reaction
names is queued once per key, so several events naming one run (a webhook and a poll of one lead) share it;
the run marks every event pointing at it done in its last step (:func:`finish_step`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dbos import DBOS

from revloops.engine.registry import REACTIONS, enqueue_once, step, tick
from revloops.engine.setup import platform
from revloops.engine.status import describe_error

if TYPE_CHECKING:
    from revloops.ports import Ports


def dispatch_pending(plat: Ports, limit: int = 1000) -> int:
    """Start the run each pending event's reaction names; skip events no loop reacts to.

    Answers how many runs were started (or found already started).
    """
    started = 0
    for entry in plat.inbox.entries(status="pending", limit=limit):
        event = entry.event
        reaction = REACTIONS.get(event.type)
        run = reaction.react(event) if reaction is not None else None
        if reaction is None or run is None:
            why = f"no loop reacts to {event.type} yet" if reaction is None else f"nothing to start for {event.type}"
            plat.inbox.mark(event.id, "skipped", reason=why)
            continue
        handle = enqueue_once(reaction.queue, run.key, run.workflow, *run.args)
        if not plat.inbox.mark(event.id, "processing", workflow_id=handle.workflow_id, only_from="pending"):
            continue  # another worker's dispatch took it
        started += 1
        # A run that finished before this event was pointed at it will not mark it: do it here. (A run
        # finishing after the mark above marks every event pointing at it in its last step.)
        if handle.get_status().status == "SUCCESS":
            plat.inbox.mark(event.id, "done", reason="its run had already finished", only_from="processing")
    return started


#: runs in these states will not finish by themselves: their events are failed until someone retries them
PARKED = frozenset({"ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})
RECONCILE_SECONDS = 10.0
_last_reconcile = [0.0]


def reconcile(plat: Ports, limit: int = 50) -> int:
    """Make the inbox tell the truth about runs: an event whose run is parked (failed after its retries,
    cancelled) is ``failed`` with the run's error, never ``processing`` forever; one whose run finished is
    ``done``; a failed event whose run was
    retried (``revloops retry``) is ``processing`` again. Answers how many events moved."""
    moved = 0
    for entry in plat.inbox.entries(status="processing", limit=limit):
        status = DBOS.get_workflow_status(entry.workflow_id) if entry.workflow_id else None
        if status is not None and status.status in PARKED:
            why = f"run {entry.workflow_id} {status.status.lower()}: {describe_error(status.error)}"
            moved += plat.inbox.mark(entry.event.id, "failed", workflow_id=entry.workflow_id, reason=why[:1000],
                                     only_from="processing")
        elif status is not None and status.status == "SUCCESS":
            # pointed at its run while the run was finishing: after the run marked its events, before its
            # status read as done, so neither side marked this one
            moved += plat.inbox.mark(entry.event.id, "done", workflow_id=entry.workflow_id,
                                     reason="its run had finished", only_from="processing")
    for entry in plat.inbox.entries(status="failed", limit=limit):
        status = DBOS.get_workflow_status(entry.workflow_id) if entry.workflow_id else None
        if status is not None and status.status in ("PENDING", "ENQUEUED"):
            moved += plat.inbox.mark(entry.event.id, "processing", workflow_id=entry.workflow_id,
                                     reason="its run was retried", only_from="failed")
    return moved


@tick("inbox-dispatch")
def dispatch_tick(plat: Ports) -> int:
    """About once a second in every engine process: start the runs for events that landed in the inbox; every
    ten seconds, mark failed the events whose runs are parked."""
    started = dispatch_pending(plat, limit=500)
    if time.monotonic() - _last_reconcile[0] >= RECONCILE_SECONDS:
        _last_reconcile[0] = time.monotonic()
        reconcile(plat)
    return started


@step(attempts=6, interval=0.5)
def finish_step(event_id: str | None, workflow_id: str, summary: str) -> None:
    """A reaction's run, last: mark done the event that started it and every other event pointed at it."""
    inbox = platform().inbox
    if event_id:
        inbox.mark(event_id, "done", workflow_id=workflow_id, reason=summary)
    inbox.finish_workflow(workflow_id, summary)
