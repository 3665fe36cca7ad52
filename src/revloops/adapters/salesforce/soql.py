"""SOQL built from data: every value is escaped or formatted by type, every name checked against our records.

Nothing a user typed reaches a query except through ``literal``; field and object names must be fields
of our record models, so they cannot carry SOQL either.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Iterable, Sequence
from typing import Any

from revloops.core.errors import InputError
from revloops.core.records import SObject, model_for
from revloops.ports.crm import Filter, Query

# Salesforce's escape sequences for quoted strings (SOQL and SOSL reference, "Quoted String Escape Sequences").
_ESCAPES = str.maketrans({
    "\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
})
_OPS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "like": "LIKE"}


def escape(text: str) -> str:
    """``text`` with quotes, backslashes and control characters escaped for a SOQL string literal."""
    return text.translate(_ESCAPES)


def literal(value: Any) -> str:
    """A Python value as a SOQL literal: quoted text, bare numbers, booleans, dates and null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | decimal.Decimal):
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{value!r} is not a number SOQL can compare")
        return format(decimal.Decimal(str(value)), "f")  # SOQL has no exponent notation
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return f"'{escape(value)}'"
    raise InputError(f"cannot use a {type(value).__name__} as a SOQL value")


def model_of(sobject: str) -> type[SObject]:
    """The record class of an object, or InputError naming it."""
    try:
        return model_for(sobject)
    except KeyError as exc:
        raise InputError(str(exc.args[0]), field="sobject") from None


def field_name(model: type[SObject], name: str) -> str:
    """``name`` when it is a field of ``model``; InputError otherwise (names are never taken on trust)."""
    if name not in model.model_fields:
        raise InputError(f"no such field on {model.sobject_type}", field=name)
    return name


def condition(model: type[SObject], flt: Filter) -> str:
    """One filter as a SOQL condition (``!=`` and ``NOT IN`` match nulls in SOQL, as in our port)."""
    name = field_name(model, flt.field)
    if flt.op in ("in", "not_in"):
        values = list(flt.value)
        if not values:
            # SOQL refuses an empty IN list; an empty set matches nothing (or everything, negated).
            return "Id = null" if flt.op == "in" else "Id != null"
        keyword = "IN" if flt.op == "in" else "NOT IN"
        return f"{name} {keyword} ({', '.join(literal(v) for v in values)})"
    if flt.op not in _OPS:
        raise InputError(f"unknown operator {flt.op!r}", field=flt.field)
    if flt.op == "like" and not isinstance(flt.value, str):
        raise InputError("like takes a text pattern", field=flt.field)
    return f"{name} {_OPS[flt.op]} {literal(flt.value)}"


def select(sobject: str, fields: Iterable[str], filters: Sequence[Filter] = (),
           order_by: Sequence[tuple[str, bool]] = (), limit: int | None = None) -> str:
    """A SELECT of ``fields`` from ``sobject`` with ANDed filters, an order and a limit."""
    model = model_of(sobject)
    names = [field_name(model, f) for f in fields]
    soql = f"SELECT {', '.join(names)} FROM {model.sobject_type}"
    if filters:
        soql += " WHERE " + " AND ".join(condition(model, f) for f in filters)
    if order_by:
        # Salesforce's defaults differ by direction; spell them out so pages are stable and predictable.
        soql += " ORDER BY " + ", ".join(
            f"{field_name(model, f)} {'DESC NULLS LAST' if desc else 'ASC NULLS FIRST'}" for f, desc in order_by
        )
    if limit is not None:
        if limit < 0:
            raise InputError("limit must not be negative", field="limit")
        soql += f" LIMIT {int(limit)}"
    return soql


def query_soql(query: Query) -> str:
    """The SOQL of a port ``Query``: every field of the object's record, ordered, limited."""
    model = model_of(query.sobject)
    order = tuple(query.order_by)
    if all(f != "Id" for f, _ in order):
        # A total order lets a page be re-read (page sizes under Salesforce's 200 minimum batch do that).
        order += (("Id", False),)
    return select(query.sobject, list(model.model_fields), query.filters, order, query.limit)


def lookup_soql(sobject: str, field: str, value: Any, limit: int = 2) -> str:
    """``SELECT Id FROM sobject WHERE field = value LIMIT n``: find records by one field's value."""
    return select(sobject, ["Id"], [Filter(field, "eq", value)], limit=limit)
