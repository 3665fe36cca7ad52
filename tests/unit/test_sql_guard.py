"""The read-only SQL guard over the warehouse: allowed queries answer exactly what DuckDB answers; every escape
(another statement kind, a second statement, a file-reading or escape function anywhere in the tree, a file used
as a table) is refused by name and leaves the file as it was; a long query is interrupted; rows are capped. The
hardened connection and DuckDB's own parser check are also exercised on their own, so a gap in the sqlglot check
is not a hole."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revloops.adapters.warehouse.readonly import (
    MAX_ROWS_LIMIT,
    QueryResult,
    _check_with_duckdb,
    _connect,
    check_readonly,
    run_readonly,
)
from revloops.core.errors import InputError

LEADS = [
    (1, "Ada", "Acme", 91.5),
    (2, "Bo", "Beta", 40.0),
    (3, "Cy", None, 75.25),
    (4, "Di", "Acme", 12.0),
    (5, None, "Gamma", 60.0),
]


def _build(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE TABLE leads (id INTEGER, name VARCHAR, company VARCHAR, score DOUBLE)")
        con.executemany("INSERT INTO leads VALUES (?, ?, ?, ?)", LEADS)
        con.execute("CREATE VIEW hot_leads AS SELECT id, name, score FROM leads WHERE score > 50")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path


def _state(path: Path) -> tuple[str, list[tuple[Any, ...]], int]:
    """The file's bytes, its tables and views, and the row count of leads: what an escape would change."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute("SELECT table_name, table_type FROM information_schema.tables "
                             "ORDER BY table_name").fetchall()
        count = con.execute("SELECT count(*) FROM leads").fetchone()
    finally:
        con.close()
    assert count is not None
    return digest, tables, int(count[0])


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Path]:
    path = _build(tmp_path / "warehouse.duckdb")
    before = _state(path)
    assert before[1:] == ([("hot_leads", "VIEW"), ("leads", "BASE TABLE")], 5)
    yield path
    assert _state(path) == before  # whatever a test ran, the warehouse is as it was


def _refused(path: Path, sql: str, *, by_parser: bool = True) -> InputError:
    """Run ``sql`` and return the refusal; ``by_parser``: the sqlglot check alone refuses it the same way."""
    with pytest.raises(InputError) as info:
        run_readonly(path, sql)
    assert info.value.field == "sql"
    assert "\n" not in info.value.message and "Traceback" not in info.value.message
    if by_parser:
        with pytest.raises(InputError) as alone:
            check_readonly(sql)
        assert (alone.value.field, alone.value.message) == ("sql", info.value.message)
    return info.value


# -- what is allowed -----------------------------------------------------------------------------------------


def test_a_select_answers_rows_columns_and_types(warehouse: Path) -> None:
    result = run_readonly(warehouse, "SELECT id, name, score FROM leads WHERE company = 'Acme' ORDER BY id")
    assert isinstance(result, QueryResult)
    assert result.columns == ["id", "name", "score"]
    assert result.types == ["INTEGER", "VARCHAR", "DOUBLE"]
    assert result.rows == [(1, "Ada", 91.5), (4, "Di", 12.0)]
    assert result.truncated is False
    assert result.elapsed_ms >= 0


def test_with_union_values_and_the_view(warehouse: Path) -> None:
    with_ = run_readonly(warehouse, "WITH acme AS (SELECT * FROM leads WHERE company = 'Acme') "
                                    "SELECT count(*) AS n, max(score) AS top FROM acme")
    assert with_.columns == ["n", "top"] and with_.rows == [(2, 91.5)]
    union = run_readonly(warehouse, "SELECT id FROM hot_leads UNION SELECT id FROM leads WHERE id = 2 ORDER BY id")
    assert union.rows == [(1,), (2,), (3,), (5,)]
    assert run_readonly(warehouse, "VALUES (1, 'a')").rows == [(1, "a")]
    assert run_readonly(warehouse, "FROM hot_leads SELECT name ORDER BY id").rows == [("Ada",), ("Cy",), (None,)]


