"""Resume a parked run from where it stopped: completed steps keep their results and are not run again.

DBOS's ``resume_workflow`` leaves a run in ERROR as it is (it only restarts runs that were cancelled or
ran out of recovery attempts), so a failed run is *rewound* instead: its history from the failed step on
is dropped and the run is re-queued under the same id, where any worker picks it up.
"""

from __future__ import annotations

from dbos import DBOSClient

from revloops.core.errors import InputError, NotFound
from revloops.core.model import Frozen
from revloops.engine.status import failed_step

RESUMABLE = {"CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"}
REWINDABLE = {"ERROR"}


class RetryResult(Frozen):
    """What ``retry`` did: the run, the state it was in, and the step it resumes from (1-based)."""

    workflow_id: str
    previous_state: str
    from_step: int | None
    queue: str | None
    dry_run: bool = False


def _resume_point(client: DBOSClient, workflow_id: str) -> int:
    failure = failed_step(client, workflow_id)
    if failure is not None:
        return failure.step
    # The body failed between steps: redo nothing that completed, start after the last recorded step.
    recorded = [s["function_id"] for s in client.list_workflow_steps(workflow_id, load_output=False)]
    return max(recorded, default=0) + 1


def retry(client: DBOSClient, workflow_id: str, *, dry_run: bool = False) -> RetryResult:
    """Re-run a failed, cancelled or abandoned run from its last completed step, on its own queue; a dry run
    answers the step it would resume from and changes nothing.

    Raises:
        NotFound: no run has this id.
        InputError: the run is not parked (it succeeded, or is still queued or running).
    """
    found = client.list_workflows(workflow_ids=[workflow_id], load_input=False, load_output=False)
    if not found:
        raise NotFound(f"no workflow run {workflow_id!r}")
    run = found[0]
    state = str(run.status)
    queue = run.queue_name
    if state in REWINDABLE:
        start = _resume_point(client, workflow_id)
        if not dry_run:
            client.rewind_workflow(workflow_id, start_step=start, queue_name=queue)
        return RetryResult(workflow_id=workflow_id, previous_state=state, from_step=start, queue=queue,
                           dry_run=dry_run)
    if state in RESUMABLE:
        if not dry_run:
            client.resume_workflow(workflow_id, queue_name=queue)
        return RetryResult(workflow_id=workflow_id, previous_state=state, from_step=None, queue=queue,
                           dry_run=dry_run)
    raise InputError(f"workflow {workflow_id} is {state}; only failed, cancelled or abandoned runs can be retried",
                     field="workflow_id")
