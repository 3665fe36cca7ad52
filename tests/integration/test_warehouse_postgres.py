"""The warehouse with Postgres on both sides: loaded from a state database on Postgres (the connectorx path),
and published to a Postgres schema for Hex, where every table and view arrives whole and typed."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from revloops.adapters.warehouse.duck import DuckWarehouse
from revloops.app import Caller, app_on
from revloops.bootstrap import Platform, build
from revloops.core.errors import InputError, UpstreamUnavailable
from revloops.core.records import Lead
from revloops.ports.crm import Query
from revloops.testing.postgres import PostgresServer
from tests.integration.conftest import EXAMPLE
from tests.support.postgres import postgres  # noqa: F401  (the fixture)

OPS = Caller.operator("test")


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer) -> Iterator[Platform]:  # noqa: F811
    postgres.reset()
    root = tmp_path_factory.mktemp("wh-pg")
    shutil.copytree(EXAMPLE, root / "config")
    plat = build(config=root / "config", db=postgres.url(), state_dir=root, warehouse_as_of=dt.date(2025, 1, 15))
    app_on(plat).seed_org(OPS, users=6, accounts=60, leads=150, seed=3)
    yield plat
    plat.close()


def test_a_refresh_reads_a_postgres_state_database_and_a_publish_copies_every_table(
        org: Platform, postgres: PostgresServer) -> None:  # noqa: F811
    app = app_on(org)
    org.crm.create(Lead(LastName="Empty", Company="Blank Co", Title=""))  # an empty string is not a NULL
    loaded = app.refresh_warehouse(OPS, full=True)
    assert loaded.problems == []
    leads = sum(1 for _ in org.crm.query_all(Query("Lead")))
    assert {r.table: r.rows for r in loaded.loads}["crm_lead"] == leads

    published = app.publish_warehouse(OPS, postgres.url(), schema="hex")
    wh = DuckWarehouse(org.settings.warehouse_path, read_only=True)
    try:
        expected = {t.name: wh.query(f'SELECT count(*) AS n FROM "{t.name}"')["n"][0] for t in wh.tables()}
    finally:
        wh.close()
    assert published.tables == expected
    # lead_facts only renames fact_lead: it is published as a view of it, its rows copied once
    assert published.rows == sum(expected.values()) - expected["lead_facts"]
    with psycopg.connect(postgres.url()) as conn:
        count = conn.execute("SELECT count(*) FROM hex.crm_lead").fetchone()
        assert count is not None and count[0] == leads
        titles = conn.execute("SELECT \"Title\" IS NULL, \"Title\" FROM hex.crm_lead WHERE \"LastName\" = 'Empty'"
                              ).fetchone()
        assert titles == (False, "")
        kinds = dict(conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'hex' "
            "AND table_name = 'crm_lead' AND column_name IN ('CreatedDate', 'NumberOfEmployees', 'IsConverted')"
        ).fetchall())
        assert kinds == {"CreatedDate": "timestamp with time zone", "NumberOfEmployees": "bigint",
                         "IsConverted": "boolean"}
        views = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'hex'").fetchall()}
        assert views == {"lead_facts"}
        facts = conn.execute("SELECT count(*) FROM hex.lead_facts").fetchone()
        assert facts is not None and facts[0] == leads
        funnel = conn.execute("SELECT sum(leads) FROM hex.funnel").fetchone()
        assert funnel is not None and funnel[0] == leads  # a view arrives as its rows

    again = app.publish_warehouse(OPS, postgres.url(), schema="hex")  # replaced whole, nothing left over
    assert again.tables == published.tables
    with psycopg.connect(postgres.url()) as conn:
        schemas = {r[0] for r in conn.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
    assert "hex" in schemas and "hex__loading" not in schemas


def test_publish_refuses_a_bad_schema_or_url_and_names_an_unreachable_server(org: Platform) -> None:
    app = app_on(org)
    app.refresh_warehouse(OPS)
    with pytest.raises(InputError, match="schema"):
        app.publish_warehouse(OPS, "postgresql://127.0.0.1/x", schema="Robert'); DROP")
    with pytest.raises(InputError, match="postgresql://"):
        app.publish_warehouse(OPS, "mysql://127.0.0.1/x")
    with pytest.raises(UpstreamUnavailable, match="could not reach Postgres"):
        app.publish_warehouse(OPS, "postgresql://nobody@127.0.0.1:1/none")


def test_a_missing_warehouse_is_a_clear_error(tmp_path: Path, org: Platform) -> None:
    org.settings.warehouse = tmp_path / "none.duckdb"
    try:
        with pytest.raises(InputError, match="warehouse refresh"):
            app_on(org).metric(OPS, "leads")
    finally:
        org.settings.warehouse = None