def test_describe_show_and_summarize(warehouse: Path) -> None:
    described = run_readonly(warehouse, "DESCRIBE leads")
    assert described.columns[:2] == ["column_name", "column_type"]
    assert [row[:2] for row in described.rows] == [("id", "INTEGER"), ("name", "VARCHAR"),
                                                    ("company", "VARCHAR"), ("score", "DOUBLE")]
    assert run_readonly(warehouse, "SHOW leads").rows == described.rows
    assert sorted(run_readonly(warehouse, "SHOW TABLES").rows) == [("hot_leads",), ("leads",)]
    assert {row[2] for row in run_readonly(warehouse, "SHOW ALL TABLES").rows} == {"hot_leads", "leads"}
    assert [row[0] for row in run_readonly(warehouse, "SUMMARIZE leads").rows] == ["id", "name", "company", "score"]
    query = run_readonly(warehouse, "DESCRIBE SELECT id, upper(name) AS n FROM leads")
    assert [row[:2] for row in query.rows] == [("id", "INTEGER"), ("n", "VARCHAR")]


def test_show_of_a_name_describes_a_table_and_never_shows_a_setting(warehouse: Path) -> None:
    assert check_readonly("SHOW leads") == "DESCRIBE leads"  # DuckDB's SHOW <setting> would show the setting
    for setting in ("enable_external_access", "home_directory", "temp_directory"):
        assert _refused(warehouse, f"SHOW {setting}", by_parser=False).message.startswith("Catalog Error")
    assert "SHOW variables is not allowed" in _refused(warehouse, "SHOW VARIABLES", by_parser=False).message
    assert "cannot parse the SQL" in _refused(warehouse, "SHOW ALL").message
    assert run_readonly(warehouse, "SHOW DATABASES").rows == [("warehouse",)]


def test_explain_and_explain_analyze_of_a_query(warehouse: Path) -> None:
    plan = run_readonly(warehouse, "EXPLAIN SELECT * FROM leads WHERE score > 50")
    assert plan.columns == ["explain_key", "explain_value"]
    assert plan.rows[0][0] == "physical_plan" and "leads" in plan.rows[0][1].lower()
    analyzed = run_readonly(warehouse, "explain analyze SELECT count(*) FROM leads")
    assert analyzed.rows[0][0] == "analyzed_plan"


def test_check_readonly_returns_the_one_statement_as_typed() -> None:
    assert check_readonly("  SELECT 1 ;  ") == "SELECT 1"
    assert check_readonly("/* why */ select id -- the id\n from leads;;") == "select id -- the id\n from leads"
    assert check_readonly("EXPLAIN   /* x */ ANALYZE SELECT 1") == "EXPLAIN ANALYZE SELECT 1"
    assert check_readonly("SELECT 'a;b' AS s") == "SELECT 'a;b' AS s"
    assert check_readonly("SELECT * FROM range(3) t(x), unnest([1, 2]) u(y)")  # generators are fine


def test_generators_are_the_only_table_functions_that_run(warehouse: Path) -> None:
    assert run_readonly(warehouse, "SELECT sum(x) AS s FROM range(5) t(x)").rows == [(10,)]
    assert run_readonly(warehouse, "SELECT * FROM generate_series(1, 3)").rows == [(1,), (2,), (3,)]
    assert run_readonly(warehouse, "SELECT x FROM unnest([7, 8]) AS u(x)").rows == [(7,), (8,)]


# -- what is refused -----------------------------------------------------------------------------------------

