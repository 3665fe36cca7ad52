"""The embedded CRM's audit fields and OpportunityHistory beyond the port's contract: an update dated by its
change, history written in the write's transaction (and undone with it), rows that go with their deal, batch
updates, upserts, the read-only object refused everywhere, and the migration's backfill."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql import db
from revloops.adapters.sql.fast import fast_sql
from revloops.core.errors import InputError, NotFound, RecordRejected
from revloops.core.records import Opportunity, OpportunityHistory, Task
from revloops.dataio import load_file
from revloops.ports.crm import Filter, Query

PAST = dt.datetime(2024, 3, 4, 9, 30, tzinfo=dt.UTC)
LATER = dt.datetime(2024, 4, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def crm(tmp_path: Path) -> LocalCRM:
    return LocalCRM(db.open_database(f"sqlite:///{tmp_path / 'state.sqlite'}"))


def _deal(crm: LocalCRM, **fields: object) -> str:
    values: dict[str, object] = {"Name": "Deal", "StageName": "Prospecting", "CloseDate": dt.date(2024, 6, 1),
                                 "Amount": 1000.0, "Probability": 10.0, "CreatedDate": PAST, **fields}
    return crm.create(Opportunity.model_validate(values), audit_fields=True)


def _rows(crm: LocalCRM, opp: str) -> list[OpportunityHistory]:
    found = crm.query_all(Query("OpportunityHistory", (Filter("OpportunityId", "eq", opp),),
                                order_by=(("CreatedDate", False),)))
    return [r for r in found if isinstance(r, OpportunityHistory)]


def test_an_audited_update_dates_the_change_and_its_history_row(crm: LocalCRM) -> None:
    opp = _deal(crm)
    before = dt.datetime.now(dt.UTC)
    crm.update("Opportunity", opp, {"StageName": "Qualification", "Probability": 20.0, "LastModifiedDate": LATER},
               audit_fields=True)
    got = crm.get("Opportunity", opp)
    assert (got.CreatedDate, got.LastModifiedDate) == (PAST, LATER)
    assert got.SystemModstamp is not None and got.SystemModstamp >= before  # the write's time, always
    assert [(r.CreatedDate, r.StageName) for r in _rows(crm, opp)] == [(PAST, "Prospecting"), (LATER, "Qualification")]
    with pytest.raises(RecordRejected) as info:  # not asked: a system field, as always
        crm.update("Opportunity", opp, {"LastModifiedDate": LATER})
    assert info.value.status_code == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_audit_dates_must_be_in_order_and_a_completed_task_is_completed_then(crm: LocalCRM) -> None:
    with pytest.raises(RecordRejected) as info:
        crm.create(Task(Subject="Call", CreatedDate=LATER, LastModifiedDate=PAST), audit_fields=True)
    assert list(info.value.fields) == ["LastModifiedDate"]
    done = crm.create(Task(Subject="Call", Status="Completed", CreatedDate=PAST, LastModifiedDate=LATER),
                      audit_fields=True)
    assert crm.get("Task", done).CompletedDateTime == LATER  # type: ignore[attr-defined]


def test_history_commits_and_rolls_back_with_the_update(crm: LocalCRM) -> None:
    opp = _deal(crm)
    with pytest.raises(RuntimeError), fast_sql(crm.engine).together():
        crm.update("Opportunity", opp, {"StageName": "Closed Won", "IsClosed": True, "IsWon": True})
        raise RuntimeError("the step failed after the update")
    assert crm.get("Opportunity", opp).StageName == "Prospecting"  # type: ignore[attr-defined]
    assert [r.StageName for r in _rows(crm, opp)] == ["Prospecting"]
    with fast_sql(crm.engine).together():
        crm.update("Opportunity", opp, {"StageName": "Closed Won", "IsClosed": True, "IsWon": True})
    assert [r.StageName for r in _rows(crm, opp)] == ["Prospecting", "Closed Won"]


def test_batch_updates_write_history_for_tracked_changes_and_fail_alone(crm: LocalCRM) -> None:
    deals = [_deal(crm, Name=f"Deal {i}") for i in range(4)]
    results = crm.bulk_update("Opportunity", [
        (deals[0], {"StageName": "Qualification", "Probability": 20.0}),
        (deals[1], {"Description": "not tracked"}),
        (deals[2], {"Amount": "lots"}),  # refused alone
        ("0068d0000000000AAA", {"StageName": "Qualification"}),  # no such deal
        (deals[3], {"CloseDate": dt.date(2024, 7, 1), "LastModifiedDate": LATER}),
    ], audit_fields=True)
    assert [r.success for r in results] == [True, True, False, False, True]
    assert results[3].errors[0].status_code == "ENTITY_IS_DELETED"
    assert [len(_rows(crm, d)) for d in deals] == [2, 1, 1, 2]
    assert _rows(crm, deals[3])[-1].CloseDate == dt.date(2024, 7, 1) and _rows(crm, deals[3])[-1].CreatedDate == LATER
    assert crm.get("Opportunity", deals[1]).Description == "not tracked"  # type: ignore[attr-defined]


def test_upserts_write_history_and_a_deleted_deal_takes_its_rows(crm: LocalCRM) -> None:
    made = crm.upsert("Opportunity", "External_Id__c", "ext-1", {"Name": "Deal", "StageName": "Prospecting",
                                                                  "CloseDate": "2024-06-01"})
    again = crm.upsert("Opportunity", "External_Id__c", "ext-1", {"StageName": "Needs Analysis"})
    assert made.created and not again.created and made.id == again.id
    opp = made.id or ""
    assert [r.StageName for r in _rows(crm, opp)] == ["Prospecting", "Needs Analysis"]
    row = _rows(crm, opp)[0].Id or ""
    with pytest.raises(RecordRejected):
        crm.delete("OpportunityHistory", row)
    crm.delete("Opportunity", opp)
    assert _rows(crm, opp) == []
    with pytest.raises(NotFound):
        crm.get("OpportunityHistory", row)


def test_history_cannot_be_loaded_from_a_file(crm: LocalCRM, tmp_path: Path) -> None:
    path = tmp_path / "history.csv"
    path.write_text("OpportunityId,StageName\n0068d0000000001AAA,Closed Won\n")
    with pytest.raises(InputError) as info:
        load_file(crm, path, "OpportunityHistory")
    assert "read-only" in info.value.message


def test_the_migration_gives_each_stored_opportunity_its_current_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = db.make_engine(url)
    db.upgrade(old, "0009_signals")
    with old.begin() as conn:
        conn.execute(sa.text('INSERT INTO sf_opportunity ("Id", "Name", "StageName", "Amount", "LastModifiedDate") '
                             "VALUES ('0068d0000000001AAA', 'Old deal', 'Qualification', 500.0, '2024-05-01 10:00:00')"))
    crm = LocalCRM(db.open_database(url))
    [row] = _rows(crm, "0068d0000000001AAA")
    assert (row.StageName, row.Amount, row.CreatedDate) == ("Qualification", 500.0,
                                                            dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC))
    assert row.Id is not None and row.Id.startswith("008")
