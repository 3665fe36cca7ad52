"""Records as columns: the Polars schema of an object's fields, and frames built from records.

The batch paths (route preview and diff, territory assign, rescoring) read stored records as frames of the
columns they need instead of one model per row; every reader (the embedded CRM's, Salesforce's Bulk API)
answers frames of exactly this schema, so the columnar contexts read one shape whatever the source.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import polars as pl

from revloops.core.errors import InputError
from revloops.core.records import SObject, model_for

#: rows per chunk a columnar reader answers: bounded memory whatever the table's size
CHUNK_ROWS = 250_000

_DTYPES: dict[type, pl.DataType] = {
    str: pl.String(), int: pl.Int64(), float: pl.Float64(), bool: pl.Boolean(), dt.date: pl.Date(),
    dt.datetime: pl.Datetime("us", "UTC"),
}


def scalar_type(annotation: Any) -> type:
    """The scalar type of a record field's annotation (the ``X`` of ``X | None``)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return args[0]  # type: ignore[no-any-return]
    return annotation  # type: ignore[no-any-return]


def field_dtype(sobject: str, name: str) -> pl.DataType:
    """The Polars type of one field of an object.

    Raises:
        InputError: the object has no such field.
    """
    model = model_for(sobject)
    info = model.model_fields.get(name)
    if info is None:
        raise InputError(f"{sobject} has no field {name!r}", field=name)
    return _DTYPES[scalar_type(info.annotation)]


def frame_schema(sobject: str, columns: Sequence[str] | None = None) -> pl.Schema:
    """The schema of a frame of ``columns`` of ``sobject`` (every field when None), in the order given."""
    names = list(columns) if columns is not None else list(model_for(sobject).model_fields)
    return pl.Schema({name: field_dtype(sobject, name) for name in names})


def empty_frame(sobject: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """No rows, the right columns."""
    return pl.DataFrame(schema=frame_schema(sobject, columns))


def _utc(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def records_to_frame(sobject: str, records: Iterable[SObject | Mapping[str, Any]],
                     columns: Sequence[str]) -> pl.DataFrame:
    """A frame of ``columns`` from records or mappings (the path for inline records and files)."""
    schema = frame_schema(sobject, columns)
    rows = [r.fields() if isinstance(r, SObject) else r for r in records]
    data = {name: pl.Series(name, [_utc(row.get(name)) for row in rows], dtype=dtype, strict=False)
            for name, dtype in schema.items()}
    return pl.DataFrame(data, schema=schema) if rows else empty_frame(sobject, columns)


def chunked(records: Iterable[SObject], sobject: str, columns: Sequence[str],
            chunk_rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """Frames of at most ``chunk_rows`` rows from a stream of records (the reader of last resort)."""
    batch: list[SObject] = []
    for record in records:
        batch.append(record)
        if len(batch) >= chunk_rows:
            yield records_to_frame(sobject, batch, columns)
            batch = []
    if batch:
        yield records_to_frame(sobject, batch, columns)


def conform(frame: pl.DataFrame, sobject: str, columns: Sequence[str]) -> pl.DataFrame:
    """``frame`` cast to the schema of ``columns`` (missing columns as nulls), for readers whose driver types a
    column its own way (SQLite's text datetimes, Bulk API CSV's strings)."""
    schema = frame_schema(sobject, columns)
    exprs = []
    for name, dtype in schema.items():
        if name not in frame.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
            continue
        col = pl.col(name)
        have = frame.schema[name]
        if have == dtype:
            exprs.append(col)
        elif isinstance(dtype, pl.Datetime) and have == pl.String:
            exprs.append(col.str.to_datetime(time_zone="UTC", strict=False).dt.cast_time_unit("us").alias(name))
        elif isinstance(dtype, pl.Datetime) and isinstance(have, pl.Datetime):
            exprs.append((col.dt.replace_time_zone("UTC") if have.time_zone is None
                          else col.dt.convert_time_zone("UTC")).dt.cast_time_unit("us").alias(name))
        elif dtype == pl.Date and have == pl.String:
            exprs.append(col.str.slice(0, 10).str.to_date(strict=False).alias(name))
        elif dtype == pl.Boolean and have == pl.String:
            exprs.append(col.str.to_lowercase().replace_strict({"true": True, "false": False, "1": True, "0": False},
                                                               default=None, return_dtype=pl.Boolean).alias(name))
        else:
            exprs.append(col.cast(dtype, strict=False).alias(name))
    return frame.select(exprs)


def in_created_order(frames: Iterable[pl.DataFrame], chunk_rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """Frames re-cut in creation order (``CreatedDate``, then ``Id``; none last), for a source that cannot
    order its reads (Salesforce's Bulk API 2.0 takes no ORDER BY): the columns read are held whole to sort them."""
    parts = list(frames)
    if not parts:
        return
    whole = pl.concat(parts).sort(["CreatedDate", "Id"], nulls_last=True, maintain_order=True)
    yield from whole.iter_slices(chunk_rows)
