"""Two worker processes on one Postgres share 500 inbound leads; each lead's chain runs exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from revloops.bootstrap import Platform
from revloops.engine import setup
from revloops.engine.status import engine_status
from revloops.testing.postgres import PostgresServer
from tests.integration.test_chain_effects import chain_problems, created_events, lead_ids, seeded_org
from tests.support.postgres import postgres  # noqa: F401  (the fixture)
from tests.support.workers import WorkerProcs, wait_for

N = 500


@pytest.fixture
def org(tmp_path: Path, postgres: PostgresServer) -> Iterator[Platform]:  # noqa: F811
    postgres.reset()
    plat = seeded_org(tmp_path, leads=N, accounts=150, db=postgres.url())
    yield plat
    plat.engine.dispose()


@pytest.fixture
def workers(tmp_path: Path, org: Platform) -> Iterator[WorkerProcs]:
    env = {"REVLOOPS_DB": org.settings.db, "REVLOOPS_STATE_DIR": str(tmp_path),
           "REVLOOPS_CONFIG": str(org.settings.config), "REVLOOPS_CHAIN_CONCURRENCY": "6"}
    procs = WorkerProcs(tmp_path, env)
    yield procs
    procs.stop_all()


@pytest.mark.timeout(300)
def test_two_workers_on_postgres_run_each_of_500_leads_once(org: Platform, workers: WorkerProcs) -> None:
    assert org.settings.engine_db_url == org.settings.db  # the engine shares the state database's server
    ids = lead_ids(org)
    assert len(ids) == N
    setup.migrate(org.settings)
    workers.start("worker-1")
    workers.start("worker-2")
    # Both workers' inbox ticks see the same pending events and both try to start each run.
    assert org.inbox.accept(created_events(org, ids), "webhook").accepted == N
    client = setup.client(org.settings)
    try:
        wait_for(lambda: engine_status(client).by_workflow.get("lead.inbound", {}).get("SUCCESS", 0) == N, 270,
                 "every lead's run to finish", every=0.5)
        final = engine_status(client)  # other workflows (the scheduled CRM poll) may have run too
        assert final.by_workflow["lead.inbound"] == {"SUCCESS": N} and final.failures == [], workers.log("worker-1")
        runs = client.list_workflows(workflow_id_prefix="lead-", load_input=False, load_output=False)
        by_worker = Counter(run.executor_id for run in runs)
    finally:
        client.destroy()

    assert sorted(run.workflow_id for run in runs) == sorted(f"lead-{i}" for i in ids)
    assert set(by_worker) == {"worker-1", "worker-2"}, by_worker
    assert min(by_worker.values()) > 0.1 * N, f"one worker did almost nothing: {by_worker}"
    assert chain_problems(org, ids) == []
    entries = org.inbox.entries(limit=N + 10)
    stuck = [(e.event.record_id, e.status) for e in entries if e.status != "done"]
    assert stuck == [], f"{len(stuck)} events not marked done after their run finished: {stuck[:5]}"
    assert {e.workflow_id for e in entries} == {f"lead-{i}" for i in ids}