STATEMENTS = [
    ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
    ("DETACH warehouse", "DETACH"),
    ("COPY leads TO '/tmp/leads.csv'", "COPY"),
    ("COPY leads FROM '/etc/passwd'", "COPY"),
    ("INSTALL httpfs", "INSTALL"),
    ("FORCE INSTALL httpfs", "FORCE INSTALL"),
    ("LOAD httpfs", "LOAD"),
    ("LOAD '/tmp/evil.duckdb_extension'", "LOAD"),
    ("PRAGMA enable_profiling", "PRAGMA"),
    ("SET enable_external_access = true", "SET"),
    ("SET VARIABLE x = 1", "SET VARIABLE"),
    ("RESET threads", "RESET"),
    ("USE memory", "USE"),
    ("CALL pragma_version()", "CALL"),
    ("EXPORT DATABASE '/tmp/export'", "EXPORT DATABASE"),
    ("IMPORT DATABASE '/tmp/export'", "IMPORT DATABASE"),
    ("CHECKPOINT", "CHECKPOINT"),
    ("FORCE CHECKPOINT", "FORCE CHECKPOINT"),
    ("CREATE TABLE t (a INTEGER)", "CREATE"),
    ("CREATE TEMP TABLE t AS SELECT 1", "CREATE"),
    ("CREATE OR REPLACE VIEW hot_leads AS SELECT 1", "CREATE"),
    ("CREATE SECRET (TYPE s3, KEY_ID 'k', SECRET 's')", "CREATE"),
    ("CREATE MACRO m(x) AS x", "CREATE"),
    ("INSERT INTO leads VALUES (9, 'Eve', 'Evil', 1.0)", "INSERT"),
    ("INSERT OR REPLACE INTO leads VALUES (1, 'Eve', 'Evil', 1.0)", "INSERT"),
    ("WITH x AS (SELECT 9) INSERT INTO leads (id) SELECT * FROM x", "INSERT"),
    ("UPDATE leads SET score = 0", "UPDATE"),
    ("DELETE FROM leads", "DELETE"),
    ("DROP TABLE leads", "DROP"),
    ("DROP VIEW hot_leads", "DROP"),
    ("ALTER TABLE leads RENAME TO gone", "ALTER"),
    ("MERGE INTO leads USING leads AS s ON leads.id = s.id WHEN MATCHED THEN DELETE", "MERGE"),
    ("TRUNCATE leads", "TRUNCATE"),
    ("VACUUM", "VACUUM"),
    ("VACUUM ANALYZE leads", "VACUUM"),
    ("ANALYZE", "ANALYZE"),
    ("BEGIN TRANSACTION", "BEGIN"),
    ("COMMIT", "COMMIT"),
    ("PREPARE p AS SELECT 1", "PREPARE"),
    ("EXECUTE p", "EXECUTE"),
    ("COMMENT ON TABLE leads IS 'x'", "COMMENT ON"),
    ("PIVOT leads ON company USING sum(score)", "PIVOT"),
    ("UNPIVOT leads ON name, company INTO NAME k VALUE v", "UNPIVOT"),
    ("EXPLAIN DROP TABLE leads", "DROP"),
    ("EXPLAIN ANALYZE DELETE FROM leads", "DELETE"),
    ("EXPLAIN COPY leads TO '/tmp/leads.csv'", "COPY"),
]


@pytest.mark.parametrize("sql, name", STATEMENTS)
def test_every_other_statement_kind_is_refused_by_name(warehouse: Path, sql: str, name: str) -> None:
    error = _refused(warehouse, sql)
    assert error.message.startswith(f"{name} is not allowed"), error.message


@pytest.mark.parametrize("sql", [
    "/* harmless */ aTtAcH '/tmp/other.duckdb' AS o",
    "   \n\t-- a comment\nDrOp TABLE leads",
    "/* SELECT */ DELETE FROM leads",
])
def test_comments_and_case_do_not_hide_a_statement(warehouse: Path, sql: str) -> None:
    assert "is not allowed" in _refused(warehouse, sql).message


@pytest.mark.parametrize("sql", [
    "SELECT 1; DROP TABLE leads",
    "SELECT 1;DROP TABLE leads;",
    "select 1 -- \n; drop table leads",
    "SELECT 1 /* ; */; DELETE FROM leads",
    "EXPLAIN SELECT 1; DROP TABLE leads",
    "SELECT 'a;'; ATTACH '/tmp/x.duckdb'",
])
def test_a_second_statement_is_refused(warehouse: Path, sql: str) -> None:
    assert "only one statement is allowed" in _refused(warehouse, sql).message


@pytest.mark.parametrize("sql", ["", "   ", ";", " ; ;", "-- only a comment", "/* nothing */"])
def test_empty_sql_is_refused(warehouse: Path, sql: str) -> None:
    assert "empty" in _refused(warehouse, sql).message


