"""How an actual context value is read by each kind of test; the batch path mirrors these exactly.

- missing: ``None`` or a float NaN;
- as a number: ints and floats (not booleans), and strings such as ``" 4200 "`` or ``"1.5e3"``;
- as a boolean: booleans, and the strings ``true`` / ``false`` in any case;
- as a date: dates, datetimes (their own calendar date), strings starting ``YYYY-MM-DD``.
Strings are compared lower-cased.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

WS = " \t\n\r"
NUMBER_RE = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]|$)"
_NUMBER = re.compile(NUMBER_RE)
_DATE = re.compile(DATE_RE)


def is_missing(value: Any) -> bool:
    """True for ``None`` and NaN: both read as "the field is not there"."""
    return value is None or (isinstance(value, float) and value != value)


def as_number(value: Any) -> float | None:
    """The value as a number, or ``None`` when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value)
    if isinstance(value, float):
        return None if value != value else value
    if isinstance(value, str):
        text = value.strip(WS)
        if _NUMBER.match(text):
            return float(text)
    return None


def as_bool(value: Any) -> bool | None:
    """The value as a boolean, or ``None``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.lower()
        if low == "true":
            return True
        if low == "false":
            return False
    return None


def as_date(value: Any) -> date | None:
    """The value as a calendar date, or ``None``."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _DATE.match(value):
        try:
            return date(int(value[0:4]), int(value[5:7]), int(value[8:10]))
        except ValueError:
            return None
    return None


def flatten(record: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Flatten nested mappings into dotted paths: ``{"geo": {"country": "GB"}}`` -> ``{"geo.country": "GB"}``."""
    out = {} if out is None else out
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flatten(value, path + ".", out)
        else:
            out[path] = value
    return out
