"""Columnar reads of the state database: a table's columns straight into Polars frames.

Postgres is read with connectorx (rows decoded in Rust into Arrow, no Python object per row), a chunk per keyset
page on the primary key, so memory stays bounded whatever the table's size and no page is scanned twice.

A SQLite file is read the same way, but never in this process: connectorx links its own copy of SQLite, and two
copies of SQLite in one process break each other's POSIX locks on the same file (closing one copy's handle drops
the other's locks: "disk I/O error", or worse, a corrupt database). So large SQLite reads run in a child process
(``python -m revloops.adapters.sql.columns``) that streams the chunks back as Arrow IPC; the child's locks are
its own, as any second reader's are. Small tables, and in-memory databases (which live inside their connection),
are read through the engine's own connection, where a child would cost more than it saves.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Iterator, Sequence
from io import BytesIO
from typing import IO, Any

import polars as pl
import sqlalchemy as sa

from revloops.core.errors import InputError, UpstreamUnavailable
from revloops.core.frames import CHUNK_ROWS, conform, frame_schema

_KEY = "__key"  # the key columns of a keyset read: __key0, __key1
#: SQLite tables up to this many rows are read in process (a child process costs a few hundred ms to start)
CHILD_READ_ROWS = 20_000
_LENGTH = struct.Struct("<Q")


def _sqlite_file(engine: sa.Engine) -> str | None:
    url = engine.url
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:") or "mode=memory" in str(url):
        return None
    return database


def read_frames(engine: sa.Engine, table: sa.Table, sobject: str, columns: Sequence[str], *,
                chunk_rows: int | None = None, limit: int | None = None, created_order: bool = False,
                child_rows: int = CHILD_READ_ROWS, where: sa.ColumnElement[bool] | None = None
                ) -> Iterator[pl.DataFrame]:
    """Frames of ``columns`` of every row of ``table`` (at most ``limit``; with ``where``, only the rows it
    holds for), at most ``chunk_rows`` rows each, in key order, or with ``created_order`` in creation order
    (``CreatedDate``, then ``Id``; records without a creation time last), read through the table's
    (CreatedDate, Id) index.

    Raises:
        InputError: a column the table does not have.
    """
    for name in columns:
        if name not in table.c:
            raise InputError(f"{sobject} has no field {name!r}", field=name)
    frame_schema(sobject, columns)  # the fields' types, checked before a row is read
    size = max(1, chunk_rows or CHUNK_ROWS)
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        raw = _keyset_pages(url, _phases(engine, table, columns, table.c.Id, created_order, where), size, limit)
    elif backend == "sqlite" and _sqlite_file(engine) and _rows(engine, table, limit, where) > child_rows:
        key: sa.ColumnElement[Any] = sa.literal_column("rowid")
        raw = _child_pages(f"sqlite://{_sqlite_file(engine)}",
                           _phases(engine, table, columns, key, created_order, where), size, limit)
    else:
        yield from _read_in_process(engine, table, sobject, columns, size, limit, created_order, where)
        return
    for frame in raw:
        yield conform(frame.drop([c for c in frame.columns if c.startswith(_KEY)]), sobject, columns)


def read_table(engine: sa.Engine, table: sa.Table, schema: pl.Schema, *, key: str,
               chunk_rows: int | None = None, child_rows: int = CHILD_READ_ROWS,
               where: sa.ColumnElement[bool] | None = None) -> Iterator[pl.DataFrame]:
    """Frames of the ``schema``'s columns of every row (with ``where``, of the rows it holds for) of a state
    table that is not a CRM object (the signal ledger, the decision log), in key order, read the way
    ``read_frames`` reads the CRM's (connectorx on Postgres, a child process for a large SQLite file, the
    engine's connection otherwise) and cast to ``schema``."""
    columns = list(schema)
    size = max(1, chunk_rows or CHUNK_ROWS)
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        raw = _keyset_pages(url, _phases(engine, table, columns, table.c[key], False, where), size, None)
    elif backend == "sqlite" and _sqlite_file(engine) and _rows(engine, table, None, where) > child_rows:
        rowid: sa.ColumnElement[Any] = sa.literal_column("rowid")
        raw = _child_pages(f"sqlite://{_sqlite_file(engine)}", _phases(engine, table, columns, rowid, False, where),
                           size, None)
    else:
        stmt = sa.select(*(table.c[c] for c in columns))
        if where is not None:
            stmt = stmt.where(where)
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True).execute(stmt)
            while rows := result.fetchmany(size):
                yield pl.DataFrame([tuple(_json_text(v) for v in r) for r in rows], schema=schema, orient="row")
        return
    for frame in raw:
        frame = frame.drop([c for c in frame.columns if c.startswith(_KEY)])
        yield frame.with_columns(
            pl.col(name).str.to_date() if dtype == pl.Date and frame.schema[name] == pl.String
            else pl.col(name).cast(dtype) for name, dtype in schema.items())


def _json_text(value: Any) -> Any:
    """A JSON column's value as the text the database holds (as connectorx reads it), other values as they are."""
    return json.dumps(value, separators=(",", ":"), default=str) if isinstance(value, dict | list) else value


def _rows(engine: sa.Engine, table: sa.Table, limit: int | None,
          where: sa.ColumnElement[bool] | None = None) -> int:
    with engine.connect() as conn:
        stmt = sa.select(sa.func.count()).select_from(table)
        if where is not None:
            stmt = stmt.where(where)
        count = int(conn.execute(stmt).scalar_one())
    return count if limit is None else min(count, limit)


