"""Checks every value from outside passes before a model sees it: JSON that Python reads but nothing downstream
can hold (``NaN``, ``Infinity``, numbers past a float or a 64-bit integer, strings with lone surrogates) is
refused here, naming its place, instead of failing later as a server error."""

from __future__ import annotations

import math
from typing import Any

from revloops.core.errors import InputError
from revloops.core.ids import is_valid_id

_INT_LIMIT = 2**63


def check_plain(value: Any, field: str) -> None:
    """Raise an InputError naming the first value under ``field`` that cannot be stored or sent on.

    Raises:
        InputError: a non-finite number, an integer past 64 bits, or text that is not valid Unicode.
    """
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError("numbers must be finite (no NaN or Infinity, nothing past a float's range)", field=field)
    elif isinstance(value, int):
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            raise InputError("the number is too large", field=field)
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("the text is not valid Unicode (a lone surrogate)", field=field) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_plain(key, field)
            check_plain(item, f"{field}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_plain(item, f"{field}.{i}")


def check_record_id(value: str, field: str = "record_id", sobject: str | None = None) -> str:
    """A Salesforce record id (15 or 18 characters, a known key prefix, the checksum; of ``sobject`` if given).

    Raises:
        InputError: anything else, naming ``field``.
    """
    if not is_valid_id(value, sobject):
        what = f"a {sobject} id" if sobject else "a record id"
        raise InputError(f"{value[:40]!r} is not {what} (15 or 18 characters with the object's prefix)", field=field)
    return value
