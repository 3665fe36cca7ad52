"""The engine in one process on a SQLite file: steps, exactly-once keys, retries, status and retry."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOS
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from revloops.bootstrap import Platform, build
from revloops.chains import probe
from revloops.core.errors import UpstreamRejected, UpstreamUnavailable
from revloops.engine import setup
from revloops.engine.queues import get_queue, queue_specs
from revloops.engine.registry import enqueue_once, run_key, run_once, start_once, step, workflow
from revloops.interfaces.cli.app import app
from revloops.ports.crm import eq
from tests.support.workers import wait_for

CALLS: Counter[str] = Counter()
FAILURES_LEFT: Counter[str] = Counter()


@step(attempts=1)
def record(label: str, value: int) -> int:
    CALLS[label] += 1
    return value * 10


@workflow("test.three_steps")
def three_steps(label: str) -> list[int]:
    return [record(label, 1), record(label, 2), record(label, 3)]


@step(attempts=4, interval=0.01)
def flaky(label: str) -> str:
    CALLS[label] += 1
    if FAILURES_LEFT[label] > 0:
        FAILURES_LEFT[label] -= 1
        raise UpstreamUnavailable("provider timed out")
    return "done"


@workflow("test.flaky")
def flaky_flow(label: str) -> str:
    record(label + ":before", 0)
    return flaky(label)


@step(attempts=4, interval=0.01)
def refused(label: str) -> str:
    CALLS[label] += 1
    raise UpstreamRejected("bad request: no such field")


@workflow("test.refused")
def refused_flow(label: str) -> str:
    return refused(label)


@pytest.fixture
def plat(tmp_path: Path) -> Iterator[Platform]:
    plat = build(db=f"sqlite:///{tmp_path / 'state.sqlite'}", state_dir=tmp_path, chain_concurrency=3)
    setup.launch(plat)
    yield plat
    setup.shutdown()


def _cli(plat: Platform, *args: str) -> str:
    env = {"REVLOOPS_DB": plat.settings.db, "REVLOOPS_STATE_DIR": str(plat.settings.state_dir)}
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_three_steps_run_in_order_on_a_wal_sqlite_file(plat: Platform, tmp_path: Path) -> None:
    assert run_once("t3-a", three_steps, "t3-a") == [10, 20, 30]
    assert CALLS["t3-a"] == 3
    steps = DBOS.list_workflow_steps("t3-a")
    assert [s["function_name"] for s in steps].count("record") == 3
    with sqlite3.connect(tmp_path / "engine.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_key_started_twice_runs_once(plat: Platform) -> None:
    first = run_once(run_key("lead", "00Q-dup"), three_steps, "dup")
    again = run_once(run_key("lead", "00Q-dup"), three_steps, "dup")
    handle = start_once(run_key("lead", "00Q-dup"), three_steps, "dup")
    assert first == again == handle.get_result() == [10, 20, 30]
    assert CALLS["dup"] == 3  # three steps, once: the repeats returned the recorded run
    assert len(DBOS.list_workflows(workflow_id_prefix="lead-00Q-dup")) == 1


def test_an_event_enqueued_three_times_has_its_effect_once(plat: Platform) -> None:
    handles = [enqueue_once("chain", "lead-evt-1", probe.crm_write, "evt-1") for _ in range(3)]
    assert {h.get_workflow_id() for h in handles} == {"lead-evt-1"}
    task_id = handles[0].get_result()
    assert all(h.get_result() == task_id for h in handles)
    tasks = list(plat.crm.query_all(eq("Task", Revloops_Key__c="evt-1")))
    assert [t.Id for t in tasks] == [task_id]


def test_a_transient_failure_is_retried_and_the_run_succeeds(plat: Platform) -> None:
    FAILURES_LEFT["flaky-1"] = 2
    assert run_once("flaky-1", flaky_flow, "flaky-1") == "done"
    assert CALLS["flaky-1"] == 3  # two failures, then success
    assert CALLS["flaky-1:before"] == 1  # the completed step before it was not repeated


def test_a_refusal_is_not_retried(plat: Platform) -> None:
    with pytest.raises(UpstreamRejected):
        run_once("refused-1", refused_flow, "refused-1")
    assert CALLS["refused-1"] == 1


def test_exhausted_retries_park_the_run_and_retry_resumes_it(plat: Platform, tmp_path: Path) -> None:
    fault = tmp_path / "fault"
    fault.write_text("on")
    handle = start_once("guarded-1", probe.guarded_chain, str(fault))
    wait_for(lambda: handle.get_status().status == "ERROR", 30, "the run to fail")

    status = json.loads(_cli(plat, "status", "--json"))
    assert status["counts"]["ERROR"] == 1
    failure = status["failures"][0]
    assert failure["workflow_id"] == "guarded-1"
    assert failure["failed_step"]["step"] == 2 and failure["failed_step"]["name"] == "guarded"
    assert "fault injected" in failure["failed_step"]["error"]

    fault.unlink()
    retried = json.loads(_cli(plat, "retry", "guarded-1", "--json"))
    assert retried["from_step"] == 2
    wait_for(lambda: DBOS.retrieve_workflow("guarded-1").get_status().status == "SUCCESS", 30, "the retried run")
    assert DBOS.retrieve_workflow("guarded-1").get_result() == [1, "ok", 2]
    steps = DBOS.list_workflow_steps("guarded-1")
    assert [s["function_id"] for s in steps if s["function_name"] == "trivial"] == [1, 3]
    assert all(s["error"] is None for s in steps)
    after = json.loads(_cli(plat, "status", "--json"))
    assert after["counts"] == {"SUCCESS": 1} and after["failures"] == []


def test_retry_refuses_a_run_that_succeeded(plat: Platform) -> None:
    run_once("ok-1", three_steps, "ok-1")
    env = {"REVLOOPS_DB": plat.settings.db, "REVLOOPS_STATE_DIR": str(plat.settings.state_dir)}
    result = CliRunner().invoke(app, ["retry", "ok-1"], env=env)
    assert result.exit_code == 1
    assert "SUCCESS" in result.output


def test_queues_take_their_limits_from_settings(plat: Platform) -> None:
    specs = queue_specs(plat.settings)
    assert set(specs) == {"pdl", "llm", "chain"}
    pdl, llm, chain = get_queue("pdl"), get_queue("llm"), get_queue("chain")
    assert pdl.limiter == {"limit": plat.settings.pdl_rate_per_minute, "period": 60.0}
    assert llm.worker_concurrency == plat.settings.llm_concurrency
    assert chain.worker_concurrency == 3


def test_the_api_process_runs_the_engine_in_its_lifespan(tmp_path: Path) -> None:
    from revloops.app import app_on
    from revloops.interfaces.api.app import create_app

    plat = build(db=f"sqlite:///{tmp_path / 'state.sqlite'}", state_dir=tmp_path)
    with TestClient(create_app(app_on(plat), run_engine=True)):
        assert setup.is_running()
        assert run_once("api-1", probe.steps, 2, 5) == 7
    assert not setup.is_running()
