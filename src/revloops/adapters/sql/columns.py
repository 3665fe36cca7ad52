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

_KEY = "__key"
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
                chunk_rows: int | None = None, limit: int | None = None,
                child_rows: int = CHILD_READ_ROWS) -> Iterator[pl.DataFrame]:
    """Frames of ``columns`` of every row of ``table`` (at most ``limit``), at most ``chunk_rows`` rows each,
    in key order.

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
        raw = _keyset_pages(url, _keyset_sql(engine, table, columns, table.c.Id), size, limit)
    elif backend == "sqlite" and _sqlite_file(engine) and _rows(engine, table, limit) > child_rows:
        key: sa.ColumnElement[Any] = sa.literal_column("rowid")
        raw = _child_pages(f"sqlite://{_sqlite_file(engine)}", _keyset_sql(engine, table, columns, key), size, limit)
    else:
        yield from _read_in_process(engine, table, sobject, columns, size, limit)
        return
    for frame in raw:
        yield conform(frame.drop(_KEY), sobject, columns)


def _rows(engine: sa.Engine, table: sa.Table, limit: int | None) -> int:
    with engine.connect() as conn:
        stmt = sa.select(sa.func.count()).select_from(table)
        count = int(conn.execute(stmt).scalar_one())
    return count if limit is None else min(count, limit)


def _keyset_sql(engine: sa.Engine, table: sa.Table, columns: Sequence[str], key: Any) -> dict[str, str]:
    """The first page's query and the template of the next ones (``{last}`` and ``{n}`` filled in per page)."""
    cols = [table.c[name] for name in columns]
    first = sa.select(*cols, key.label(_KEY)).order_by(key).limit(sa.literal_column("{n}"))
    after = first.where(key > sa.literal_column("{last}"))

    def text(stmt: sa.Select[Any]) -> str:
        return str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))

    return {"first": text(first), "next": text(after)}


def _literal(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _pages(read: Any, sql: dict[str, str], size: int, limit: int | None) -> Iterator[pl.DataFrame]:
    last: Any = None
    left = limit
    while left is None or left > 0:
        n = size if left is None else min(size, left)
        query = (sql["first"] if last is None else sql["next"].replace("{last}", _literal(last))).replace("{n}", str(n))
        frame: pl.DataFrame = read(query)
        if frame.height == 0:
            return
        last = frame[_KEY][-1]
        yield frame
        if left is not None:
            left -= frame.height
        if frame.height < n:
            return


def _keyset_pages(url: str, sql: dict[str, str], size: int, limit: int | None) -> Iterator[pl.DataFrame]:
    import connectorx as cx

    def read(query: str) -> pl.DataFrame:
        return pl.from_arrow(cx.read_sql(url, query, return_type="arrow"))  # type: ignore[return-value]

    yield from _pages(read, sql, size, limit)


def _child_pages(url: str, sql: dict[str, str], size: int, limit: int | None) -> Iterator[pl.DataFrame]:
    """Pages read by a child process, streamed back as length-prefixed Arrow IPC."""
    job = json.dumps({"url": url, "sql": sql, "size": size, "limit": limit})
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
                     size: int, limit: int | None) -> Iterator[pl.DataFrame]:
    stmt = sa.select(*(table.c[name] for name in columns))
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

    for frame in _pages(read, job["sql"], int(job["size"]), job["limit"]):
        buffer = BytesIO()
        frame.write_ipc_stream(buffer)
        data = buffer.getvalue()
        stdout.write(_LENGTH.pack(len(data)))
        stdout.write(data)
        stdout.flush()


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
