"""The SOQL subset the fake Salesforce understands, parsed the way Salesforce reads it.

``SELECT f, ... FROM Obj [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]``
where a condition is ``f op literal``, ``f [NOT] IN (literal, ...)``, ``f LIKE 'pattern'``, joined by
AND / OR / NOT and parentheses. String literals honour SOQL's backslash escapes; anything else in quotes
is an error, so a query built by pasting unescaped input fails here as it would in Salesforce.
Comparisons follow SOQL: text compares case-insensitively, ``!=`` and ``NOT IN`` match nulls.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>')
    | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
    | (?P<date>\d{4}-\d{2}-\d{2})
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    | (?P<op>!=|<>|<=|>=|=|<|>|\(|\)|,)
    )""",
    re.VERBOSE,
)


class SoqlError(Exception):
    """A query Salesforce would refuse: ``code`` is its errorCode (MALFORMED_QUERY, INVALID_FIELD, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Literal:
    """A typed literal: ``kind`` is str, number, bool, null, date or datetime."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Condition:
    """One comparison of the WHERE clause."""

    field: str
    op: str  # = != < <= > >= LIKE IN NOT IN
    values: tuple[Literal, ...]


@dataclass
class SoqlQuery:
    """A parsed query; ``where`` is a predicate over records and ``conditions`` lists every comparison."""

    fields: list[str]
    sobject: str
    where: Predicate
    conditions: list[Condition]
    order_by: list[tuple[str, bool, bool]]  # field, descending, nulls_last
    limit: int | None
    offset: int


