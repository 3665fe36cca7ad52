"""The one regular-expression engine of the rules: RE2 (linear time, no catastrophic backtracking).

The live path, the batch path and validation all compile a ``matches`` pattern here, the same way, so both
paths agree and no pattern can stall a worker. A pattern RE2 cannot take (lookaround, backreferences) is
refused when the config loads, with its file and line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import re2

Search = Callable[[str], bool]


def _options() -> re2.Options:
    opts = re2.Options()
    opts.case_sensitive = False  # rules match text case-insensitively, as they always have
    opts.log_errors = False  # a refused pattern is reported as a config error, not logged by the library
    opts.never_capture = True  # a test needs no groups: cheaper matching
    return opts


@functools.lru_cache(maxsize=4096)
def compile_search(pattern: str) -> Search:
    """A case-insensitive search for ``pattern``: ``search(text)`` is true when the pattern occurs in ``text``.

    Raises:
        ValueError: RE2 cannot compile the pattern (the message says why).
    """
    try:
        compiled = re2.compile(pattern, _options())
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"bad regular expression {pattern!r}: {reason} (patterns use RE2 syntax: no "
                         "lookaround or backreferences)") from None
    search = compiled.search
    return lambda text: search(text) is not None