@pytest.mark.parametrize("sql, function", [
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto"),
    ("SELECT * FROM read_parquet('x.parquet')", "read_parquet"),
    ("SELECT * FROM parquet_scan('x.parquet')", "parquet_scan"),
    ("SELECT * FROM read_json('x.json')", "read_json"),
    ("SELECT * FROM read_ndjson_objects('x.json')", "read_ndjson_objects"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text"),
    ("SELECT * FROM read_blob('/etc/passwd')", "read_blob"),
    ("SELECT * FROM glob('/etc/*')", "glob"),
    ("SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv"),
    ("SELECT * FROM parquet_metadata('x.parquet')", "parquet_metadata"),
    ("SELECT * FROM iceberg_scan('s3://b/t')", "iceberg_scan"),
    ("SELECT * FROM delta_scan('s3://b/t')", "delta_scan"),
    ("SELECT * FROM query('DROP TABLE leads')", "query"),
    ("SELECT * FROM query_table('leads')", "query_table"),
    ("SELECT * FROM json_execute_serialized_sql('{}')", "json_execute_serialized_sql"),
    ("SELECT * FROM duckdb_secrets()", "duckdb_secrets"),
    ("SELECT * FROM duckdb_settings()", "duckdb_settings"),
    ("SELECT * FROM pragma_table_info('leads')", "pragma_table_info"),
    ("SELECT * FROM sqlite_scan('x.db', 't')", "sqlite_scan"),
    ("SELECT * FROM checkpoint()", "checkpoint"),
    ("SELECT getenv('HOME')", "getenv"),
    ("SELECT 'HOME'.getenv()", "getenv"),
    ("SELECT current_setting('enable_external_access')", "current_setting"),
    ("SELECT nextval('seq')", "nextval"),
    ("SELECT json_serialize_plan('SELECT * FROM leads')", "json_serialize_plan"),
    ("SELECT write_log('x')", "write_log"),
    ('SELECT * FROM "read_csv"(\'/etc/passwd\')', "read_csv"),
    ("select * from READ_CSV('/etc/passwd')", "read_csv"),
    # nested: a CTE, a subquery, a join, a lateral, an IN list, a scalar subquery, a UNION arm, an EXPLAIN
    ("WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x", "read_csv"),
    ("SELECT * FROM (SELECT * FROM read_text('/etc/passwd')) AS t", "read_text"),
    ("SELECT * FROM leads JOIN read_parquet('x.parquet') AS p ON TRUE", "read_parquet"),
    ("SELECT * FROM leads, LATERAL read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM leads WHERE name IN (SELECT * FROM glob('/etc/*'))", "glob"),
    ("SELECT id, (SELECT count(*) FROM read_csv('/etc/passwd')) FROM leads", "read_csv"),
    ("SELECT name FROM leads UNION ALL SELECT content FROM read_text('/etc/passwd')", "read_text"),
    ("WITH a AS (SELECT 1), b AS (SELECT getenv('HOME') FROM a) SELECT * FROM b", "getenv"),
    ("EXPLAIN SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("EXPLAIN ANALYZE SELECT * FROM query('SELECT 1')", "query"),
    ("DESCRIBE SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SUMMARIZE SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
])
def test_file_reading_and_escape_functions_are_refused_anywhere(warehouse: Path, sql: str, function: str) -> None:
    error = _refused(warehouse, sql)
    assert f"{function}()" in error.message and "not allowed" in error.message, error.message


@pytest.mark.parametrize("sql, function", [
    ("SELECT * FROM test_all_types()", "test_all_types"),
    ("SELECT * FROM pg_timezone_names()", "pg_timezone_names"),
    ("SELECT * FROM icu_calendar_names()", "icu_calendar_names"),
    ("SELECT * FROM repeat_row(1, num_rows := 3)", "repeat_row"),
    ("SELECT * FROM leads, LATERAL some_macro(leads.id)", "some_macro"),
])
def test_only_generators_may_be_read_from(warehouse: Path, sql: str, function: str) -> None:
    # functions no deny-list names: the table-position allow-list refuses them, in both parsers
    assert f"the table function {function}() is not allowed" in _refused(warehouse, sql).message
    con = _connect(warehouse)
    try:
        with pytest.raises(InputError) as info:
            _check_with_duckdb(con, sql)
        assert f"{function}()" in info.value.message
    finally:
        con.close()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM '/etc/passwd'",
    "FROM '/etc/passwd'",
    "SELECT * FROM 'x.csv'",
    "SELECT * FROM 'leads'",
    "SELECT * FROM \"x.csv\"",
    "SELECT * FROM \"/etc/passwd\"",
    "SELECT * FROM x.csv",
    "SELECT * FROM data.parquet",
    "SELECT * FROM 's3://bucket/leads.parquet'",
    "SELECT * FROM 'https://example.com/x.csv'",
    "SELECT * FROM '~/x.csv'",
    "SELECT * FROM 'data/*.parquet'",
    "SELECT * FROM leads JOIN 'x.parquet' AS p ON TRUE",
    "WITH x AS (FROM 'x.csv') SELECT * FROM x",
    "SELECT * FROM leads WHERE id IN (SELECT id FROM 'ids.csv')",
    "DESCRIBE '/etc/passwd'",
    "SHOW 'x.csv'",
    "SUMMARIZE 'x.csv'",
])
def test_a_file_used_as_a_table_is_refused(warehouse: Path, sql: str) -> None:
    error = _refused(warehouse, sql)
    assert "table" in error.message and "file" in error.message, error.message


@pytest.mark.parametrize("sql", [
    "SELECT * FROM pg_catalog.pg_settings",
    "SELECT name, value FROM pg_settings WHERE name = 'home_directory'",
    "SELECT * FROM system.main.duckdb_logs",
])
def test_system_views_over_settings_and_logs_are_refused(warehouse: Path, sql: str) -> None:
    assert "is not allowed: it shows DuckDB's settings or logs" in _refused(warehouse, sql).message
    con = _connect(warehouse)
    try:
        with pytest.raises(InputError):
            _check_with_duckdb(con, sql)
    finally:
        con.close()


@pytest.mark.parametrize("sql, needle", [
    ("SELEC 1", "cannot parse the SQL"),
    ("SELECT 'unterminated", "cannot read the SQL"),
    ("SELECT $1", "parameters"),
    ("SELECT * FROM leads WHERE id = ?", "parameters"),
    ("SELECT * FROM (PIVOT leads ON company USING sum(score))", "PIVOT"),
    ("SELECT * FROM leads AT (VERSION => 1)", "HistoricalData"),
    ("EXPLAIN (FORMAT json) SELECT 1", "EXPLAIN options"),
    ("EXPLAIN EXPLAIN SELECT 1", "another EXPLAIN"),
    ("EXPLAIN DESCRIBE leads", "only a query"),
    ("EXPLAIN", "needs the query"),
    ("DESCRIBE", "cannot parse the SQL: Expected table name but got the end of the SQL"),
])
def test_other_refusals_say_why(warehouse: Path, sql: str, needle: str) -> None:
    assert needle in _refused(warehouse, sql).message


def test_copy_to_a_file_writes_nothing(warehouse: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    assert _refused(warehouse, f"COPY (SELECT * FROM leads) TO '{target}'").message.startswith("COPY")
    assert _refused(warehouse, f"COPY leads TO '{target}' (FORMAT csv)").message.startswith("COPY")
    assert not target.exists()


# -- DuckDB's answers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sql, start", [
    ("SELECT nope FROM leads", "Binder Error"),
    ("SELECT * FROM no_such_table", "Catalog Error"),
    ("SELECT 1 + 'a'", "Binder Error"),
    ("SELECT CAST('x' AS INTEGER)", "Conversion Error"),
])
def test_a_duckdb_error_is_an_input_error_with_its_first_line(warehouse: Path, sql: str, start: str) -> None:
    assert check_readonly(sql) == sql
    assert _refused(warehouse, sql, by_parser=False).message.startswith(start)


