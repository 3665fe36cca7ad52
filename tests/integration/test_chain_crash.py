"""Kill -9 a worker in the middle of 300 inbound leads; after a restart each lead has its effects exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOSClient

from revloops.bootstrap import Platform
from revloops.engine import setup
from revloops.engine.status import engine_status
from tests.integration.test_chain_effects import (
    chain_problems,
    created_events,
    effect_counts,
    lead_ids,
    seeded_org,
)
from tests.support.workers import WorkerProcs, wait_for

N = 300


@pytest.fixture
def org(tmp_path: Path) -> Platform:
    return seeded_org(tmp_path, leads=N, accounts=120)


@pytest.fixture
def workers(tmp_path: Path, org: Platform) -> Iterator[WorkerProcs]:
    env = {"REVLOOPS_DB": org.settings.db, "REVLOOPS_STATE_DIR": str(tmp_path),
           "REVLOOPS_CONFIG": str(org.settings.config), "REVLOOPS_CHAIN_CONCURRENCY": "8"}
    procs = WorkerProcs(tmp_path, env)
    yield procs
    procs.stop_all()


def chain_runs(client: DBOSClient) -> dict[str, int]:
    """The ``lead.inbound`` runs by state."""
    return engine_status(client).by_workflow.get("lead.inbound", {})


@pytest.mark.timeout(300)
def test_a_worker_killed_mid_batch_leaves_each_lead_one_owner_score_sequence_and_task(
        org: Platform, workers: WorkerProcs) -> None:
    ids = lead_ids(org)
    assert len(ids) == N
    accepted = org.inbox.accept(created_events(org, ids), "webhook")
    assert accepted.accepted == N

    first = workers.start("worker-a")  # its inbox tick starts a run per event
    client = setup.client(org.settings)
    try:
        # The inbox tick enqueues while the queue drains, so the queue can be empty for a moment: aim the kill
        # at a moment when runs are in flight.
        wait_for(lambda: effect_counts(org)["tasks"] >= 30 and chain_runs(client).get("PENDING", 0) > 0, 150,
                 "the worker to engage some leads with runs in flight", every=0.1)
        workers.kill(first)
        at_crash = chain_runs(client)
        assert at_crash.get("SUCCESS", 0) < N, "the batch finished before the kill; nothing was tested"
        assert at_crash.get("PENDING", 0) > 0, f"no run was in flight at the kill: {at_crash}"

        workers.start("worker-a")  # the same executor id: it recovers the runs it had in flight
        wait_for(lambda: chain_runs(client).get("SUCCESS", 0) == N, 240, "every lead's run to finish", every=0.5)
        final = engine_status(client)
        assert final.by_workflow["lead.inbound"] == {"SUCCESS": N} and final.failures == [], workers.log("worker-a")

        assert chain_problems(org, ids) == []
        runs = client.list_workflows(workflow_id_prefix="lead-", load_input=False)
        assert sorted(run.workflow_id for run in runs) == sorted(f"lead-{lead_id}" for lead_id in ids)
        owners = {str(lead.Id): lead.OwnerId for lead in (org.crm.get("Lead", i) for i in ids)}
        for run in runs:
            out = run.output
            if out.get("owner_id") and not out["owner_id"].startswith("pending:"):
                assert owners[out["lead_id"]] == out["owner_id"], run.workflow_id

        entries = org.inbox.entries(limit=N + 10)
        assert {(e.status, e.workflow_id) for e in entries} == {("done", f"lead-{e.event.record_id}") for e in entries}
    finally:
        client.destroy()
