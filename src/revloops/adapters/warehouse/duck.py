"""The warehouse as a DuckDB file: tables loaded from Arrow frames, views over them, marks of each load.

A load is one transaction: the table's rows and its mark (the highest watermark read, the rows it holds, the
schema's signature) commit together, so a refresh stopped half way leaves every table either as it was or
loaded, and the next refresh picks up from the marks. Frames go in through DuckDB's Arrow scan (no row is
turned into a Python object); an incremental load deletes the rows whose key it read again, then inserts.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from revloops.core.errors import InputError, UpstreamUnavailable
from revloops.ports.warehouse import LoadMark, LoadResult, Source, TableInfo, Warehouse, schema_signature

_MARKS = "_loads"
_REBUILT = "_rebuilt"  # tables made anew since the facts were last brought up to date
_CHUNK = "_chunk"
_FRESH = "_fresh"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckWarehouse(Warehouse):
    """A DuckDB file (``read_only`` for the queries of metrics, the report and ``sql``)."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None

    # -- the connection ------------------------------------------------------------------------------
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            if self.read_only and not self.path.exists():
                raise InputError(f"no warehouse at {self.path}: run `revloops warehouse refresh` first",
                                 field="warehouse")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._con = duckdb.connect(str(self.path), read_only=self.read_only,
                                           config={"autoinstall_known_extensions": False,
                                                   "autoload_known_extensions": False})
            except duckdb.IOException as exc:  # another process holds the file (a refresh is running)
                raise UpstreamUnavailable(f"the warehouse {self.path} is busy: {str(exc).splitlines()[0]}") \
                    from None
            if not self.read_only:
                self._con.execute(f"CREATE TABLE IF NOT EXISTS {_MARKS} (tbl VARCHAR PRIMARY KEY, "
                                  "watermark TIMESTAMPTZ, rows BIGINT, loaded_at TIMESTAMPTZ, signature VARCHAR)").fetchall()
                self._con.execute(f"CREATE TABLE IF NOT EXISTS {_REBUILT} (tbl VARCHAR PRIMARY KEY)").fetchall()
            self._con.execute("SET TimeZone = 'UTC'").fetchall()
        return self._con

    def close(self) -> None:
        """See ``Warehouse.close``."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def exists(self) -> bool:
        """See ``Warehouse.exists``."""
        if not self.path.exists():
            return False
        return bool(self.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                                     [_MARKS]).fetchall()[0][0])

    # -- marks ---------------------------------------------------------------------------------------
    def marks(self) -> dict[str, LoadMark]:
        """See ``Warehouse.marks``."""
        if not self.exists():
            return {}
        rows = self.con.execute(f"SELECT tbl, watermark, rows, loaded_at, signature FROM {_MARKS}").fetchall()
        return {r[0]: LoadMark(r[0], _utc(r[1]), int(r[2]), _utc(r[3]) or dt.datetime.now(dt.UTC), r[4])
                for r in rows}

    def forget(self) -> None:
        """See ``Warehouse.forget``."""
        self.con.execute(f"DELETE FROM {_MARKS}").fetchall()

    def _rebuilt(self, table: str) -> None:
        """Note (in the load's transaction) that a table was made anew: the facts over it rebuild whole."""
        self.con.execute(f"INSERT OR IGNORE INTO {_REBUILT} VALUES (?)", [table]).fetchall()
        self.con.execute(f"DROP TABLE IF EXISTS {_quote('_changed_' + table)}").fetchall()

    def pending(self) -> tuple[set[str], set[str]]:
        """See ``Warehouse.pending``."""
        rebuilt = {r[0] for r in self.con.execute(f"SELECT tbl FROM {_REBUILT}").fetchall()}
        changed = {r[0].removeprefix("_changed_") for r in self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '\\_changed\\_%' ESCAPE '\\'"
        ).fetchall()}
        return rebuilt, changed

    def settle(self) -> None:
        """See ``Warehouse.settle``."""
        _, changed = self.pending()
        self.con.begin()
        try:
            self.con.execute(f"DELETE FROM {_REBUILT}").fetchall()
            for table in changed:
                self.con.execute(f"DROP TABLE {_quote('_changed_' + table)}").fetchall()
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def _mark(self, table: str, watermark: dt.datetime | None, rows: int, sig: str) -> None:
        self.con.execute(f"INSERT OR REPLACE INTO {_MARKS} VALUES (?, ?, ?, ?, ?)",
                         [table, watermark, rows, dt.datetime.now(dt.UTC), sig]).fetchall()

    # -- loads ---------------------------------------------------------------------------------------
    def load(self, source: Source, schema: pl.Schema, frames: Iterable[pl.DataFrame], *, replace: bool,
             on_rows: Callable[[int], None] | None = None) -> LoadResult:
        """See ``Warehouse.load``."""
        started = time.perf_counter()
        con, name = self.con, _quote(source.table)
        previous = self.marks().get(source.table)
        result = LoadResult(source.table, "full" if replace else "incremental")
        watermark = None if replace or previous is None else previous.watermark
        keys = " AND ".join(f"t.{_quote(k)} = c.{_quote(k)}" for k in source.key)
        con.begin()
        try:
            if replace:
                con.register(_CHUNK, pl.DataFrame(schema=schema).to_arrow())
                con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {_CHUNK}").fetchall()
                con.unregister(_CHUNK)
                self._rebuilt(source.table)
            for frame in frames:
                if not frame.height:
                    continue
                con.register(_CHUNK, frame.select(list(schema)).to_arrow())
                if replace:
                    con.execute(f"INSERT INTO {name} SELECT * FROM {_CHUNK}").fetchall()
                else:
                    # only the rows that differ from the stored ones: a row read again at the mark, unchanged,
                    # is neither rewritten nor counted as a change for the facts
                    con.execute(f"CREATE OR REPLACE TEMP TABLE {_FRESH} AS SELECT * FROM {_CHUNK} EXCEPT "
                                f"SELECT t.* FROM {name} t SEMI JOIN {_CHUNK} c ON {keys}").fetchall()
                    con.execute(f"DELETE FROM {name} t USING {_FRESH} c WHERE {keys}").fetchall()
                    con.execute(f"INSERT INTO {name} SELECT * FROM {_FRESH}").fetchall()
                    # the keys this load changed, for the facts built from this table: kept (committed with
                    # the rows) until the facts are brought up to date, so a refresh that stops in between
                    # still brings them up to date the next time
                    fresh = int(con.execute(f"SELECT count(*) FROM {_FRESH}").fetchall()[0][0])
                    if fresh:
                        key_cols = ", ".join(_quote(k) for k in source.key)
                        changed = _quote(f"_changed_{source.table}")
                        con.execute(f"CREATE TABLE IF NOT EXISTS {changed} AS SELECT {key_cols} FROM {_FRESH} "
                                    "LIMIT 0").fetchall()
                        con.execute(f"INSERT INTO {changed} SELECT {key_cols} FROM {_FRESH}").fetchall()
                    result.changed += fresh
                con.unregister(_CHUNK)
                result.read += frame.height
                if source.watermark:
                    top = frame[source.watermark].max()
                    seen = _utc(top) if isinstance(top, dt.datetime) else None
                    if seen is not None and (watermark is None or seen > watermark):
                        watermark = seen
                if on_rows:
                    on_rows(frame.height)
            if source.description:
                con.execute(f"COMMENT ON TABLE {name} IS {_literal(source.description)}").fetchall()
            result.rows = int(con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
            result.watermark = watermark
            self._mark(source.table, watermark, result.rows, schema_signature(schema))
            con.commit()
        except BaseException:
            con.rollback()
            raise
        result.seconds = time.perf_counter() - started
        return result

    def put_frame(self, table: str, frame: pl.DataFrame, description: str = "") -> int:
        """See ``Warehouse.put_frame``."""
        con = self.con
        con.begin()
        try:
            con.register(_CHUNK, frame.to_arrow())
            con.execute(f"CREATE OR REPLACE TABLE {_quote(table)} AS SELECT * FROM {_CHUNK}").fetchall()
            con.unregister(_CHUNK)
            if description:
                con.execute(f"COMMENT ON TABLE {_quote(table)} IS {_literal(description)}").fetchall()
            self._rebuilt(table)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return frame.height

    def create_views(self, views: Sequence[tuple[str, str, str]]) -> list[str]:
        """See ``Warehouse.create_views``."""
        failed: list[str] = []
        for name, select, description in views:
            try:
                self.con.execute(f"CREATE OR REPLACE VIEW {_quote(name)} AS {select}").fetchall()
                if description:
                    self.con.execute(f"COMMENT ON VIEW {_quote(name)} IS {_literal(description)}").fetchall()
            except duckdb.Error as exc:
                failed.append(f"{name}: {str(exc).splitlines()[0]}")
        return failed

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """See ``Warehouse.execute``."""
        self.con.execute(sql, list(params or ())).fetchall()

    def has_table(self, name: str) -> bool:
        """See ``Warehouse.has_table``."""
        found = self.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()
        return bool(found[0][0])

    # -- reads ---------------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """See ``Warehouse.query``."""
        try:
            table = self.con.sql(sql, params=list(params or ())).to_arrow_table()
            return pl.from_arrow(table)  # type: ignore[return-value]
        except duckdb.Error as exc:
            raise InputError(f"the warehouse refused the query: {str(exc).splitlines()[0]}", field="sql") \
                from None

    def tables(self) -> list[TableInfo]:
        """See ``Warehouse.tables``."""
        con = self.con
        cols: dict[str, list[tuple[str, str]]] = {}
        for table, column, kind in con.execute(
                "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal "
                "AND schema_name = 'main' ORDER BY table_name, column_index").fetchall():
            cols.setdefault(table, []).append((column, kind))
        out: list[TableInfo] = []
        for name, comment in con.execute(
                "SELECT table_name, comment FROM duckdb_tables() WHERE NOT internal "
                "AND schema_name = 'main' ORDER BY table_name").fetchall():
            if name.startswith("_"):
                continue
            count = int(con.execute(f"SELECT count(*) FROM {_quote(name)}").fetchall()[0][0])
            out.append(TableInfo(name, "table", count, tuple(cols.get(name, [])), comment or ""))
        for name, comment in con.execute(
                "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
                "ORDER BY view_name").fetchall():
            out.append(TableInfo(name, "view", None, tuple(cols.get(name, [])), comment or ""))
        return out


def _utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    raise TypeError(f"not a time: {value!r}")