def test_rows_are_capped_and_truncation_is_reported(warehouse: Path) -> None:
    capped = run_readonly(warehouse, "SELECT id FROM leads ORDER BY id", max_rows=2)
    assert capped.rows == [(1,), (2,)] and capped.truncated is True
    exact = run_readonly(warehouse, "SELECT id FROM leads ORDER BY id", max_rows=5)
    assert len(exact.rows) == 5 and exact.truncated is False
    huge = run_readonly(warehouse, "SELECT * FROM range(10000000000)", max_rows=3)  # streamed, not materialised
    assert huge.rows == [(0,), (1,), (2,)] and huge.truncated is True


def test_a_long_query_is_interrupted(warehouse: Path) -> None:
    # 10**16 rows: it would run for days; the interrupt must stop it
    sql = "SELECT count(*) FROM range(100000000) AS a, range(100000000) AS b"
    with pytest.raises(InputError) as info:
        run_readonly(warehouse, sql, timeout_s=0.5)
    assert info.value.field == "sql" and "interrupted after 0.5 s" in info.value.message
    assert run_readonly(warehouse, "SELECT count(*) FROM leads").rows == [(5,)]  # and the warehouse still answers


@pytest.mark.parametrize("max_rows", [0, -1, MAX_ROWS_LIMIT + 1, True])
def test_max_rows_must_be_in_range(warehouse: Path, max_rows: int) -> None:
    with pytest.raises(InputError) as info:
        run_readonly(warehouse, "SELECT 1", max_rows=max_rows)
    assert info.value.field == "max_rows"


