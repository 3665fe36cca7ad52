"""Our rules as a GoRules zen-engine first-hit decision table, written for zen's fast path.

Zen compiles a ``matches()`` regex on every evaluation (150-500 us each, against 2-10 us for its string
functions), so a regex that only spells out literal alternatives (``@(gmail|yahoo)\\.``,
``^(test|asdf)[^@]*@``, ``@(a|b)\\.(com|io)$``) is written with ``startsWith`` / ``endsWith`` /
``contains`` on the lower-cased value, which means the same thing. A regex that cannot be spelt that way
(word boundaries, classes) stays a ``matches()`` in the row's last cell, so zen's left-to-right cell
short-circuit only compiles it for records that pass the row's cheaper tests. Zen's ``matches`` searches
(it does not anchor), so the pattern goes in as written with ``(?i)``.
"""

from __future__ import annotations

import itertools
import json
import re._parser as sre  # the stdlib's own regex parser: no hand-rolled regex reading
from re._constants import AT, AT_BEGINNING, AT_END, BRANCH, IN, LITERAL, MAX_REPEAT, NOT_LITERAL, SUBPATTERN
from typing import Any

from revloops.core.rules import CompiledRules
from revloops.core.rules.conditions import AllOf, AnyOf, Condition, Leaf, NotOf

_MAX_EXPANSION = 64


def _strings(tokens: Any) -> list[str] | None:
    """Every string a run of regex tokens can match, when it is a finite set of literals; else None."""
    out = [""]
    for op, arg in tokens:
        if op is LITERAL:
            options = [chr(arg)]
        elif op is SUBPATTERN and arg[1] == 0 and arg[2] == 0:
            options = _strings(arg[3])
        elif op is BRANCH:
            parts = [_strings(b) for b in arg[1]]
            options = None if any(p is None for p in parts) else [s for p in parts for s in p]  # type: ignore[union-attr]
        elif op is IN and all(o is LITERAL for o, _ in arg):
            options = [chr(c) for _, c in arg]
        else:
            return None
        if options is None or len(out) * len(options) > _MAX_EXPANSION:
            return None
        out = [a + b for a, b in itertools.product(out, options)]
    return out


def _any(fn: str, low: str, needles: list[str]) -> str:
    return "(" + " or ".join(f"{fn}({low}, {_lit(n)})" for n in needles) + ")"


def _lit(text: str, raw: bool = False) -> str:
    """A zen string literal (zen keeps backslashes as written: fine for a regex, not for a needle)."""
    if '"' in text or ("\\" in text and not raw):
        raise ValueError(f"cannot write {text!r} as a zen literal")
    return f'"{text}"'


def regex_as_strings(pattern: str, low: str) -> str | None:
    """``pattern`` (searched, case-insensitively) as zen string functions on ``low`` (the lower-cased
    value), or None when it is not a literal prefix / suffix / infix / exact set."""
    tokens = list(sre.parse(pattern))
    anchored = bool(tokens) and tokens[0] == (AT, AT_BEGINNING)
    ends = bool(tokens) and tokens[-1] == (AT, AT_END) and not pattern.endswith("\\Z")
    core = tokens[int(anchored): len(tokens) - int(ends)]
    tail = None
    if anchored and not ends and len(core) >= 2 and core[-1][0] is LITERAL:  # ^X[^c]*c: prefix, then c anywhere
        rep = core[-2]
        if rep[0] is MAX_REPEAT and rep[1][0] == 0 and list(rep[1][2]) == [(NOT_LITERAL, core[-1][1])]:
            tail, core = chr(core[-1][1]), core[:-2]
    words = _strings(core)
    if not words or "" in words or (tail is not None and any(tail in w for w in words)):
        return None
    words = sorted({w.lower() for w in words})
    if anchored and ends:
        return f"({low} in [{', '.join(_lit(w) for w in words)}])"
    fn = "startsWith" if anchored else "endsWith" if ends else "contains"
    text = _any(fn, low, words)
    return f"({text} and contains({low}, {_lit(tail)}))" if tail else text


def _value(v: Any) -> str:
    return json.dumps(v.lower() if isinstance(v, str) else v)


def is_slow(leaf: Leaf) -> bool:
    """A leaf zen can only test with a regex compiled per call."""
    return leaf.op == "matches" and regex_as_strings(leaf.value, "x") is None


