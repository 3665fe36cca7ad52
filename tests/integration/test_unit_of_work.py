"""One unit of work that every store on the state database joins: the embedded CRM's writes (create, bulk create,
update, bulk update, upsert, delete, bulk delete), decisions and rotation claims inside
``SqlUnitOfWork.together()`` run on the unit's connection and commit as one, on SQLite and Postgres.

The engines here wait a short while for a lock (SQLite's ``busy_timeout``, Postgres's ``lock_timeout``) instead
of the production 30 s, so a write that opened a second transaction fails fast with "database is locked" (or
Postgres's lock timeout) rather than stalling the run.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.db import open_database
from revloops.adapters.sql.decisions import SqlDecisionStore
from revloops.adapters.sql.rotation import SqlRotation
from revloops.adapters.sql.tables import SOBJECT_TABLES, decisions
from revloops.adapters.sql.uow import SqlUnitOfWork
from revloops.core.decisions import Decision
from revloops.core.errors import RecordRejected
from revloops.core.records import Lead, Task
from revloops.core.rotation import Candidate
from revloops.ports.uow import UnitOfWork
from revloops.testing.postgres import PostgresServer
from tests.support.postgres import postgres  # noqa: F401  (the fixture)

#: how long a second writer waits for a lock before it fails (production: 30 s)
BUSY_TIMEOUT_MS, LOCK_TIMEOUT_MS = 300, 3000


def _short_busy_timeout(dbapi_conn: Any, _record: Any) -> None:
    # runs after db.py's own connect hook (which sets busy_timeout=30000), as that hook does it
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


def _sqlite(path: Path) -> sa.Engine:
    engine = open_database(f"sqlite:///{path}")
    sa.event.listen(engine, "connect", _short_busy_timeout)
    engine.dispose()  # the migration's pooled connections still wait 30 s
    return engine


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = _sqlite(tmp_path / "state.sqlite")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        server.reset()
        eng = open_database(f"{server.url()}?options=-c%20lock_timeout%3D{LOCK_TIMEOUT_MS}")
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = _sqlite(tmp_path / "state.sqlite")
    yield eng
    eng.dispose()


def _decision(record_id: str, outcome: str = "mql") -> Decision:
    return Decision(loop="qualify", sobject="Lead", record_id=record_id, outcome=outcome,
                    explanation="MQL: 70 points", config_version="v1", inputs_digest="d", actor="test")


def _lead(name: str) -> Lead:
    return Lead(LastName=name, Company="Acme", Status="Open")


Seen = dict[str, dict[str, dict[str, Any]]]  # table -> id -> row


def _committed(engine: sa.Engine) -> Seen:
    """Every lead, task and decision, as a connection of a fresh engine sees them (only what is committed)."""
    fresh = sa.create_engine(engine.url)
    try:
        with fresh.connect() as conn:
            out = {name: {r.Id: dict(r._mapping) for r in conn.execute(sa.select(SOBJECT_TABLES[name]))}
                   for name in ("Lead", "Task")}
            out["decisions"] = {r.id: dict(r._mapping) for r in conn.execute(sa.select(decisions))}
        return out
    finally:
        fresh.dispose()


def test_a_create_an_update_and_a_decision_in_one_unit_commit_together(engine: sa.Engine) -> None:
    crm, log, uow = LocalCRM(engine), SqlDecisionStore(engine), SqlUnitOfWork(engine, joins_crm=True)
    assert isinstance(uow, UnitOfWork)
    lead_id = crm.create(_lead("Okafor"))
    with uow.together():
        task_id = crm.create(Task(Subject="Call Okafor", WhoId=lead_id))
        crm.update("Lead", lead_id, {"Lead_Score__c": 70.0})
        decided = log.record(_decision(lead_id))
        assert crm.get("Task", task_id).WhoId == lead_id  # type: ignore[attr-defined]  # reads inside see it
    seen = _committed(engine)
    assert seen["Task"][task_id]["Subject"] == "Call Okafor"
    assert seen["Lead"][lead_id]["Lead_Score__c"] == 70.0
    assert seen["decisions"][decided.id]["record_id"] == lead_id


def _every_kind_of_write(crm: LocalCRM, log: SqlDecisionStore, leads: list[str]) -> None:
    crm.create(Task(Subject="Call", WhoId=leads[0]))
    assert all(r.success for r in crm.bulk_create([Task(Subject=f"Mail {i}", WhoId=leads[0]) for i in range(3)]))
    assert crm.upsert("Task", "Revloops_Key__c", "engage:new", {"Subject": "Sequence"}).created
    assert not crm.upsert("Task", "Revloops_Key__c", "engage:old", {"Subject": "Rewritten"}).created
    crm.update("Lead", leads[0], {"Lead_Score__c": 70.0})
    assert all(r.success for r in crm.bulk_update("Lead", [(leads[1], {"Status": "Working"}),
                                                           (leads[2], {"Status": "Working"})]))
    crm.delete("Lead", leads[3])
    assert all(r.success for r in crm.bulk_delete("Lead", leads[4:]))
    log.record(_decision(leads[0]))
    log.record_many([_decision(leads[1]), _decision(leads[2])])


def test_an_exception_after_the_writes_leaves_none_of_them(engine: sa.Engine) -> None:
    crm, log, uow = LocalCRM(engine), SqlDecisionStore(engine), SqlUnitOfWork(engine, joins_crm=True)
    leads = [crm.create(_lead(f"Person{i}")) for i in range(6)]
    crm.upsert("Task", "Revloops_Key__c", "engage:old", {"Subject": "First"})
    before = _committed(engine)
    with pytest.raises(RuntimeError, match="after its writes"), uow.together():
        _every_kind_of_write(crm, log, leads)
        raise RuntimeError("the step failed after its writes")
    assert _committed(engine) == before
    with uow.together():  # and the same writes, not interrupted, all commit
        _every_kind_of_write(crm, log, leads)
    after = _committed(engine)
    assert len(after["Task"]) == 1 + 1 + 3 + 1 and len(after["Lead"]) == 3 and len(after["decisions"]) == 3
    assert after["Lead"][leads[0]]["Lead_Score__c"] == 70.0


def _create(crm: LocalCRM, leads: list[str]) -> Callable[[Seen], bool]:
    task_id = crm.create(Task(Subject="Call"))
    return lambda seen: seen["Task"][task_id]["Subject"] == "Call"


def _bulk_create(crm: LocalCRM, leads: list[str]) -> Callable[[Seen], bool]:
    results = crm.bulk_create([Task(Subject=f"Mail {i}") for i in range(3)])
    return lambda seen: all(r.success and r.id in seen["Task"] for r in results)


def _upsert_new(crm: LocalCRM, leads: list[str]) -> Callable[[Seen], bool]:
    result = crm.upsert("Task", "Revloops_Key__c", "engage:new", {"Subject": "Sequence"})
    return lambda seen: result.created and seen["Task"][str(result.id)]["Revloops_Key__c"] == "engage:new"


def _update(crm: LocalCRM, leads: list[str]) -> Callable[[Seen], bool]:
    crm.update("Lead", leads[0], {"Status": "Working"})
    return lambda seen: seen["Lead"][leads[0]]["Status"] == "Working"


def _bulk_update(crm: LocalCRM, leads: list[str]) -> Callable[[Seen], bool]:
    results = crm.bulk_update("Lead", [(i, {"Status": "Working"}) for i in leads])
    return lambda seen: all(r.success for r in results) and all(seen["Lead"][i]["Status"] == "Working" for i in leads)


def _delete(crm: LocalCRM, leads: list[str]) -> Callable[[Seen], bool]:
    crm.delete("Lead", leads[0])
    return lambda seen: leads[0] not in seen["Lead"] and leads[1] in seen["Lead"]


def _bulk_delete(crm: LocalCRM, leads: list[str]) -> Callable[[Seen], bool]:
    results = crm.bulk_delete("Lead", leads)
    return lambda seen: all(r.success for r in results) and not set(leads) & set(seen["Lead"])


#: each write of the embedded CRM, answering a check of what a fresh connection sees once the unit committed
WRITES = {"create": _create, "bulk_create": _bulk_create, "upsert a new record": _upsert_new, "update": _update,
          "bulk_update": _bulk_update, "delete": _delete, "bulk_delete": _bulk_delete}


@pytest.mark.parametrize("write", list(WRITES))
def test_a_crm_write_inside_a_unit_never_waits_on_the_busy_timeout(sqlite_engine: sa.Engine, write: str) -> None:
    crm, log = LocalCRM(sqlite_engine), SqlDecisionStore(sqlite_engine)
    leads = [crm.create(_lead(f"Person{i}")) for i in range(3)]
    with SqlUnitOfWork(sqlite_engine, joins_crm=True).together():
        log.record(_decision(leads[0]))  # the unit holds the write lock from here on
        check = WRITES[write](crm, leads)  # on a second connection this failed: "database is locked"
    seen = _committed(sqlite_engine)
    assert check(seen) and len(seen["decisions"]) == 1


def test_a_rejected_write_inside_a_unit_leaves_the_rest_of_it_to_commit(engine: sa.Engine) -> None:
    crm, log, uow = LocalCRM(engine), SqlDecisionStore(engine), SqlUnitOfWork(engine, joins_crm=True)
    lead_id = crm.create(_lead("Okafor"))
    with uow.together():
        first = crm.create(Task(Subject="One", Revloops_Key__c="k1"))
        with pytest.raises(RecordRejected) as info:
            crm.create(Task(Subject="One again", Revloops_Key__c="k1"))
        assert info.value.status_code == "DUPLICATE_VALUE"
        results = crm.bulk_create([Task(Subject="Two", Revloops_Key__c="k2"),
                                   Task(Subject="One, a third time", Revloops_Key__c="k1"),
                                   Task(Subject="Three", Revloops_Key__c="k3")])
        assert [r.success for r in results] == [True, False, True]
        assert results[1].errors[0].status_code == "DUPLICATE_VALUE"
        log.record(_decision(lead_id))
    tasks = _committed(engine)["Task"]
    assert sorted(t["Revloops_Key__c"] for t in tasks.values()) == ["k1", "k2", "k3"]
    assert tasks[first]["Subject"] == "One"
    assert [d.record_id for d in log.for_record(lead_id)] == [lead_id]


def test_nested_blocks_join_the_outer_one(engine: sa.Engine) -> None:
    crm, uow = LocalCRM(engine), SqlUnitOfWork(engine, joins_crm=True)
    before = _committed(engine)
    with pytest.raises(RuntimeError), uow.together():
        with uow.together():
            crm.create(_lead("Inner"))
        crm.create(_lead("Outer"))
        raise RuntimeError("the outer block failed after the inner one ended")
    assert _committed(engine) == before


def test_without_the_crm_each_write_stands_alone(engine: sa.Engine) -> None:
    crm, log, uow = LocalCRM(engine), SqlDecisionStore(engine), SqlUnitOfWork(engine, joins_crm=False)
    lead_id = crm.create(_lead("Okafor"))
    with pytest.raises(RuntimeError), uow.together():
        task_id = crm.create(Task(Subject="Call Okafor", WhoId=lead_id))
        crm.update("Lead", lead_id, {"Lead_Score__c": 70.0})
        decided = log.record(_decision(lead_id))
        raise RuntimeError("the step failed after its writes")
    seen = _committed(engine)
    assert task_id in seen["Task"] and seen["Lead"][lead_id]["Lead_Score__c"] == 70.0
    assert decided.id in seen["decisions"]


DAY = dt.date(2026, 11, 30)
MEMBERS = [Candidate("005A", 1.0), Candidate("005B", 1.0)]


def test_a_rotation_claim_inside_a_unit_that_loses_a_race_retries_within_it(engine: sa.Engine) -> None:
    """Another unit creates the pool's row while this one claims the pool's first slot: this claim's insert
    fails (on Postgres after waiting for the other to commit) and is retried inside the same unit."""
    rotation, crm, uow = SqlRotation(engine), LocalCRM(engine), SqlUnitOfWork(engine, joins_crm=True)
    other_claimed, done = threading.Event(), threading.Event()
    taken: list[str | None] = []

    def other() -> None:
        with uow.together():
            taken.append(rotation.claim("smb", MEMBERS, DAY))
            other_claimed.set()
            done.wait(timeout=0.2)  # holds the new pool row uncommitted a moment (no result depends on it)

    thread = threading.Thread(target=other)
    thread.start()
    assert other_claimed.wait(timeout=30)
    if engine.dialect.name == "sqlite":
        done.set()  # the other unit holds SQLite's write lock: let it commit rather than wait it out
    with uow.together():
        lead_id = crm.create(_lead("Okafor"))
        mine = rotation.claim("smb", MEMBERS, DAY)
        crm.update("Lead", lead_id, {"OwnerId": mine})
    thread.join(timeout=30)
    assert {taken[0], mine} == {"005A", "005B"}  # one slot each, none twice
    assert _committed(engine)["Lead"][lead_id]["OwnerId"] == mine
    assert rotation.state("smb")[1] == 2
