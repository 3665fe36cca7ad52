"""No control character from outside reaches a log line raw: a record id, a header or a field value that
carries a newline, an escape sequence or a NUL is written escaped (``\\n``, ``\\x1b``), so a log cannot be forged
or a terminal driven by input."""

from __future__ import annotations

import logging
import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_installed = [False]


def escape_controls(text: str) -> str:
    """``text`` with every control character but tab and newline written as an escape (newlines in arguments
    are escaped by :func:`install`, not here: a message's own layout may use them)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return escape_controls(value).replace("\n", "\\n").replace("\r", "\\r")
    return value


def install() -> None:
    """Escape control characters in the arguments of every log record from now on (idempotent)."""
    if _installed[0]:
        return
    make = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        if isinstance(record.msg, str):
            record.msg = escape_controls(record.msg)
        return record

    logging.setLogRecordFactory(factory)
    _installed[0] = True
