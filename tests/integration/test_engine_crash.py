"""Kill -9 a worker in the middle of a batch; after a restart every run finishes with exactly one effect."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOSClient

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.db import open_database
from revloops.bootstrap import build
from revloops.engine import setup
from revloops.engine.registry import run_key, submit
from revloops.engine.status import engine_status
from revloops.ports.crm import Query
from tests.support.workers import WorkerProcs, wait_for

N = 300
HOLD = 0.5  # seconds each run pauses before its CRM write


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[WorkerProcs]:
    env = {"REVLOOPS_DB": f"sqlite:///{tmp_path / 'state.sqlite'}", "REVLOOPS_STATE_DIR": str(tmp_path),
           "REVLOOPS_CHAIN_CONCURRENCY": "8"}
    procs = WorkerProcs(tmp_path, env)
    yield procs
    procs.stop_all()


def _tasks(crm: LocalCRM) -> Counter[str]:
    return Counter(str(t.Revloops_Key__c) for t in crm.query_all(Query("Task")))


@pytest.mark.timeout(240)
def test_a_killed_worker_resumes_its_runs_and_each_has_one_effect(workers: WorkerProcs, tmp_path: Path) -> None:
    settings = build(db=workers.env["REVLOOPS_DB"], state_dir=tmp_path).settings
    crm = LocalCRM(open_database(settings.db_url))
    first = workers.start("worker-a")
    client: DBOSClient = setup.client(settings)
    try:
        keys = [f"lead-{i:04d}" for i in range(N)]
        for key in keys:
            submit(client, "chain", run_key("probe", key), "probe.crm_write", key, HOLD)

        # Kill while runs are in flight: each holds HOLD seconds before its write, so a batch the worker has
        # dequeued stays PENDING far longer than the few milliseconds between this check and the kill.
        def going_with_runs_in_flight() -> bool:
            return sum(_tasks(crm).values()) >= 40 and engine_status(client).counts.get("PENDING", 0) > 0

        wait_for(going_with_runs_in_flight, 120, "the worker to get going with runs in flight")
        workers.kill(first)
        at_crash = engine_status(client).counts
        assert at_crash.get("SUCCESS", 0) < N, "the batch finished before the crash; nothing was tested"
        assert at_crash.get("PENDING", 0) > 0, f"no run was in flight at the kill: {at_crash}"

        workers.start("worker-a")  # the same executor id: it recovers the runs it had in flight
        wait_for(lambda: engine_status(client).counts.get("SUCCESS", 0) == N, 180, "every run to finish")

        final = engine_status(client)
        assert final.counts == {"SUCCESS": N}
        tasks = _tasks(crm)
        assert tasks == Counter({key: 1 for key in keys})
        runs = client.list_workflows(workflow_id_prefix="probe-lead-", load_input=False)
        by_key = {t.Revloops_Key__c: t.Id for t in crm.query_all(Query("Task"))}
        assert len(runs) == N
        assert all(run.output == by_key[run.workflow_id.removeprefix("probe-")] for run in runs)
    finally:
        client.destroy()
        crm.engine.dispose()
