"""The evaluation context a rule's conditions read: one flat dict of dotted paths to plain values.

Keys (spec: Route, "Conditions"): the record's own fields bare (``Country``, ``NumberOfEmployees``),
``geo.country|region|postal|ambiguous`` derived from the record's address fields, ``account.<Field>`` of
the matched account, ``enrichment.<path>``, ``score.total|fit|intent``, ``signal.<path>`` and ``segment``.
A field that is None is left out, so conditions see it as missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from revloops.core.geo import normalise_geo

# The address fields each object keeps its geography in: (country, state, postal, city).
GEO_FIELDS: dict[str, tuple[str, str, str, str]] = {
    "Lead": ("Country", "State", "PostalCode", "City"),
    "Account": ("BillingCountry", "BillingState", "BillingPostalCode", "BillingCity"),
    "Contact": ("MailingCountry", "MailingState", "MailingPostalCode", "MailingCity"),
    "User": ("Country", "State", "PostalCode", "City"),
}
_SCALARS = (str, bool, int, float, dt.date, dt.datetime)
_SCORE_FALLBACK = {"total": "Lead_Score__c", "fit": "Fit_Score__c", "intent": "Intent_Score__c"}


class EmployeeRangeDef(Protocol):
    """An employee-count range that says whether it holds a count."""

    def contains(self, employees: int) -> bool: ...


class SegmentDef(Protocol):
    """What ``segment_for`` needs of a segment definition (the Design config's ``Segment`` fits)."""

    @property
    def id(self) -> str: ...

    @property
    def employees(self) -> EmployeeRangeDef: ...


def _object_of(record: Mapping[str, Any], sobject: str | None) -> str:
    if sobject:
        return sobject
    attributes = record.get("attributes")
    if isinstance(attributes, Mapping) and isinstance(attributes.get("type"), str):
        return str(attributes["type"])
    if any(k in record for k in ("BillingCountry", "BillingState", "BillingPostalCode")):
        return "Account"
    if any(k in record for k in ("MailingCountry", "MailingState")):
        return "Contact"
    return "Lead"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def geo_of(record: Mapping[str, Any], sobject: str | None = None) -> dict[str, Any]:
    """The ``geo.*`` keys of a record (object guessed from its fields when ``sobject`` is not given)."""
    country, state, postal, city = GEO_FIELDS.get(_object_of(record, sobject), GEO_FIELDS["Lead"])
    geo = normalise_geo(
        _text(record.get(country)), _text(record.get(state)), _text(record.get(postal)), _text(record.get(city))
    )
    out: dict[str, Any] = {"geo.ambiguous": geo.ambiguous}
    for key, value in (("geo.country", geo.country), ("geo.region", geo.region), ("geo.postal", geo.postal)):
        if value is not None:
            out[key] = value
    return out


def flatten(prefix: str, data: Mapping[str, Any], out: dict[str, Any]) -> None:
    """Write ``data`` into ``out`` as ``prefix.key.sub`` paths.

    Nested mappings are followed; lists of scalars become tuples (for ``in``/``contains``); lists holding
    mappings are left out, since no path can address their items. None values are left out.
    """
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            flatten(path, value, out)
        elif isinstance(value, _SCALARS):
            out[path] = value
        elif isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            if all(isinstance(v, _SCALARS) for v in items):
                out[path] = tuple(items)
        else:
            out[path] = str(value)


def head_count(value: object) -> int | None:
    """A head count as an int (``"4200"`` and ``4200.0`` too); None when it is not one."""
    try:
        return int(float(value)) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def segment_for(employees: int | None, segments: Iterable[SegmentDef]) -> str | None:
    """The id of the first segment whose employee range holds ``employees`` (None when unknown or none does)."""
    if employees is None:
        return None
    for seg in segments:
        if seg.employees.contains(employees):
            return seg.id
    return None


def segment_by_ranges(employees: int | None, ranges: Sequence[tuple[str, int, int | None]]) -> str | None:
    """The first ``(id, min, max)`` range (inclusive, max None = open) holding ``employees``, or None."""
    if employees is None:
        return None
    for seg_id, low, high in ranges:
        if employees >= low and (high is None or employees <= high):
            return seg_id
    return None


def build_context(
    record: Mapping[str, Any],
    *,
    account: Mapping[str, Any] | None = None,
    enrichment: Mapping[str, Any] | None = None,
    score: Mapping[str, Any] | None = None,
    segment: str | None = None,
    signal: Mapping[str, Any] | None = None,
    sobject: str | None = None,
) -> dict[str, Any]:
    """The flat evaluation context of one record.

    Args:
        record: the record's fields by Salesforce API name.
        account: the matched account's fields (``account.*``), or None when no account matched.
        enrichment: the enrichment payload (``enrichment.*``; nested mappings become dotted paths).
        score: ``total``/``fit``/``intent``; when None they are read from ``Lead_Score__c``,
            ``Fit_Score__c`` and ``Intent_Score__c``.
        segment: the record's segment id; when None, the record's ``Segment__c`` if set.
        signal: the outbound signal (``signal.*``).
        sobject: the record's object (``Lead``, ``Account``...); guessed from its fields when None.

    Returns:
        Dotted path -> plain value; None values are left out so a condition sees them as missing.
    """
    ctx: dict[str, Any] = {}
    flatten("", {k: v for k, v in record.items() if k != "attributes"}, ctx)
    ctx.update(geo_of(record, sobject))
    if account:
        flatten("account", {k: v for k, v in account.items() if k != "attributes"}, ctx)
    if enrichment:
        flatten("enrichment", enrichment, ctx)
    if score is None:
        score = {name: record.get(fld) for name, fld in _SCORE_FALLBACK.items()}
    flatten("score", score, ctx)
    if signal:
        flatten("signal", signal, ctx)
    seg = segment if segment is not None else record.get("Segment__c")
    if seg is not None:
        ctx["segment"] = seg
    return ctx