def zen_expr(cond: Condition, ref: str | None = None) -> str:
    """Our condition as a zen expression with the same meaning on the bench's (clean-typed) contexts;
    with ``ref="$"`` a leaf becomes a unary cell of its field's column."""
    if isinstance(cond, AllOf):
        return "(" + " and ".join(zen_expr(c) for c in cond.items) + ")" if cond.items else "true"
    if isinstance(cond, AnyOf):
        return "(" + " or ".join(zen_expr(c) for c in cond.items) + ")" if cond.items else "false"
    if isinstance(cond, NotOf):
        return f"not ({zen_expr(cond.item)})"
    f, op, v = ref or cond.field, cond.op, cond.value
    low, present = f"lower({f})", f"{f} != null"
    texts = {
        "eq": lambda: f"({present} and {low} == {_value(v)})" if isinstance(v, str) else f"{f} == {json.dumps(v)}",
        "ne": lambda: f"({f} == null or {low} != {_value(v)})" if isinstance(v, str) else f"{f} != {json.dumps(v)}",
        "in": lambda: f"({present} and {low} in [{', '.join(_value(x) for x in v)}])",
        "not_in": lambda: f"({present} and not({low} in [{', '.join(_value(x) for x in v)}]))",
        "gt": lambda: f"({present} and {f} > {v})", "gte": lambda: f"({present} and {f} >= {v})",
        "lt": lambda: f"({present} and {f} < {v})", "lte": lambda: f"({present} and {f} <= {v})",
        "between": lambda: f"({present} and {f} >= {v[0]} and {f} <= {v[1]})",
        "contains": lambda: f"({present} and contains({low}, {_value(v)}))",
        "starts_with": lambda: f"({present} and startsWith({low}, {_value(v)}))",
        "ends_with": lambda: f"({present} and endsWith({low}, {_value(v)}))",
        "matches": lambda: f"({present} and "
                           f"{regex_as_strings(v, low) or 'matches(' + f + ', ' + _lit('(?i)' + v, raw=True) + ')'})",
        "exists": lambda: present if v else f"{f} == null",
    }
    return texts[op]()


def _unary(expr: str) -> str:
    """Zen's unary cells cannot open with a parenthesis or ``not``."""
    if expr.startswith("(") and expr.endswith(")"):
        expr = expr[1:-1]
    return f"$ == $ and {expr}" if expr.startswith(("not", "(")) else expr


def _row(k: int, rule_id: str, cond: Condition | None, fields: list[str]) -> dict[str, str]:
    items = [] if cond is None else list(cond.items) if isinstance(cond, AllOf) else [cond]
    cells: dict[str, str] = {}
    late = []
    for item in items:
        col = f"f{fields.index(item.field)}" if isinstance(item, Leaf) and item.field in fields else None
        # zen's unary cells reject a parenthesised group after ``and``: regexes go to the expression column
        if isinstance(item, Leaf) and item.op != "matches" and (col is None or col not in cells):
            if item.field not in fields:
                fields.append(item.field)
            cells[f"f{fields.index(item.field)}"] = _unary(zen_expr(item, "$"))
        else:  # nested, a second test of a field, or a regex: the last column, slow parts last
            late.append(item)
    late.sort(key=lambda c: isinstance(c, Leaf) and is_slow(c))
    return {"_id": f"r{k}", "o0": json.dumps(rule_id), "x": " and ".join(zen_expr(c) for c in late), **cells}


def zen_table(compiled: CompiledRules) -> dict[str, Any]:
    """A first-hit decision table, one row per rule: the top-level conjunction's leaves as unary cells
    of one input column per field (zen's fast path), anything nested or slow in a last expression column."""
    fields: list[str] = []
    rows = [_row(k, rule.id, rule.condition, fields) for k, rule in enumerate(compiled.rules)]
    inputs = [{"id": f"f{i}", "name": f, "field": f} for i, f in enumerate(fields)]
    inputs.append({"id": "x", "name": "nested", "field": ""})
    for row in rows:
        for col in inputs:
            row.setdefault(col["id"], "")
    node = {"id": "dt", "type": "decisionTableNode", "name": "route", "position": {"x": 100, "y": 0},
            "content": {"hitPolicy": "first", "inputs": inputs,
                        "outputs": [{"id": "o0", "name": "rule", "field": "rule"}], "rules": rows}}
    return {"nodes": [{"id": "in", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}}, node,
                      {"id": "out", "type": "outputNode", "name": "Response", "position": {"x": 200, "y": 0}}],
            "edges": [{"id": "e1", "sourceId": "in", "targetId": "dt", "type": "edge"},
                      {"id": "e2", "sourceId": "dt", "targetId": "out", "type": "edge"}]}
