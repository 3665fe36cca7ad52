"""The embedded CRM's columnar reader: every way it reads (in process, a child process for large SQLite files,
connectorx on Postgres) answers the same frames as the records themselves, and reading never disturbs writers."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.columns import read_frames
from revloops.adapters.sql.db import open_database
from revloops.adapters.sql.tables import SOBJECT_TABLES
from revloops.core.errors import InputError
from revloops.core.frames import frame_schema, records_to_frame
from revloops.core.records import Lead
from revloops.ports.crm import Query
from revloops.testing.postgres import PostgresServer
from tests.support.postgres import postgres  # noqa: F401  (the fixture)

COLUMNS = ["Id", "Company", "Email", "NumberOfEmployees", "AnnualRevenue", "IsConverted", "ConvertedDate",
           "CreatedDate", "Lead_Score__c"]


def _leads(n: int) -> list[Lead]:
    out = []
    for i in range(n):
        out.append(Lead(LastName=f"L{i}", Company="O'Brien, \"Ltd\"\n" if i % 7 == 0 else f"Co {i % 13}",
                        Email=None if i % 5 == 0 else f"p{i}@co{i % 13}.example",
                        NumberOfEmployees=None if i % 3 == 0 else i * 11, AnnualRevenue=None if i % 4 else i * 1.5,
                        IsConverted=i % 2 == 0, ConvertedDate=dt.date(2026, 1, 1 + i % 28) if i % 6 == 0 else None,
                        Lead_Score__c=float(i % 100)))
    return out


def _expected(crm: LocalCRM) -> pl.DataFrame:
    return records_to_frame("Lead", list(crm.query_all(Query("Lead"))), COLUMNS).sort("Id")


@pytest.fixture
def sqlite_crm(tmp_path: Path) -> Iterator[LocalCRM]:
    engine = open_database(f"sqlite:///{tmp_path / 'state.sqlite'}")
    crm = LocalCRM(engine)
    crm.bulk_create(_leads(700))
    yield crm
    engine.dispose()


@pytest.mark.parametrize("child_rows", [0, 10**9], ids=["child-process", "in-process"])
def test_sqlite_frames_equal_the_records(sqlite_crm: LocalCRM, child_rows: int) -> None:
    frames = list(read_frames(sqlite_crm.engine, SOBJECT_TABLES["Lead"], "Lead", COLUMNS, chunk_rows=256,
                              child_rows=child_rows))
    assert [f.height for f in frames] == [256, 256, 188]
    assert all(f.schema == frame_schema("Lead", COLUMNS) for f in frames)
    assert pl.concat(frames).sort("Id").equals(_expected(sqlite_crm))


def test_a_limit_and_an_unknown_column(sqlite_crm: LocalCRM) -> None:
    got = list(read_frames(sqlite_crm.engine, SOBJECT_TABLES["Lead"], "Lead", ["Id"], chunk_rows=100, limit=250,
                           child_rows=0))
    assert [f.height for f in got] == [100, 100, 50]
    with pytest.raises(InputError) as err:
        list(sqlite_crm.read_columns("Lead", ["Id", "Colour__c"]))
    assert err.value.field == "Colour__c"


def test_a_child_read_while_the_process_writes_loses_no_write(sqlite_crm: LocalCRM) -> None:
    """Two copies of SQLite in one process break each other's locks; the child process keeps its own."""
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(60):
                sqlite_crm.create(Lead(LastName=f"W{i}", Company="Writer"))
        except BaseException as exc:  # noqa: BLE001 - the test reports what the writer met
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    for _ in range(3):
        for _frame in read_frames(sqlite_crm.engine, SOBJECT_TABLES["Lead"], "Lead", COLUMNS, chunk_rows=200,
                                  child_rows=0):
            pass
    writer.join()
    assert errors == []
    assert sum(1 for _ in sqlite_crm.query_all(Query("Lead", ()))) == 760


def test_postgres_frames_equal_the_records(postgres: PostgresServer) -> None:  # noqa: F811
    postgres.reset()
    engine = open_database(postgres.url())
    crm = LocalCRM(engine)
    crm.bulk_create(_leads(500))
    frames = list(crm.read_columns("Lead", COLUMNS, chunk_rows=128))
    assert [f.height for f in frames] == [128, 128, 128, 116]
    assert all(f.schema == frame_schema("Lead", COLUMNS) for f in frames)
    assert pl.concat(frames).sort("Id").equals(_expected(crm))
    engine.dispose()


def _shuffle_creation(crm: LocalCRM) -> pl.DataFrame:
    """Creation times against the insertion order (as a load of an old export leaves them), a few missing; the
    expected frame in creation order, records without a creation time last."""
    import sqlalchemy as sa

    table = SOBJECT_TABLES["Lead"]
    with crm.engine.begin() as conn:
        ids = sorted(row[0] for row in conn.execute(sa.select(table.c.Id)))
        for i, record_id in enumerate(ids):
            when = None if i % 50 == 0 else dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=(i * 37) % 500)
            conn.execute(table.update().where(table.c.Id == record_id).values(CreatedDate=when))
    return _expected(crm).sort(["CreatedDate", "Id"], nulls_last=True)


@pytest.mark.parametrize("child_rows", [0, 10**9], ids=["child-process", "in-process"])
def test_sqlite_reads_in_creation_order(sqlite_crm: LocalCRM, child_rows: int) -> None:
    expected = _shuffle_creation(sqlite_crm)
    frames = list(read_frames(sqlite_crm.engine, SOBJECT_TABLES["Lead"], "Lead", COLUMNS, chunk_rows=128,
                              created_order=True, child_rows=child_rows))
    assert pl.concat(frames).equals(expected)


def test_postgres_reads_in_creation_order(postgres: PostgresServer) -> None:  # noqa: F811
    postgres.reset()
    engine = open_database(postgres.url())
    crm = LocalCRM(engine)
    crm.bulk_create(_leads(300))
    expected = _shuffle_creation(crm)
    assert pl.concat(list(crm.read_columns("Lead", COLUMNS, chunk_rows=64, created_order=True))).equals(expected)
    engine.dispose()
