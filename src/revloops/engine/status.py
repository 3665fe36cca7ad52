"""What the engine is doing: workflows by state (overall and per workflow) and the latest failures.

Read through a ``DBOSClient`` on the system database, so ``revloops status`` never starts an engine
(which would recover, and so run, the workflows of the executor it pretended to be).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa
from dbos import DBOSClient, WorkflowStatus

from revloops.core.model import Frozen

FAILED_STATES = ["ERROR", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"]
STATES = ["ENQUEUED", "DELAYED", "PENDING", "SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"]


class StepFailure(Frozen):
    """The step where a failed run stopped."""

    step: int
    name: str
    error: str


class WorkflowFailure(Frozen):
    """One failed run: its id (what ``revloops retry`` takes), what failed and when."""

    workflow_id: str
    workflow: str
    state: str
    error: str
    failed_step: StepFailure | None = None
    queue: str | None = None
    executor_id: str | None = None
    updated_at: dt.datetime | None = None


class EngineStatus(Frozen):
    """Counts of runs by state, overall and per workflow name, and the latest failures (newest first)."""

    counts: dict[str, int]
    by_workflow: dict[str, dict[str, int]]
    failures: list[WorkflowFailure]

    @property
    def total(self) -> int:
        """How many runs the engine knows about."""
        return sum(self.counts.values())


def describe_error(error: BaseException | None) -> str:
    """``Type: message`` of an error as the engine recorded it."""
    if error is None:
        return ""
    text = str(error).strip()
    out = f"{type(error).__name__}: {text}" if text else type(error).__name__
    causes = getattr(error, "errors", None)  # DBOSMaxStepRetriesExceeded keeps each attempt's error
    if isinstance(causes, list) and causes and isinstance(causes[-1], BaseException):
        out += f" (last: {describe_error(causes[-1])})"
    return out


def _counts(client: DBOSClient) -> list[tuple[str, str, int]]:
    # A GROUP BY in the database: listing every run to count them would load the whole history.
    table = getattr(getattr(client._sys_db, "tables", None), "workflow_status", None)  # noqa: SLF001
    if table is None:
        rows = client.list_workflows(load_input=False, load_output=False)
        counted = Counter((w.name, str(w.status)) for w in rows)
        return [(name, state, n) for (name, state), n in counted.items()]
    stmt = sa.select(table.c.name, table.c.status, sa.func.count()).group_by(table.c.name, table.c.status)
    with client._sys_db.engine.connect() as conn:  # noqa: SLF001
        return [(str(r[0]), str(r[1]), int(r[2])) for r in conn.execute(stmt)]


def failed_step(client: DBOSClient, workflow_id: str) -> StepFailure | None:
    """The first step of a run that recorded an error (None when the workflow body itself failed)."""
    for info in client.list_workflow_steps(workflow_id):
        if info["error"] is not None:
            return StepFailure(step=info["function_id"], name=info["function_name"], error=describe_error(info["error"]))
    return None


def _failure(client: DBOSClient, wf: WorkflowStatus) -> WorkflowFailure:
    updated: Any = wf.updated_at
    return WorkflowFailure(
        workflow_id=wf.workflow_id,
        workflow=wf.name,
        state=str(wf.status),
        error=describe_error(wf.error),
        failed_step=failed_step(client, wf.workflow_id),
        queue=wf.queue_name,
        executor_id=wf.executor_id,
        updated_at=dt.datetime.fromtimestamp(updated / 1000, dt.UTC) if updated else None,
    )


def engine_status(client: DBOSClient, *, failures: int = 10) -> EngineStatus:
    """Runs by state and the ``failures`` most recent failed runs with their errors."""
    counts: Counter[str] = Counter()
    by_workflow: dict[str, Counter[str]] = {}
    for name, state, n in _counts(client):
        counts[state] += n
        by_workflow.setdefault(name, Counter())[state] += n
    failed = client.list_workflows(status=FAILED_STATES, sort_desc=True, limit=failures, load_input=False)
    return EngineStatus(
        counts={s: counts[s] for s in STATES if counts[s]} | {s: n for s, n in counts.items() if s not in STATES},
        by_workflow={name: dict(sorted(c.items())) for name, c in sorted(by_workflow.items())},
        failures=[_failure(client, wf) for wf in failed],
    )
