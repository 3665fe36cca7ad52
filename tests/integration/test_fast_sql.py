"""Prepared statements on the driver's cursor and SQLAlchemy's own execution agree, both ways, on SQLite and
Postgres: what one writes the other reads back unchanged (JSON, time stamps, numbers, text, nulls)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.db import open_database
from revloops.adapters.sql.decisions import SqlDecisionStore
from revloops.adapters.sql.fast import FastSQL, fast_sql
from revloops.adapters.sql.tables import SOBJECT_TABLES, decisions
from revloops.core.decisions import Decision
from revloops.core.records import Lead
from revloops.testing.postgres import PostgresServer
from tests.support.postgres import postgres  # noqa: F401  (the fixture)

LEADS = SOBJECT_TABLES["Lead"]
_ids = itertools.count()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False, width=32),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
moments = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 1, 1),
                       timezones=st.just(dt.UTC))


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        eng = open_database(f"sqlite:///{tmp_path / 'state.sqlite'}")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        server.reset()
        eng = open_database(server.url())
    yield eng
    eng.dispose()


def _decision(outcome: str, detail: Any, trace: Any, at: dt.datetime) -> dict[str, Any]:
    return {"id": f"dec_{next(_ids)}", "loop": "qualify", "sobject": "Lead", "record_id": f"00Q{next(_ids)}",
            "outcome": outcome, "detail": detail, "trace": trace, "explanation": outcome[::-1],
            "config_version": "v1", "inputs_digest": "d", "actor": "test", "created_at": at}


def _same_moment(a: dt.datetime, b: dt.datetime) -> bool:
    return (a if a.tzinfo else a.replace(tzinfo=dt.UTC)) == (b if b.tzinfo else b.replace(tzinfo=dt.UTC))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outcome=texts, detail=json_values, trace=json_values, at=moments)
def test_a_row_written_either_way_reads_back_the_same_either_way(engine: sa.Engine, outcome: str, detail: Any,
                                                                  trace: Any, at: dt.datetime) -> None:
    sql = fast_sql(engine)
    by_id = sql.prepare("test.get", lambda: sa.select(decisions).where(decisions.c.id == sa.bindparam("id")))
    insert = sql.prepare("test.insert", decisions.insert)
    fast_row, core_row = _decision(outcome, detail, trace, at), _decision(outcome, detail, trace, at)
    with sql.unit(write=True) as unit:
        unit.execute(insert, fast_row)
    with engine.begin() as conn:
        conn.execute(decisions.insert(), core_row)
    for row in (fast_row, core_row):
        with engine.connect() as conn:
            via_core = dict(conn.execute(sa.select(decisions).where(decisions.c.id == row["id"])).one()._mapping)
        with sql.unit() as unit:
            via_fast = unit.first(by_id, {"id": row["id"]})
        assert via_fast is not None
        for got in (via_core, via_fast):
            assert {k: got[k] for k in row if k != "created_at"} == {k: v for k, v in row.items() if k != "created_at"}
            assert _same_moment(got["created_at"], at)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(score=st.floats(-1e6, 1e6, allow_nan=False) | st.none(), reasons=texts | st.none(),
       employees=st.integers(0, 2**31 - 1) | st.none())
def test_an_update_of_some_columns_sets_those_and_only_those(engine: sa.Engine, score: float | None,
                                                              reasons: str | None, employees: int | None) -> None:
    sql = fast_sql(engine)
    lead_id = f"00Q{next(_ids):015d}"
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(LEADS.insert(), {"Id": lead_id, "LastName": "Okafor", "Company": "Acme", "Status": "Open",
                                      "CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now})
    changes = {"Lead_Score__c": score, "Score_Reasons__c": reasons, "NumberOfEmployees": employees}
    update = sql.prepare("test.update", lambda: LEADS.update().where(LEADS.c.Id == sa.bindparam("id_")),
                         column_keys=tuple(changes))
    with sql.unit(write=True) as unit:
        assert unit.execute(update, {"id_": lead_id, **changes}) == 1
        assert unit.execute(update, {"id_": "00Q_no_such_lead", **changes}) == 0
    with engine.connect() as conn:
        row = conn.execute(sa.select(LEADS).where(LEADS.c.Id == lead_id)).one()._mapping
    assert (row["Lead_Score__c"], row["Score_Reasons__c"], row["NumberOfEmployees"]) == (score, reasons, employees)
    assert (row["LastName"], row["Company"]) == ("Okafor", "Acme")


def test_a_unit_that_raises_writes_nothing_and_duplicates_raise_the_drivers_integrity_error(engine: sa.Engine) -> None:
    sql = fast_sql(engine)
    insert = sql.prepare("test.insert", decisions.insert)
    first = _decision("mql", {"a": 1}, [], dt.datetime.now(dt.UTC))
    with pytest.raises(RuntimeError), sql.unit(write=True) as unit:
        unit.execute(insert, first)
        raise RuntimeError("the step failed after its first write")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(decisions)).scalar_one() == 0
    with sql.unit(write=True) as unit:
        unit.execute(insert, first)
    with pytest.raises(sql.IntegrityError), sql.unit(write=True) as unit:
        unit.execute(insert, {**first, "outcome": "nurture"})
    with engine.connect() as conn:
        assert conn.execute(sa.select(decisions.c.outcome)).scalars().all() == ["mql"]


def test_many_rows_and_all_answer_in_order(engine: sa.Engine) -> None:
    sql = fast_sql(engine)
    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    rows = [_decision(f"o{i}", {"i": i}, [i], at + dt.timedelta(minutes=i)) for i in range(5)]
    with sql.unit(write=True) as unit:
        unit.execute_many(sql.prepare("test.insert", decisions.insert), rows)
    newest = sql.prepare("test.newest", lambda: sa.select(decisions.c.outcome, decisions.c.detail)
                         .order_by(decisions.c.created_at.desc()).limit(sa.bindparam("n")))
    with sql.unit() as unit:
        assert unit.all(newest, {"n": 3}) == [{"outcome": f"o{i}", "detail": {"i": i}} for i in (4, 3, 2)]
        assert unit.all(sql.prepare("test.none", lambda: sa.select(decisions.c.id).where(decisions.c.id == "x"))) == []


def test_one_compiled_statement_per_engine_and_key(tmp_path: Path) -> None:
    one = open_database(f"sqlite:///{tmp_path / 'a.sqlite'}")
    two = open_database(f"sqlite:///{tmp_path / 'b.sqlite'}")
    assert fast_sql(one) is fast_sql(one) and fast_sql(one) is not fast_sql(two)
    build = lambda: sa.select(decisions.c.id)  # noqa: E731
    assert fast_sql(one).prepare("test.ids", build) is fast_sql(one).prepare("test.ids", build)
    assert isinstance(fast_sql(two), FastSQL)
    one.dispose()
    two.dispose()


def _score_decision(lead_id: str) -> Decision:
    return Decision(loop="qualify", sobject="Lead", record_id=lead_id, outcome="mql", explanation="MQL: 70 points",
                    config_version="v1", inputs_digest="d", actor="test")


def test_writes_together_commit_as_one_or_not_at_all(engine: sa.Engine) -> None:
    crm, decisions_log, sql = LocalCRM(engine), SqlDecisionStore(engine), fast_sql(engine)
    lead_id = crm.create(Lead(LastName="Okafor", Company="Acme", Status="Open"))
    with pytest.raises(RuntimeError), sql.together():
        crm.update("Lead", lead_id, {"Lead_Score__c": 70.0})
        decisions_log.record(_score_decision(lead_id))
        raise RuntimeError("the step failed after both writes")
    assert getattr(crm.get("Lead", lead_id), "Lead_Score__c", None) is None
    assert decisions_log.for_record(lead_id) == []
    with sql.together():
        crm.update("Lead", lead_id, {"Lead_Score__c": 70.0})
        decided = decisions_log.record(_score_decision(lead_id))
        assert getattr(crm.get("Lead", lead_id), "Lead_Score__c", None) == 70.0  # reads inside see the writes
    with engine.connect() as conn:  # and, committed, so does everyone else
        assert conn.execute(sa.select(LEADS.c.Lead_Score__c).where(LEADS.c.Id == lead_id)).scalar_one() == 70.0
    assert [d.id for d in decisions_log.for_record(lead_id)] == [decided.id]
