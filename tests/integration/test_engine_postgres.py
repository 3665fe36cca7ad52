"""Two worker processes on one Postgres split a batch between them; each run's effect happens once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.db import open_database
from revloops.bootstrap import build
from revloops.engine import setup
from revloops.engine.registry import run_key, submit
from revloops.engine.status import engine_status
from revloops.ports.crm import Query
from revloops.testing.postgres import PostgresServer
from tests.support.postgres import postgres  # noqa: F401  (the fixture)
from tests.support.workers import WorkerProcs, wait_for

N = 500


@pytest.fixture
def workers(tmp_path: Path, postgres: PostgresServer) -> Iterator[WorkerProcs]:  # noqa: F811
    postgres.reset()
    env = {"REVLOOPS_DB": postgres.url(), "REVLOOPS_STATE_DIR": str(tmp_path), "REVLOOPS_CHAIN_CONCURRENCY": "6"}
    procs = WorkerProcs(tmp_path, env)
    yield procs
    procs.stop_all()


@pytest.mark.timeout(240)
def test_two_workers_split_the_batch_and_each_run_has_one_effect(workers: WorkerProcs, tmp_path: Path) -> None:
    settings = build(db=workers.env["REVLOOPS_DB"], state_dir=tmp_path).settings
    assert settings.engine_db_url == settings.db  # the engine shares the state database's server
    crm = LocalCRM(open_database(settings.db_url))
    setup.migrate(settings)
    workers.start("worker-1")
    workers.start("worker-2")
    client = setup.client(settings)
    try:
        keys = [f"lead-{i:04d}" for i in range(N)]
        for key in keys:
            submit(client, "chain", run_key("probe", key), "probe.crm_write", key, 0.01)
        # Delivered again: the duplicates return the runs already queued or done.
        for key in keys[:50]:
            submit(client, "chain", run_key("probe", key), "probe.crm_write", key, 0.01)

        wait_for(lambda: engine_status(client).counts.get("SUCCESS", 0) == N, 200, "every run to finish")
        assert engine_status(client).counts == {"SUCCESS": N}

        tasks = Counter(str(t.Revloops_Key__c) for t in crm.query_all(Query("Task")))
        assert tasks == Counter({key: 1 for key in keys})
        runs = client.list_workflows(workflow_id_prefix="probe-lead-", load_input=False, load_output=False)
        by_worker = Counter(run.executor_id for run in runs)
        assert sum(by_worker.values()) == N
        assert set(by_worker) == {"worker-1", "worker-2"}, by_worker
        assert min(by_worker.values()) > 0.1 * N, f"one worker did almost nothing: {by_worker}"
    finally:
        client.destroy()
        crm.engine.dispose()
