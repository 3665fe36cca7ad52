"""Hot statements: written once as SQLAlchemy Core, compiled once per engine, run on the driver's cursor.

A Core statement executed through a SQLAlchemy ``Connection`` costs 150-350 µs before the database does
anything (building it, its cache key, the execution context, the result object, the pooled connection's
wrapper); the driver runs the same SQL in 10-30 µs. The inbound chain runs about twenty statements per
lead, so that machinery was most of a lead's own cost (docs/PERFORMANCE.md, "Chain").

``Prepared`` keeps what SQLAlchemy is good at: the statement is written against the same ``Table`` objects,
compiled by the engine's dialect (quoting, placeholders, Postgres casts), and its values go through the
column types' own bind and result processors (JSON, SQLite's datetimes), so a row written here reads the
same through a ``Connection`` and back. What it drops is the per-call work: the compiled form, its
parameter order and its processors are worked out once.

``FastSQL.unit`` is one short unit of work on one pooled connection: everything inside commits together or
not at all. On SQLite a writing unit starts with ``BEGIN IMMEDIATE``, so it takes the write lock before its
first read and two writers queue on ``busy_timeout`` instead of failing on a stale snapshot.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None


class Prepared:
    """One statement compiled for one dialect, with its parameters' order and processors worked out."""

    __slots__ = ("sql", "positional", "_names", "_binds", "columns", "_types", "_dialect", "_results")

    def __init__(self, statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys is not None else None)
        assert isinstance(compiled, SQLCompiler)
        if compiled.escaped_bind_names:  # names the driver would see escaped: keep to plain names
            raise ValueError(f"bind names need escaping: {sorted(compiled.escaped_bind_names)}")
        self.sql: str = compiled.string
        self.positional: bool = bool(compiled.positional)
        names = list(compiled.positiontup or ()) if self.positional else list(compiled.binds)
        self._names = tuple(names)
        binds = []
        for name in names:
            bind = compiled.binds[name]
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            default = None if bind.callable is not None else bind.value
            binds.append((bind.key, default, proc))
        self._binds: tuple[tuple[str, Any, Processor], ...] = tuple(binds)
        self.columns: tuple[str, ...] = ()
        self._types: tuple[Any, ...] = ()
        self._dialect = dialect
        self._results: tuple[Processor, ...] | None = None
        selected = getattr(statement, "selected_columns", None)
        if selected is not None:
            self.columns = tuple(c.key for c in selected)
            self._types = tuple(c.type.dialect_impl(dialect) for c in selected)

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for ``values`` (a bind not given takes the value it was written with)."""
        out = []
        for key, default, proc in self._binds:
            value = values.get(key, default)
            out.append(proc(value) if proc is not None else value)
        return tuple(out) if self.positional else dict(zip(self._names, out, strict=True))

    def processors(self, description: Sequence[Sequence[Any]]) -> tuple[Processor, ...]:
        """The result processors for the driver's column types (some depend on them, e.g. Postgres floats);
        worked out on the first fetch, then kept."""
        if self._results is None:
            self._results = tuple(t.result_processor(self._dialect, d[1])
                                  for t, d in zip(self._types, description, strict=True))
        return self._results

    def row(self, raw: Sequence[Any], processors: Sequence[Processor]) -> dict[str, Any]:
        """A fetched row as ``{column key: value}``, each value through its type's result processor."""
        return {key: (proc(value) if proc is not None and value is not None else value)
                for key, proc, value in zip(self.columns, processors, raw, strict=True)}


