"""The inbox dispatcher: each pending CRM event goes to the reaction registered for its type.

A loop reacts to an event type with ``@reacts_to`` (``engine/registry.py``) in its own module of this package;
the dispatcher knows no type. A type nobody reacts to is marked skipped, with the reason. The run a reaction
names is queued once per key, so several events naming one run (a webhook and a poll of one lead) share it;
the run marks every event pointing at it done in its last step (:func:`finish_step`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from revloops.engine.registry import REACTIONS, enqueue_once, step, tick
from revloops.engine.setup import platform

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


@tick("inbox-dispatch")
def dispatch_tick(plat: Ports) -> int:
    """About once a second in every engine process: start the runs for events that landed in the inbox."""
    return dispatch_pending(plat, limit=500)


@step(attempts=6, interval=0.5)
def finish_step(event_id: str | None, workflow_id: str, summary: str) -> None:
    """A reaction's run, last: mark done the event that started it and every other event pointed at it."""
    inbox = platform().inbox
    if event_id:
        inbox.mark(event_id, "done", workflow_id=workflow_id, reason=summary)
    inbox.finish_workflow(workflow_id, summary)