@pytest.mark.parametrize("timeout_s", [0, -1.0, float("nan"), float("inf")])
def test_timeout_must_be_positive(warehouse: Path, timeout_s: float) -> None:
    with pytest.raises(InputError) as info:
        run_readonly(warehouse, "SELECT 1", timeout_s=timeout_s)
    assert info.value.field == "timeout_s"


def test_a_missing_warehouse_says_to_refresh_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "warehouse.duckdb"
    with pytest.raises(InputError) as info:
        run_readonly(missing, "SELECT 1")
    assert info.value.field == "warehouse" and "revloops warehouse refresh" in info.value.message
    assert not missing.exists() and list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_database_is_an_input_error(tmp_path: Path) -> None:
    bogus = tmp_path / "warehouse.duckdb"
    bogus.write_text("not a database")
    with pytest.raises(InputError) as info:
        run_readonly(bogus, "SELECT 1")
    assert info.value.field == "warehouse" and "cannot open the warehouse" in info.value.message
    assert bogus.read_text() == "not a database"


# -- the layers under the sqlglot check, on their own ---------------------------------------------------------


def test_the_connection_alone_refuses_files_writes_extensions_and_settings(warehouse: Path,
                                                                            tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("token\nhunter2\n")
    target = tmp_path / "copied.csv"
    other = tmp_path / "other.duckdb"
    plain = duckdb.connect()
    try:  # the file is readable to an ordinary connection: the refusals below are the configuration's doing
        assert plain.execute(f"SELECT * FROM read_csv('{secret}')").fetchall() == [("hunter2",)]
    finally:
        plain.close()
    con = _connect(warehouse)
    try:
        for sql in [
            f"COPY (SELECT * FROM leads) TO '{target}'",
            f"SELECT * FROM read_csv('{secret}')",
            f"SELECT * FROM '{secret}'",
            f"SELECT * FROM read_text('{secret}')",
            "SELECT * FROM read_csv('/etc/passwd')",
            f"ATTACH '{other}' AS other",
            f"EXPORT DATABASE '{tmp_path / 'export'}'",
            "INSTALL httpfs",
            "LOAD httpfs",
            "SET enable_external_access = true",
            "RESET enable_external_access",
            "SET autoload_known_extensions = true",
            "SET lock_configuration = false",
            "DROP TABLE leads",
            "DELETE FROM leads",
            "CREATE TABLE t (a INTEGER)",
        ]:
            with pytest.raises(duckdb.Error):
                con.execute(sql)
        assert con.execute("SELECT current_setting('enable_external_access')").fetchone() == (False,)
        assert con.execute("SELECT count(*) FROM leads").fetchone() == (5,)
    finally:
        con.close()
    assert not target.exists() and not other.exists() and not (tmp_path / "export").exists()


def test_the_connection_alone_does_not_scan_python_objects(warehouse: Path) -> None:
    in_process = pa.table({"secret": ["hunter2"]})
    plain = duckdb.connect()
    try:  # an ordinary connection reads a Python variable by its name
        assert plain.execute("SELECT * FROM in_process").fetchall() == [("hunter2",)]
    finally:
        plain.close()
    con = _connect(warehouse)
    try:
        with pytest.raises(duckdb.Error):
            con.execute("SELECT * FROM in_process")
    finally:
        con.close()
    assert in_process.num_rows == 1


@pytest.mark.parametrize("sql, needle", [
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
    ("SELECT 'HOME'.getenv()", "getenv()"),
    ("SELECT * FROM leads JOIN (SELECT * FROM query('SELECT 1')) AS q ON TRUE", "query()"),
    ("SELECT * FROM 'x.csv'", "x.csv"),
    ("SELECT * FROM \"/etc/passwd\"", "/etc/passwd"),
    ("SELECT 1; SELECT 2", "one statement"),
    ("PIVOT leads ON company USING sum(score)", "MULTI"),
    ("CALL pragma_version()", "CALL"),
    ("SHOW enable_external_access", "SHOW enable_external_access is not allowed"),
    ("SHOW VARIABLES", "SHOW variables is not allowed"),
    ("EXPLAIN SELECT * FROM glob('/etc/*')", "glob()"),
    ("SELECT 1 /* /* nested */ , getenv('HOME') */", None),  # DuckDB nests comments: only SELECT 1 is left
])
def test_duckdbs_own_parser_applies_the_same_rules(warehouse: Path, sql: str, needle: str | None) -> None:
    con = _connect(warehouse)
    try:
        if needle is None:
            _check_with_duckdb(con, sql)
            assert con.execute(sql).fetchall() == [(1,)]
            return
        with pytest.raises(InputError) as info:
            _check_with_duckdb(con, sql)
        assert needle in info.value.message
    finally:
        con.close()


# -- generated queries answer what DuckDB answers --------------------------------------------------------------

COLUMN_EXPRESSIONS = [
    "id", "name", "company", "score", "upper(name)", "score * 2", "id + 1", "coalesce(company, 'none')",
    "length(name)", "round(score, 1)", "name || '-' || company", "CASE WHEN score > 50 THEN 'hot' ELSE 'cold' END",
    "count(*) OVER ()", "row_number() OVER (ORDER BY score DESC)", "id::VARCHAR", "'lit'", "42", "NULL",
    "score IS NULL", "[id, id * 2]", "{'n': name}", "lower(company) LIKE 'a%'", "greatest(id, 3)",
    "sum(score) OVER (PARTITION BY company)", "(SELECT max(id) FROM leads)", "date '2025-01-01' + id",
]
WHERES = ["", "WHERE score > 50", "WHERE company IS NOT NULL", "WHERE name IN ('Ada', 'Cy')",
          "WHERE id BETWEEN 2 AND 4", "WHERE id IN (SELECT id FROM hot_leads)"]
column_st = st.tuples(st.sampled_from(COLUMN_EXPRESSIONS),
                      st.none() | st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ ", min_size=1, max_size=8))


@pytest.fixture(scope="module")
def shared_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("guard") / "warehouse.duckdb")


@settings(max_examples=60, deadline=None)
@given(columns=st.lists(column_st, min_size=1, max_size=5), where=st.sampled_from(WHERES),
       source=st.sampled_from(["leads", "main.leads", "hot_leads", '"leads"']))
def test_generated_selects_pass_and_answer_what_duckdb_answers(
        shared_warehouse: Path, columns: list[tuple[str, str | None]], where: str, source: str) -> None:
    if source == "hot_leads":  # the view has no company
        columns = [(e, a) for e, a in columns if "company" not in e] or [("id", None)]
        where = "" if "company" in where else where
    listed = ", ".join(expr if alias is None else f'{expr} AS "c_{alias}"' for expr, alias in columns)
    sql = f"SELECT {listed} FROM {source} {where} ORDER BY id"
    assert check_readonly(sql) == sql
    guarded = run_readonly(shared_warehouse, sql)
    con = duckdb.connect(str(shared_warehouse), read_only=True)
    try:
        cursor = con.execute(sql)
        expected_columns = [str(d[0]) for d in cursor.description or []]
        expected_types = [str(d[1]) for d in cursor.description or []]
        expected_rows = cursor.fetchall()
    finally:
        con.close()
    assert guarded.columns == expected_columns
    assert guarded.types == expected_types
    assert guarded.rows == expected_rows
    assert guarded.truncated is False
