"""Publishing the warehouse to a Postgres schema, where Hex (or any notebook) connects.

Every table and view is copied as a table (a view that only renames a table becomes a Postgres view of it):
rows leave DuckDB as Arrow record batches, are written as CSV by Arrow and streamed into Postgres with
``COPY ... FROM STDIN`` (no row becomes a Python object). The copy
lands in a loading schema; at the end one transaction drops the published schema and renames the loading
one into its place, so a notebook never reads half a refresh.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
import pyarrow.csv as pacsv
from psycopg import sql

from revloops.adapters.warehouse.duck import DuckWarehouse
from revloops.core.errors import InputError, UpstreamUnavailable

Progress = Callable[[str, int, int | None], None]
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,50}$")
_BATCH = 100_000
_TYPES = {
    "VARCHAR": "text", "BOOLEAN": "boolean", "DATE": "date", "DOUBLE": "double precision", "FLOAT": "real",
    "BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint", "TINYINT": "smallint",
    "HUGEINT": "numeric", "UBIGINT": "numeric", "UINTEGER": "bigint", "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz", "TIMESTAMP_NS": "timestamp", "INTERVAL": "interval",
    "TIME": "time", "UUID": "uuid", "JSON": "jsonb",
}


@dataclass
class Published:
    """What a publish copied."""

    tables: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0


def _pg_type(duck_type: str) -> str:
    if duck_type.startswith("DECIMAL"):
        return "numeric"
    return _TYPES.get(duck_type, "text")


def _conninfo(url: str) -> str:
    """A libpq URL from a SQLAlchemy-style one (``postgresql+psycopg://``)."""
    if not re.match(r"^postgres(ql)?(\+\w+)?://", url):
        raise InputError("publish needs a postgresql:// URL", field="to")
    return re.sub(r"^postgres(ql)?\+\w+://", "postgresql://", url)


def _aliases(wh: DuckWarehouse) -> dict[str, str]:
    """Views that are ``SELECT * FROM <table>``: view -> table."""
    found: dict[str, str] = {}
    for name, text in wh.con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall():
        match = re.fullmatch(r"CREATE VIEW \w+ AS SELECT \* FROM (\w+);?", str(text).strip())
        if match:
            found[name] = match.group(1)
    return found


def publish(wh: DuckWarehouse, url: str, schema: str, progress: Progress | None = None) -> Published:
    """Copy every table and view of ``wh`` into the Postgres schema ``schema`` (replaced whole).

    Raises:
        InputError: not a Postgres URL, or a schema name that is not a plain lower-case identifier.
        UpstreamUnavailable: Postgres could not be reached.
    """
    if not _SCHEMA.match(schema):
        raise InputError("the schema must be a lower-case identifier (letters, digits, _)", field="schema")
    started = time.perf_counter()
    out = Published()
    loading = f"{schema}__loading"
    try:
        conn = psycopg.connect(_conninfo(url), autocommit=False)
    except psycopg.OperationalError as exc:
        raise UpstreamUnavailable(f"could not reach Postgres: {str(exc).strip().splitlines()[0]}") from None
    with conn:
        cur = conn.cursor()
        cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(loading)))
        cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(loading)))
        aliases = _aliases(wh)
        for table in wh.tables():
            target = sql.Identifier(loading, table.name)
            if table.name in aliases:  # a view that only renames a table: a view in Postgres too (no copy)
                continue
            columns = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(_pg_type(kind)))
                                         for name, kind in table.columns)
            cur.execute(sql.SQL("CREATE TABLE {} ({})").format(target, columns))
            if table.description:
                cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(target, sql.Literal(table.description)))
            names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in table.columns)
            copied = 0
            reader = wh.con.sql(f'SELECT * FROM "{table.name}"').to_arrow_reader(_BATCH)
            with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(target, names)) as copy:
                for batch in reader:
                    buffer = io.BytesIO()
                    pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=False))
                    copy.write(buffer.getvalue())
                    copied += batch.num_rows
                    if progress:
                        progress(table.name, copied, table.rows)
            out.tables[table.name] = copied
            out.rows += copied
        for view, table_name in aliases.items():
            cur.execute(sql.SQL("CREATE VIEW {} AS SELECT * FROM {}").format(
                sql.Identifier(loading, view), sql.Identifier(loading, table_name)))
            out.tables[view] = out.tables.get(table_name, 0)
        cur.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        cur.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(loading), sql.Identifier(schema)))
        conn.commit()
    out.seconds = time.perf_counter() - started
    return out
