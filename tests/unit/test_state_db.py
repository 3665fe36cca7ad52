"""The state database: created when missing, migrated when older, decisions kept and read back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from revloops.adapters.sql import db
from revloops.adapters.sql.decisions import SqlDecisionStore
from revloops.core.decisions import Decision, digest, new_decision_id
from revloops.core.errors import NotFound


def test_missing_database_is_created_at_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'state.sqlite'}"
    engine = db.open_database(url)
    assert db.current_revisions(engine) == db.head_revisions()
    assert "decisions" in sa.inspect(engine).get_table_names()


def test_older_database_is_migrated_keeping_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = db.make_engine(url)
    db.upgrade(old, "0001")
    assert "decisions" not in sa.inspect(old).get_table_names()
    with old.begin() as conn:
        conn.execute(sa.text("INSERT INTO sf_lead (\"Id\", \"LastName\", \"Company\") VALUES ('00Q8d0000000001AAA', 'Ng', 'Acme')"))
    engine = db.open_database(url)
    assert db.current_revisions(engine) == db.head_revisions()
    with engine.connect() as conn:
        assert conn.execute(sa.text('SELECT "LastName" FROM sf_lead')).scalar_one() == "Ng"


def test_schema_matches_the_models(tmp_path: Path) -> None:
    """A field added to a record without a migration is caught here."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from revloops.adapters.sql.tables import metadata

    engine = db.open_database(f"sqlite:///{tmp_path / 's.sqlite'}")
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diffs == []


def _decision(record_id: str, outcome: str, when: dt.datetime) -> Decision:
    return Decision(
        loop="route", sobject="Lead", record_id=record_id, outcome=outcome, trace=[{"rule_id": "r", "matched": True}],
        explanation="Matched r", config_version="abc", inputs_digest=digest({"x": 1}), created_at=when,
    )


def test_decisions_round_trip_and_latest_first(tmp_path: Path) -> None:
    store = SqlDecisionStore(db.open_database(f"sqlite:///{tmp_path / 's.sqlite'}"))
    t0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    first = store.record(_decision("00Q1", "005A", t0))
    second = store.record(_decision("00Q1", "005B", t0 + dt.timedelta(minutes=5)))
    store.record(_decision("00Q2", "005C", t0))
    assert store.get(first.id) == first
    assert [d.outcome for d in store.for_record("00Q1")] == ["005B", "005A"]
    store.record(second)  # the same decision twice is stored once
    assert len(store.for_record("00Q1")) == 2
    with pytest.raises(NotFound):
        store.get("dec_nope")


def test_decision_ids_sort_by_time_and_digest_is_canonical() -> None:
    assert new_decision_id(1000) < new_decision_id(2000)
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