class Unit:
    """Statements run inside one unit of work (see ``FastSQL.unit``)."""

    __slots__ = ("cursor",)

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def execute(self, prepared: Prepared, values: Mapping[str, Any] | None = None) -> int:
        """Run a statement; answers the rows it touched (for a write)."""
        self.cursor.execute(prepared.sql, prepared.params(values or {}))
        return int(self.cursor.rowcount)

    def execute_many(self, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a statement once per row of values."""
        self.cursor.executemany(prepared.sql, [prepared.params(r) for r in rows])

    def first(self, prepared: Prepared, values: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """The first row a query answers, or None."""
        self.cursor.execute(prepared.sql, prepared.params(values or {}))
        raw = self.cursor.fetchone()
        return None if raw is None else prepared.row(raw, prepared.processors(self.cursor.description))

    def all(self, prepared: Prepared, values: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every row a query answers."""
        self.cursor.execute(prepared.sql, prepared.params(values or {}))
        rows = self.cursor.fetchall()
        if not rows:
            return []
        processors = prepared.processors(self.cursor.description)
        return [prepared.row(raw, processors) for raw in rows]


class FastSQL:
    """Prepared statements for one engine, and short units of work on its pooled driver connections."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self._sqlite = engine.dialect.name == "sqlite"
        self._postgres = engine.dialect.name == "postgresql"
        self._prepared: dict[tuple[Any, ...], Prepared] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        dbapi = engine.dialect.loaded_dbapi
        #: The driver's errors for a broken unique or foreign key (``except sql.IntegrityError``), and for a
        #: database that could not be used (SQLite's "database is locked" after ``busy_timeout``).
        self.IntegrityError: type[Exception] = dbapi.IntegrityError
        self.OperationalError: type[Exception] = dbapi.OperationalError

    def prepare(self, key: Any, build: Callable[[], ClauseElement], column_keys: Sequence[str] | None = None) -> Prepared:
        """The statement ``build()`` makes, compiled once per ``key`` (and per set of ``column_keys`` for an
        insert or update, whose SET / VALUES list is the keys given).

        Every store on an engine shares its ``FastSQL``: keys start with the store's name (``"crm.get"``).
        """
        cache_key = (key, tuple(column_keys) if column_keys is not None else None)
        found = self._prepared.get(cache_key)
        if found is None:
            found = Prepared(build(), self.dialect, column_keys)
            with self._lock:
                self._prepared.setdefault(cache_key, found)
        return found

    @contextmanager
    def unit(self, write: bool = False, savepoint: bool = False) -> Iterator[Unit]:
        """One unit of work: commits when the block ends, rolls back when it raises.

        A reading unit on Postgres runs in autocommit: each read is one round trip, with no BEGIN and
        COMMIT around it (the snapshot of one statement is all a single read needs).

        Inside ``together`` the block runs in the batch's unit; with ``savepoint`` it is a savepoint there,
        so a block that raises undoes only its own statements and the batch can carry on (on Postgres a
        failed statement aborts the whole transaction; on SQLite the rows a failed ``execute_many`` wrote
        before its bad row would stay). Ask for it where a store recovers from a database error itself (a
        duplicate answered as a rejection, a lost race retried).
        """
        joined: Unit | None = getattr(self._local, "unit", None)
        if joined is None:
            with self._unit(write) as unit:
                yield unit
        elif not savepoint:  # inside ``together``: the batch's unit, committed when the batch ends
            yield joined
        else:
            joined.cursor.execute("SAVEPOINT fast_unit")
            try:
                yield joined
            except BaseException:
                joined.cursor.execute("ROLLBACK TO SAVEPOINT fast_unit")
                joined.cursor.execute("RELEASE SAVEPOINT fast_unit")
                raise
            joined.cursor.execute("RELEASE SAVEPOINT fast_unit")

    @contextmanager
    def together(self) -> Iterator[None]:
        """Every unit this thread opens on this engine inside the block is one writing unit: the writes
        commit together or not at all (a step's CRM update and its decision), with one commit.

        Keep the block to statements of this engine: on SQLite it holds the write lock throughout.
        """
        if getattr(self._local, "unit", None) is not None:
            yield  # already together
            return
        with self.unit(write=True) as unit:
            self._local.unit = unit
            try:
                yield
            finally:
                self._local.unit = None

    @contextmanager
    def _unit(self, write: bool) -> Iterator[Unit]:
        conn = self.engine.raw_connection()
        try:
            autocommit = not write and self._postgres
            if autocommit:
                conn.driver_connection.autocommit = True  # type: ignore[union-attr]
            cursor = conn.cursor()
            if write and self._sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            try:
                yield Unit(cursor)
            except BaseException:
                conn.rollback()
                raise
            finally:
                if autocommit:
                    conn.driver_connection.autocommit = False  # type: ignore[union-attr]
            conn.commit()
        finally:
            conn.close()


_by_engine: weakref.WeakKeyDictionary[sa.Engine, FastSQL] = weakref.WeakKeyDictionary()
_by_engine_lock = threading.Lock()


def fast_sql(engine: sa.Engine) -> FastSQL:
    """The engine's ``FastSQL``, one per engine (held only as long as the engine), so each statement
    compiles once however many stores are built on the engine."""
    found = _by_engine.get(engine)
    if found is None:
        with _by_engine_lock:
            found = _by_engine.get(engine)
            if found is None:
                found = _by_engine[engine] = FastSQL(engine)
    return found