def _phases(engine: sa.Engine, table: sa.Table, columns: Sequence[str], key: Any,
            created_order: bool, only: sa.ColumnElement[bool] | None = None) -> list[dict[str, Any]]:
    """The keyset reads of a table, one after the other: each a first page's query and the template of the
    next ones (``{k0}``, ``{k1}``: the last row's key values; ``{n}``: the page size)."""
    cols = [table.c[name] for name in columns]

    def text(stmt: sa.Select[Any]) -> str:
        return str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))

    def phase(keys: list[Any], where: Any = None, labels: list[Any] | None = None) -> dict[str, Any]:
        first = sa.select(*cols, *(k.label(f"{_KEY}{i}") for i, k in enumerate(labels or keys))) \
            .order_by(*keys).limit(sa.literal_column("{n}"))
        for condition in (where, only):
            if condition is not None:
                first = first.where(condition)
        marks: list[Any] = [sa.literal_column(f"{{k{i}}}") for i in range(len(keys))]
        if engine.url.get_backend_name() == "postgresql" and len(keys) == 2:
            marks[0] = sa.cast(marks[0], table.c.CreatedDate.type)  # the key comes back as its text
        after = first.where(sa.tuple_(*keys) > sa.tuple_(*marks)) if len(keys) > 1 else first.where(keys[0] > marks[0])
        return {"first": text(first), "next": text(after), "keys": len(keys)}

    if not created_order:
        return [phase([key])]
    created = table.c.CreatedDate
    # ordered and compared on the column (its index), the last value read back as the text the database keeps
    dated = phase([created, table.c.Id], created.is_not(None), labels=[sa.cast(created, sa.Text), table.c.Id])
    return [dated, phase([table.c.Id], created.is_(None))]


def _literal(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _pages(read: Any, phases: list[dict[str, Any]], size: int, limit: int | None) -> Iterator[pl.DataFrame]:
    left = limit
    for sql in phases:
        last: list[Any] | None = None
        while left is None or left > 0:
            n = size if left is None else min(size, left)
            query = sql["first"] if last is None else sql["next"]
            for i, value in enumerate(last or ()):
                query = query.replace(f"{{k{i}}}", _literal(value))
            frame: pl.DataFrame = read(query.replace("{n}", str(n)))
            if frame.height == 0:
                break
            last = [frame[f"{_KEY}{i}"][-1] for i in range(int(sql["keys"]))]
            yield frame
            if left is not None:
                left -= frame.height
            if frame.height < n:
                break


def _keyset_pages(url: str, phases: list[dict[str, Any]], size: int, limit: int | None) -> Iterator[pl.DataFrame]:
    import connectorx as cx

    def read(query: str) -> pl.DataFrame:
        return pl.from_arrow(cx.read_sql(url, query, return_type="arrow"))  # type: ignore[return-value]

    yield from _pages(read, phases, size, limit)


def _child_pages(url: str, phases: list[dict[str, Any]], size: int, limit: int | None) -> Iterator[pl.DataFrame]:
    """Pages read by a child process, streamed back as length-prefixed Arrow IPC."""
    job = json.dumps({"url": url, "phases": phases, "size": size, "limit": limit})
    child = subprocess.Popen([sys.executable, "-m", "revloops.adapters.sql.columns"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdin.write(job.encode())
        child.stdin.close()
        while header := child.stdout.read(_LENGTH.size):
            (length,) = _LENGTH.unpack(header)
            yield pl.read_ipc_stream(BytesIO(child.stdout.read(length)))
    finally:
        child.stdout.close()
        code = child.wait()
        error = child.stderr.read().decode(errors="replace").strip() if child.stderr else ""
        if child.stderr:
            child.stderr.close()
    if code != 0:
        raise UpstreamUnavailable(f"reading the state database failed: {error.splitlines()[-1] if error else code}")


def _read_in_process(engine: sa.Engine, table: sa.Table, sobject: str, columns: Sequence[str],
                     size: int, limit: int | None, created_order: bool,
                     where: sa.ColumnElement[bool] | None = None) -> Iterator[pl.DataFrame]:
    stmt = sa.select(*(table.c[name] for name in columns))
    if where is not None:
        stmt = stmt.where(where)
    if created_order:  # records without a creation time last, as the keyset read has them
        stmt = stmt.order_by(table.c.CreatedDate.is_(None), table.c.CreatedDate, table.c.Id)
    if limit is not None:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(stmt)
        while rows := result.fetchmany(size):
            raw = pl.DataFrame({name: pl.Series(name, [row[i] for row in rows], strict=False)
                                for i, name in enumerate(columns)})
            yield conform(raw, sobject, columns)


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The child's side: run the keyset pages of the job on stdin and write each as Arrow IPC to stdout."""
    import connectorx as cx

    job = json.loads(stdin.read())

    def read(query: str) -> pl.DataFrame:
        return pl.from_arrow(cx.read_sql(job["url"], query, return_type="arrow"))  # type: ignore[return-value]

    for frame in _pages(read, job["phases"], int(job["size"]), job["limit"]):
        buffer = BytesIO()
        frame.write_ipc_stream(buffer)
        data = buffer.getvalue()
        stdout.write(_LENGTH.pack(len(data)))
        stdout.write(data)
        stdout.flush()


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