def _read_string(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "'":
            return "".join(out), i + 1
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in ("%", "_"):
                out.append("\\" + nxt)  # kept for LIKE, which reads them as literal wildcards
            else:
                raise SoqlError("MALFORMED_QUERY", f"Invalid string literal: bad escape \\{nxt} at {i}")
            i += 2
            continue
        out.append(ch)
        i += 1
    raise SoqlError("MALFORMED_QUERY", "unexpected end of query: unterminated string literal")


def tokenize(text: str) -> list[tuple[str, str]]:
    """Split a query into (kind, value) tokens; string literals come back unescaped."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token at {pos}: {text[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        if kind == "str":
            value, pos = _read_string(text, m.end())
            tokens.append(("str", value))
            continue
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0
        self.conditions: list[Condition] = []

    def peek_kw(self, *words: str) -> bool:
        for k, word in enumerate(words):
            if self.i + k >= len(self.toks):
                return False
            kind, val = self.toks[self.i + k]
            if kind != "ident" or val.upper() != word:
                return False
        return True

    def take(self, kind: str | None = None, value: str | None = None) -> Any:
        if self.i >= len(self.toks):
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        k, v = self.toks[self.i]
        if (kind and k != kind) or (value and str(v).upper() != value):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: {v!r}")
        self.i += 1
        return v

    def literal(self) -> Literal:
        kind, val = self.toks[self.i] if self.i < len(self.toks) else ("end", "")
        self.i += 1
        if kind == "str":
            return Literal("str", val)
        if kind == "num":
            return Literal("number", float(val) if re.search(r"[.eE]", val) else int(val))
        if kind == "date":
            return Literal("date", dt.date.fromisoformat(val))
        if kind == "datetime":
            return Literal("datetime", dt.datetime.fromisoformat(val.replace("Z", "+00:00")))
        if kind == "ident" and val.lower() in ("true", "false"):
            return Literal("bool", val.lower() == "true")
        if kind == "ident" and val.lower() == "null":
            return Literal("null", None)
        raise SoqlError("MALFORMED_QUERY", f"expected a value, found {val!r}")

    def expr(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek_kw("OR"):
            self.i += 1
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.term()]
        while self.peek_kw("AND"):
            self.i += 1
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def term(self) -> Predicate:
        if self.peek_kw("NOT"):
            self.i += 1
            inner = self.term()
            return lambda r: not inner(r)
        if self.i < len(self.toks) and self.toks[self.i] == ("op", "("):
            self.i += 1
            inner = self.expr()
            self.take("op", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        field = self.take("ident")
        if self.peek_kw("NOT", "IN") or self.peek_kw("IN"):
            op = "NOT IN" if self.peek_kw("NOT") else "IN"
            self.i += 2 if op == "NOT IN" else 1
            self.take("op", "(")
            values = [self.literal()]
            while self.toks[self.i] == ("op", ","):
                self.i += 1
                values.append(self.literal())
            self.take("op", ")")
        elif self.peek_kw("LIKE"):
            self.i += 1
            op, values = "LIKE", [self.literal()]
        else:
            op = self.take("op")
            op = "!=" if op == "<>" else op
            if op not in ("=", "!=", "<", "<=", ">", ">="):
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: {op!r}")
            values = [self.literal()]
        cond = Condition(field, op, tuple(values))
        self.conditions.append(cond)
        return _predicate(cond)


def _comparable(value: Any, lit: Literal) -> Any:
    if value is None:
        return None
    if lit.kind == "str":
        return str(value).casefold()
    if lit.kind == "date":
        return dt.date.fromisoformat(str(value)[:10])
    if lit.kind == "datetime":
        return parse_datetime(str(value))
    if lit.kind == "number":
        return float(value)
    return value


def _lit(lit: Literal) -> Any:
    return lit.value.casefold() if lit.kind == "str" else lit.value


def parse_datetime(text: str) -> dt.datetime:
    """A Salesforce datetime (``2026-11-29T10:00:00.000+0000`` or ISO) as an aware datetime."""
    text = text.replace("Z", "+00:00")
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    return dt.datetime.fromisoformat(text)


def like_regex(pattern: str) -> re.Pattern[str]:
    """SOQL LIKE as a regex: ``%`` any run, ``_`` one character, ``\\%``/``\\_`` literal; case-insensitive."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and pattern[i + 1 : i + 2] in ("%", "_"):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _predicate(cond: Condition) -> Predicate:
    field, op, values = cond.field, cond.op, cond.values
    if op == "LIKE":
        rx = like_regex(str(values[0].value))
        return lambda r: r.get(field) is not None and rx.fullmatch(str(r.get(field))) is not None
    if op in ("IN", "NOT IN"):
        def member(r: Record) -> bool:
            return any(_comparable(r.get(field), v) == _lit(v) for v in values)

        return member if op == "IN" else (lambda r: not member(r))
    lit = values[0]
    if lit.kind == "null":
        return (lambda r: r.get(field) is None) if op == "=" else (lambda r: r.get(field) is not None)

    def compare(r: Record) -> bool:
        got = _comparable(r.get(field), lit)
        if op == "=":
            return bool(got == _lit(lit))
        if op == "!=":
            return bool(got != _lit(lit))
        if got is None:
            return False
        return bool({"<": got < _lit(lit), "<=": got <= _lit(lit), ">": got > _lit(lit), ">=": got >= _lit(lit)}[op])

    return compare


def parse(text: str) -> SoqlQuery:
    """Parse one SOQL query of the supported subset, or raise SoqlError as Salesforce would."""
    p = _Parser(text)
    p.take("ident", "SELECT")
    fields = [p.take("ident")]
    while p.i < len(p.toks) and p.toks[p.i] == ("op", ","):
        p.i += 1
        fields.append(p.take("ident"))
    p.take("ident", "FROM")
    sobject = p.take("ident")
    where: Predicate = lambda r: True  # noqa: E731
    if p.peek_kw("WHERE"):
        p.i += 1
        where = p.expr()
    order: list[tuple[str, bool, bool]] = []
    if p.peek_kw("ORDER", "BY"):
        p.i += 2
        while True:
            fld = p.take("ident")
            desc = p.peek_kw("DESC")
            if desc or p.peek_kw("ASC"):
                p.i += 1
            nulls_last = desc
            if p.peek_kw("NULLS"):
                p.i += 1
                nulls_last = str(p.take("ident")).upper() == "LAST"
            order.append((fld, desc, nulls_last))
            if p.i < len(p.toks) and p.toks[p.i] == ("op", ","):
                p.i += 1
                continue
            break
    limit = offset = None
    if p.peek_kw("LIMIT"):
        p.i += 1
        limit = int(p.take("num"))
    if p.peek_kw("OFFSET"):
        p.i += 1
        offset = int(p.take("num"))
    if p.i != len(p.toks):
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: {p.toks[p.i][1]!r}")
    return SoqlQuery(fields, sobject, where, p.conditions, order, limit, offset or 0)
