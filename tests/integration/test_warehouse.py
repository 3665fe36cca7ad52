"""The revenue warehouse: loads, incremental refreshes that equal a full load, resumes, metrics, scope.

The warehouse is loaded from a seeded copy of the example org through the same ports the CLI uses. The
property that matters most is that an incremental refresh after any mix of changes leaves exactly what a full
load from scratch leaves (hypothesis drives the changes).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revloops.adapters.warehouse.duck import DuckWarehouse
from revloops.app import Caller, app_on
from revloops.bootstrap import Platform, build
from revloops.core.decisions import Decision
from revloops.core.errors import ConfigErrors, Forbidden, InputError, NotFound
from revloops.core.records import Lead, Task
from revloops.loops.coach.views import FACTS, VIEWS
from revloops.loops.coach.warehouse import refresh
from revloops.ports.crm import Query
from revloops.ports.warehouse import Source, WarehouseSources
from tests.integration.conftest import EXAMPLE

AS_OF = dt.date(2025, 1, 15)
OPS = Caller.operator("test")


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("warehouse")
    config = root / "config"
    shutil.copytree(EXAMPLE, config)
    plat = build(config=config, db=f"sqlite:///{root / 'state.sqlite'}", state_dir=root, warehouse_as_of=AS_OF)
    app_on(plat).seed_org(OPS, users=8, accounts=80, leads=200, seed=5)
    yield plat
    plat.close()


def _load(plat: Platform, path: Path, *, full: bool = False, sources: WarehouseSources | None = None) -> dict[str, int]:
    wh = DuckWarehouse(path)
    try:
        report = refresh(sources or plat.warehouse_sources, wh, plat.config, full=full, as_of=AS_OF)
    finally:
        wh.close()
    assert report.problems == []
    return {r.table: r.read for r in report.loads}


def _snapshot(plat: Platform, path: Path) -> dict[str, pl.DataFrame]:
    wh = DuckWarehouse(path, read_only=True)
    try:
        tables = {s.table: wh.query(f'SELECT * FROM "{s.table}" ORDER BY {", ".join(s.key)}')
                  for s in plat.warehouse_sources.sources()}
        facts = {f.table: wh.query(f'SELECT * FROM "{f.table}" ORDER BY "{f.key}"') for f in FACTS}
        return tables | facts
    finally:
        wh.close()


def _same(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for table in a:
        assert a[table].equals(b[table]), f"{table} differs"


def test_a_first_refresh_loads_every_source_and_builds_every_view(org: Platform, tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    read = _load(org, path)
    leads = sum(1 for _ in org.crm.query_all(Query("Lead")))
    assert read["crm_lead"] == leads > 0
    wh = DuckWarehouse(path, read_only=True)
    try:
        names = {t.name: t for t in wh.tables()}
        assert {v.name for v in VIEWS} <= set(names)
        assert names["crm_lead"].rows == leads
        decisions = wh.query("SELECT count(*) AS n FROM decisions")["n"][0]
        assert decisions == len(org.decisions.recent(limit=1_000_000))
        # every view answers
        for view in VIEWS:
            wh.query(f"SELECT * FROM {view.name} LIMIT 1")
    finally:
        wh.close()


def test_a_second_refresh_reads_only_the_rows_at_the_last_mark(org: Platform, tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    _load(org, path)
    before = _snapshot(org, path)
    again = _load(org, path)
    # at most the rows sharing the highest watermark are read again (a re-read replaces them by key)
    assert again["crm_lead"] <= 5 and again["decisions"] <= 5
    _same(before, _snapshot(org, path))


_changes = st.lists(st.sampled_from(["update_lead", "new_lead", "touch", "decide", "stage", "opp_task", "account",
                                     "refresh"]), min_size=1, max_size=8)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=_changes, seed=st.integers(0, 10_000))
def test_incremental_refreshes_after_any_changes_equal_a_full_load(org: Platform, tmp_path_factory:
                                                                   pytest.TempPathFactory, changes: list[str],
                                                                   seed: int) -> None:
    root = tmp_path_factory.mktemp("prop")
    incremental, full = root / "incremental.duckdb", root / "full.duckdb"
    _load(org, incremental)
    leads = [lead.Id for lead in org.crm.query_all(Query("Lead", limit=50)) if lead.Id]
    opps = [o.Id for o in org.crm.query_all(Query("Opportunity", limit=50)) if o.Id and not o.IsClosed]
    accounts = [a.Id for a in org.crm.query_all(Query("Account", limit=50)) if a.Id]
    stages = ["Qualification", "Discovery", "Proposal", "Negotiation"]
    for i, change in enumerate(changes):
        pick = leads[(seed + i * 7) % len(leads)]
        opp = opps[(seed + i * 3) % len(opps)]
        if change == "update_lead":
            org.crm.update("Lead", pick, {"Status": "Working - Contacted", "Rating": f"r{seed % 5}"})
        elif change == "new_lead":
            org.crm.create(Lead(LastName=f"Prop{seed}-{i}", Company=f"Prop Co {seed}"))
        elif change == "touch":
            org.crm.create(Task(Subject="Call", WhoId=pick, Status="Completed", Type="Call"))
        elif change == "stage":
            org.crm.update("Opportunity", opp, {"StageName": stages[(seed + i) % len(stages)]})
        elif change == "opp_task":
            org.crm.create(Task(Subject="Demo", WhatId=opp, Status="Completed", Type="Meeting"))
        elif change == "account":
            org.crm.update("Account", accounts[(seed + i) % len(accounts)], {"NumberOfEmployees": (seed * 37) % 5000})
        elif change == "decide":
            org.decisions.record(Decision(loop="route", sobject="Lead", record_id=pick, outcome="pending:test",
                                          config_version="test", inputs_digest="sha256:test"))
        else:
            _load(org, incremental)
    _load(org, incremental)
    _load(org, full, full=True)
    _same(_snapshot(org, incremental), _snapshot(org, full))


class _Failing(WarehouseSources):
    """The real sources, but reading ``broken`` fails half way through (a crash mid-refresh)."""

    def __init__(self, inner: WarehouseSources, broken: str) -> None:
        self.inner, self.broken = inner, broken

    def sources(self) -> list[Source]:
        return self.inner.sources()

    def schema(self, source: Source) -> pl.Schema:
        return self.inner.schema(source)

    def count(self, source: Source) -> int | None:
        return self.inner.count(source)

    def read(self, source: Source, since: dt.datetime | None) -> Iterator[pl.DataFrame]:
        for frame in self.inner.read(source, since):
            if source.table == self.broken:
                yield frame.head(1)
                raise ConnectionError("the source went away")
            yield frame


def test_a_refresh_stopped_half_way_keeps_what_it_loaded_and_the_next_one_finishes(org: Platform,
                                                                                    tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    with pytest.raises(ConnectionError):
        _load(org, path, sources=_Failing(org.warehouse_sources, "crm_lead"))
    wh = DuckWarehouse(path)
    try:
        marks = wh.marks()
    finally:
        wh.close()
    assert "crm_user" in marks and "crm_lead" not in marks  # loaded before the crash / rolled back
    read = _load(org, path)
    assert read["crm_lead"] == sum(1 for _ in org.crm.query_all(Query("Lead")))  # whole: it had no mark
    assert read["crm_user"] <= 3  # from its mark on
    full = tmp_path / "full.duckdb"
    _load(org, full, full=True)
    _same(_snapshot(org, path), _snapshot(org, full))


class _Narrow(_Failing):
    """The real sources with one column of the leads left out (a schema from before a field existed)."""

    def __init__(self, inner: WarehouseSources) -> None:
        super().__init__(inner, broken="")

    def schema(self, source: Source) -> pl.Schema:
        schema = self.inner.schema(source)
        return pl.Schema({k: v for k, v in schema.items() if not (source.table == "crm_lead" and k == "Rating")})

    def read(self, source: Source, since: dt.datetime | None) -> Iterator[pl.DataFrame]:
        for frame in self.inner.read(source, since):
            yield frame.drop("Rating") if source.table == "crm_lead" else frame


def test_a_source_whose_columns_changed_is_loaded_whole(org: Platform, tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    _load(org, path, sources=_Narrow(org.warehouse_sources))
    read = _load(org, path)
    assert read["crm_lead"] == sum(1 for _ in org.crm.query_all(Query("Lead")))
    wh = DuckWarehouse(path, read_only=True)
    try:
        assert "Rating" in wh.query("SELECT * FROM crm_lead LIMIT 1").columns
    finally:
        wh.close()


def test_full_refresh_drops_records_deleted_at_the_source(org: Platform, tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    gone = org.crm.create(Lead(LastName="Gone", Company="Deleted Co"))
    _load(org, path)
    org.crm.delete("Lead", gone)
    _load(org, path)
    wh = DuckWarehouse(path, read_only=True)
    try:
        assert wh.query("SELECT count(*) AS n FROM crm_lead WHERE Id = ?", [gone])["n"][0] == 1  # not seen yet
    finally:
        wh.close()
    _load(org, path, full=True)
    wh = DuckWarehouse(path, read_only=True)
    try:
        assert wh.query("SELECT count(*) AS n FROM crm_lead WHERE Id = ?", [gone])["n"][0] == 0
    finally:
        wh.close()


# -- metrics through the application ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def loaded(org: Platform) -> Platform:
    app_on(org).refresh_warehouse(OPS, full=True)
    return org


def test_win_rate_by_count_and_by_amount_match_the_records(loaded: Platform) -> None:
    app = app_on(loaded)
    count = app.metric(OPS, "win_rate_by_count", grain=None)
    amount = app.metric(OPS, "win_rate_by_amount", grain=None)
    closed = [o for o in loaded.crm.query_all(Query("Opportunity"))
              if o.IsClosed and (o.Type or "New Business") == "New Business"]
    won = [o for o in closed if o.IsWon]
    assert closed, "the seed should close some new-business deals"
    assert count.rows[0]["value"] == pytest.approx(len(won) / len(closed))
    assert amount.rows[0]["value"] == pytest.approx(sum(o.Amount or 0 for o in won)
                                                    / sum(o.Amount or 0 for o in closed))
    assert count.rows[0]["numerator"] == len(won) and count.rows[0]["denominator"] == len(closed)


def test_leads_by_owner_match_the_records_and_a_rep_sees_only_their_own(loaded: Platform) -> None:
    app = app_on(loaded)
    rep_id = next(u.Id for u in loaded.crm.query_all(Query("User")) if u.Id and u.Sales_Role__c)
    for lead in list(loaded.crm.query_all(Query("Lead", limit=3))):
        loaded.crm.update("Lead", str(lead.Id), {"OwnerId": rep_id})
    app.refresh_warehouse(OPS)
    by_owner = app.metric(OPS, "leads", grain=None, by=["owner_id"])
    expected: dict[str | None, int] = {}
    for lead in loaded.crm.query_all(Query("Lead")):
        expected[lead.OwnerId] = expected.get(lead.OwnerId, 0) + 1
    assert {r["owner_id"]: r["value"] for r in by_owner.rows} == expected
    rep = Caller(user_id=rep_id, tier="rep", name="rep")
    mine = app.metric(rep, "leads", grain=None, by=["owner_id"])
    assert mine.scoped and {r["owner_id"] for r in mine.rows} == {rep_id}
    with pytest.raises(Forbidden):
        app.metric(rep, "arr", grain="month")


def test_a_metric_refuses_dimensions_and_grains_it_does_not_have(loaded: Platform) -> None:
    app = app_on(loaded)
    with pytest.raises(InputError, match="cannot be broken down"):
        app.metric(OPS, "leads", by=["Email"])
    with pytest.raises(InputError, match="grain"):
        app.metric(OPS, "leads", grain="fortnight")
    with pytest.raises(NotFound, match="no metric"):
        app.metric(OPS, "nope")
    # a filter value is a parameter, never SQL
    hostile = app.metric(OPS, "leads", grain=None, where={"source": "x' OR '1'='1"})
    assert hostile.rows in ([], [{"value": 0}])


def test_read_only_sql_answers_queries_and_refuses_writes(loaded: Platform) -> None:
    app = app_on(loaded)
    answer = app.run_sql(OPS, "SELECT count(*) AS n FROM crm_lead")
    assert answer.rows[0][0] == sum(1 for _ in loaded.crm.query_all(Query("Lead")))
    with pytest.raises(InputError):
        app.run_sql(OPS, "DELETE FROM crm_lead")
    with pytest.raises(Forbidden):
        app.run_sql(Caller(user_id=None, tier="manager", name="m"), "SELECT 1")


def test_a_bad_definition_is_a_config_error_at_its_line(tmp_path: Path) -> None:
    from revloops.config.loader import load_config

    config = tmp_path / "config"
    shutil.copytree(EXAMPLE, config)
    path = config / "coach" / "metrics.yaml"
    text = path.read_text()
    path.write_text(text + "  - {id: broken, label: Broken, view: lead_facts, measure: \"sum(no_such_column)\"}\n"
                    "  - {id: loop_a, label: A, type: ratio, numerator: loop_b, denominator: leads}\n"
                    "  - {id: loop_b, label: B, type: ratio, numerator: loop_a, denominator: leads}\n")
    lines = path.read_text().splitlines()
    with pytest.raises(ConfigErrors) as caught:
        load_config(config)
    errors = [str(e) for e in caught.value.errors]
    broken_line = next(i for i, line in enumerate(lines, 1) if "id: broken" in line)
    assert any(f"metrics.yaml:{broken_line}" in e and "no_such_column" in e for e in errors), errors
    assert any("refers to itself" in e for e in errors), errors


def test_the_engine_refreshes_the_warehouse_on_its_schedule_when_a_cadence_is_set(org: Platform) -> None:
    from dbos import DBOS

    from revloops.chains.warehouse import refresh_due, refresh_run
    from revloops.engine import setup
    from revloops.engine.registry import start_once

    assert refresh_due(dt.datetime(2025, 1, 15, 10, 30, tzinfo=dt.UTC), 15)
    assert not refresh_due(dt.datetime(2025, 1, 15, 10, 31, tzinfo=dt.UTC), 15)
    org.settings.warehouse_refresh_minutes = 15
    org.settings.warehouse = org.settings.state_dir / "scheduled.duckdb"
    setup.launch(org)
    try:
        assert DBOS.get_schedule("warehouse-refresh") is not None
        done = start_once("warehouse-refresh-test", refresh_run, "2025-01-15T10:30:00+00:00").get_result()
    finally:
        setup.shutdown()
        org.settings.warehouse_refresh_minutes = None
    assert done["read"] > 0 and done["problems"] == []
    wh = DuckWarehouse(org.settings.warehouse_path, read_only=True)
    try:
        assert wh.query("SELECT count(*) AS n FROM crm_lead")["n"][0] == sum(1 for _ in org.crm.query_all(Query("Lead")))
    finally:
        wh.close()
        org.settings.warehouse = None
    setup.launch(org)  # without a cadence the schedule is removed
    try:
        assert DBOS.get_schedule("warehouse-refresh") is None
    finally:
        setup.shutdown()
