"""The revenue warehouse's ports: where its tables come from, and the columnar store they land in.

Coach's refresh (``loops/coach/warehouse.py``) reads each source incrementally from a ``WarehouseSources``
(the state database and the CRM) and writes it into a ``Warehouse`` (a DuckDB file); the metric registry and
the report query the views over those tables. Neither side knows the other's technology.
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

SourceKind = Literal["crm", "state"]


def schema_signature(schema: pl.Schema) -> str:
    """A short digest of a schema's column names and types: when it changes, the next load is a full one."""
    text = ";".join(f"{name}:{dtype}" for name, dtype in schema.items())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Source:
    """One table of the warehouse and where it comes from.

    Attributes:
        table: the warehouse table's name (``crm_lead``, ``decisions``...).
        kind: ``crm`` (a CRM object, read through the CRM port) or ``state`` (a table of the state database).
        origin: the CRM object (``Lead``) or the state table (``decisions``) it is read from.
        key: the columns a row is known by; a re-read row replaces the stored one.
        watermark: the column an incremental read starts from (rows at or after the last load's highest
            value are read again, so a row written in the same instant as the last read is never missed);
            None: the source is small and read whole each refresh.
        columns: the columns read (None: every column).
        description: one line for the docs and ``warehouse tables``.
    """

    table: str
    kind: SourceKind
    origin: str
    key: tuple[str, ...]
    watermark: str | None
    columns: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class TableInfo:
    """A table or view of the warehouse, with its row count (None for a view) and columns."""

    name: str
    kind: Literal["table", "view"]
    rows: int | None
    columns: tuple[tuple[str, str], ...]
    description: str = ""


@dataclass(frozen=True)
class LoadMark:
    """What the last load of a table left: the highest watermark seen, rows in the table, and when."""

    table: str
    watermark: dt.datetime | None
    rows: int
    loaded_at: dt.datetime
    signature: str


@dataclass
class LoadResult:
    """What one load of one table did."""

    table: str
    mode: Literal["full", "incremental", "skipped"]
    read: int = 0
    changed: int = 0  # rows of an incremental load that differed from the stored ones
    rows: int = 0
    watermark: dt.datetime | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WarehouseAnswer:
    """The rows of one read-only statement: column names and types, the rows (at most the cap), whether
    there were more, and how long it took."""

    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool
    elapsed_ms: float


@dataclass(frozen=True)
class Published:
    """What a publish copied: rows per table, rows in all, seconds."""

    tables: dict[str, int]
    rows: int
    seconds: float


class WarehouseSources(abc.ABC):
    """Reads the warehouse's sources as frames."""

    @abc.abstractmethod
    def sources(self) -> list[Source]:
        """Every table this store can feed the warehouse with."""

    @abc.abstractmethod
    def read(self, source: Source, since: dt.datetime | None) -> Iterator[pl.DataFrame]:
        """The source's rows (with ``since``, those whose watermark column is at or after it) in chunks."""

    @abc.abstractmethod
    def schema(self, source: Source) -> pl.Schema:
        """The columns and types the source's frames have (an empty source still makes its table)."""

    @abc.abstractmethod
    def count(self, source: Source) -> int | None:
        """How many rows the source holds, for a progress bar (None when counting would cost a read)."""


class Warehouse(abc.ABC):
    """The columnar store of the warehouse (a DuckDB file by default)."""

    location: str

    @abc.abstractmethod
    def marks(self) -> dict[str, LoadMark]:
        """The last load of each table."""

    @abc.abstractmethod
    def load(self, source: Source, schema: pl.Schema, frames: Iterable[pl.DataFrame], *, replace: bool,
             on_rows: Callable[[int], None] | None = None) -> LoadResult:
        """Write a source's frames in one transaction: ``replace`` makes the table anew from ``schema``;
        otherwise each row replaces the stored row with the same key, and the keys are added to
        ``_changed_<table>`` for the facts built from it. Records the load's mark: the highest watermark seen
        (the previous one when nothing was read) and the schema's signature."""

    @abc.abstractmethod
    def put_frame(self, table: str, frame: pl.DataFrame, description: str = "") -> int:
        """Replace a derived table (Design's capacity by month, the roster) with ``frame``; answers its rows."""

    @abc.abstractmethod
    def create_views(self, views: Sequence[tuple[str, str, str]]) -> list[str]:
        """(name, select, description) views, replaced; answers the names of views that could not be created
        with the reason (a source that has not landed yet), which the refresh reports."""

    @abc.abstractmethod
    def forget(self) -> None:
        """Drop every mark, so the next load of each table is a full one (``refresh --full``)."""

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement that builds the warehouse's own tables (a fact's rebuild), in its own commit."""

    @abc.abstractmethod
    def has_table(self, name: str) -> bool:
        """Whether a table exists."""

    @abc.abstractmethod
    def pending(self) -> tuple[set[str], set[str]]:
        """What the facts have not caught up with: the tables made anew (a full load, a derived table
        rewritten) and the tables with changed keys (``_changed_<table>``) since the last ``settle``."""

    @abc.abstractmethod
    def settle(self) -> None:
        """Forget what ``pending`` answers (the facts are up to date with it)."""

    @abc.abstractmethod
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """The rows of one read query as a frame."""

    @abc.abstractmethod
    def tables(self) -> list[TableInfo]:
        """The tables and views, with their columns."""

    @abc.abstractmethod
    def exists(self) -> bool:
        """Whether the warehouse has been loaded at least once."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store."""
