"""The one regular-expression engine of the rules: RE2 (linear time, no catastrophic backtracking).

The live path, the batch path and validation all compile a ``matches`` pattern here, the same way, so both
paths agree and no pattern can stall a worker. A pattern RE2 cannot take (lookaround, backreferences) is
refused when the config loads, with its file and line.
"""

from __future__ import annotations

import functools
import re
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


#: escapes RE2 and Rust's regex read alike once ASCII classes are spelled out (RE2's \d \w \s are ASCII)
_CLASS_ESCAPES = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
_BOUND = re.compile(r"\{[0-9]+(,[0-9]*)?\}")
_LITERAL_ESCAPES = frozenset(".\\-()[]{}*+?|^$/@#&~%=!:,;'\"<> ")


def _escape(ch: str, in_class: bool) -> str | None:
    if ch in _CLASS_ESCAPES:
        return _CLASS_ESCAPES[ch] if in_class else f"[{_CLASS_ESCAPES[ch]}]"
    if ch == "b" and not in_class:
        return "(?-u:\\b)"  # RE2's word boundary is ASCII; Rust's would be Unicode
    if ch in _LITERAL_ESCAPES:
        return "\\" + ch
    return None


@functools.lru_cache(maxsize=4096)
def columnar_pattern(pattern: str) -> str | None:
    """The pattern in Rust's regex syntax (Polars' ``str.contains``) when both engines provably read it alike,
    else None (the batch path then runs RE2 on each distinct value).

    Rust's regex is linear-time too; what could differ is meaning, so only a small subset is translated: literal
    characters, ``.``, groups (plain and ``(?:``), alternation, quantifiers, ``^``/``$``, bracket classes of
    literals and ranges, and the escapes ``\\d \\w \\s \\b`` spelled out as the ASCII classes RE2 reads them as.
    Everything is matched case-insensitively, as RE2 is told to. A property test holds the two to the same
    answer on generated patterns and texts.
    """
    try:
        compile_search(pattern)
    except ValueError:
        return None
    out: list[str] = ["(?i)"]
    i, n, in_class = 0, len(pattern), False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                return None
            spelled = _escape(pattern[i + 1], in_class)
            if spelled is None:
                return None
            if in_class and pattern[i + 1] in _CLASS_ESCAPES and pattern.startswith("-", i + 2) \
                    and not pattern.startswith("-]", i + 2):
                return None  # [\w-z]: spelled out, the dash would start a range
            out.append(spelled)
            i += 2
            continue
        if in_class:
            if ch in "&-~" and pattern.startswith(ch, i + 1):
                return None  # Rust reads &&, -- and ~~ in a class as set operations
            if ch == "[":
                return None  # POSIX classes ([[:alpha:]]) and nested sets are left to RE2
            if ch == "]":
                in_class = False
            out.append(ch)
        elif ch == "[":
            in_class = True
            out.append(ch)
            if pattern.startswith("^", i + 1):
                out.append("^")
                i += 1
            if pattern.startswith("]", i + 1):
                return None  # a leading literal ] reads differently
        elif ch == "(" and pattern.startswith("?", i + 1):
            if not pattern.startswith("?:", i + 1):
                return None  # flags and named groups are left to RE2
            out.append("(?:")
            i += 3
            continue
        elif ch == "{":
            bound = _BOUND.match(pattern, i)
            if bound is None:
                return None  # a brace that is no repetition reads differently
            out.append(bound.group(0))
            i = bound.end()
            continue
        else:
            out.append(ch)
        i += 1
    return None if in_class else "".join(out)
