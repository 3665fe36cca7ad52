"""Route rule engine benchmark: live path vs GoRules zen-engine, and the batch path vs the live path.

    python bench/route.py            # 100,000 live resolves, 1,000,000 batch records
    python bench/route.py --quick    # 20,000 live, 200,000 batch

Figures, all measured side by side in this one run on the same seeded contexts:
  1. our live path with full trace (rule walk + raw trace; models built on demand, costed separately),
  2. zen-engine evaluating an equivalent first-hit decision table (generated from our rules),
     through ZenEngine.evaluate with a static loader of a ZenDecisionContent, trace on and off,
  3. the batch path (Polars) over the large frame vs the live path's per-record throughput.
Zen and our engine must pick the same rule on a sample, or the comparison is void.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from revloops.config.yamlfile import load_yaml, validate_doc  # noqa: E402
from revloops.core.rules import CompiledRules, HandlerResult, RulesFile, compile_rules  # noqa: E402
from revloops.core.rules.conditions import AllOf, AnyOf, Condition, Leaf, NotOf  # noqa: E402
from revloops.core.rules.resolve_batch import resolve_frame  # noqa: E402

RULES = ROOT / "examples" / "acme" / "config" / "rules.yaml"
COUNTRIES = ["US", "US", "US", "CA", "GB", "IE", "DE", "FR", "SE", "AU", "JP", "SG", "BR", "IN", None]
REGIONS = {"US": ["US-CA", "US-NY", "US-TX", "US-WA", "US-MA"], "CA": ["CA-ON", "CA-QC"]}
TITLES = ["CEO", "Chief Revenue Officer", "VP Sales", "Vice President Marketing", "Sales Ops Manager",
          "Founder", "Engineer", "Director of IT", None]
SOURCES = ["Web", "Event", "Partner Referral", "Reseller", "Content", "Paid Search", None]
INDUSTRIES = ["Technology", "Software", "Finance", "Retail", "Government", "Education", "Healthcare", None]
DOMAINS = ["acme-customer.com", "globex.io", "gmail.com", "initech.co.uk", "rivalcrm.com", "mailinator.com",
           "umbrella.de", "hooli.com"]
SIZES = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001-10000", "10001+", None]


def _pick(rng: np.random.Generator, options: list[Any], n: int) -> list[Any]:
    return [options[i] for i in rng.integers(0, len(options), n)]


def lead_frame(n: int, seed: int = 7) -> pl.DataFrame:
    """``n`` deterministic synthetic leads as a frame of flattened contexts (columns = dotted paths)."""
    rng = np.random.default_rng(seed)
    country = _pick(rng, COUNTRIES, n)
    region = [REGIONS[c][i % len(REGIONS[c])] if c in REGIONS else None
              for c, i in zip(country, rng.integers(0, 5, n), strict=True)]
    employees = rng.lognormal(5.0, 2.0, n).astype(np.int64).clip(1, 300_000)
    email_user = _pick(rng, ["jane", "test", "li.wei", "m.schmidt", "noreply", "ana"], n)
    email = [None if r < 0.03 else f"{u}@{d}" for u, d, r in
             zip(email_user, _pick(rng, DOMAINS, n), rng.random(n), strict=True)]
    named = rng.random(n)
    cols: dict[str, Any] = {
        "Country": country, "geo.country": [c if c is None else (c.lower() if i % 7 == 0 else c)
                                            for i, c in enumerate(country)],
        "geo.region": region,
        "NumberOfEmployees": pl.Series(employees).set(pl.Series(rng.random(n) < 0.05), None),
        "AnnualRevenue": (employees * rng.uniform(50_000, 400_000, n)).round(0),
        "LeadSource": _pick(rng, SOURCES, n), "Email": email, "Title": _pick(rng, TITLES, n),
        "Industry": _pick(rng, INDUSTRIES, n), "Company": _pick(rng, ["Globex", "Initech", "n/a", "Hooli"], n),
        "Rating": _pick(rng, ["Hot", "Warm", "Cold", None], n),
        "account.Named__c": [True if r < 0.04 else (False if r < 0.5 else None) for r in named],
        "account.Type": [("Customer" if r < 0.1 else "Prospect") if r < 0.5 else None for r in named],
        "account.OwnerId": [f"005{int(r * 1e6):012d}" if r < 0.5 else None for r in named],
        "enrichment.company.size": _pick(rng, SIZES, n),
        "score.total": rng.integers(0, 100, n),
        "segment": _pick(rng, ["smb", "mid_market", "enterprise", None], n),
    }
    return pl.DataFrame(cols)


def nested(flat: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys to nested mappings, dropping missing values (zen's native context shape)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        *parents, last = key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


def _zen_value(v: Any) -> str:
    return json.dumps(v.lower() if isinstance(v, str) else v)


def _zen_regex(pattern: str) -> str:
    """Zen's matches() tests the whole string and its literals keep backslashes as written."""
    assert '"' not in pattern
    return '"(?is).*(?:' + pattern + ').*"'


def zen_expr(cond: Condition, ref: str | None = None) -> str:
    """Our condition as a zen expression with the same meaning on the bench's (clean-typed) contexts;
    with ``ref="$"`` a leaf becomes a unary cell of its field's column."""
    if isinstance(cond, AllOf):
        return "(" + " and ".join(zen_expr(c) for c in cond.items) + ")" if cond.items else "true"
    if isinstance(cond, AnyOf):
        return "(" + " or ".join(zen_expr(c) for c in cond.items) + ")" if cond.items else "false"
    if isinstance(cond, NotOf):
        return f"not ({zen_expr(cond.item)})"
    assert isinstance(cond, Leaf)
    f, op, v = ref or cond.field, cond.op, cond.value
    low = f"lower({f})"
    present = f"{f} != null"
    texts = {
        "eq": lambda: f"({present} and {low} == {_zen_value(v)})" if isinstance(v, str) else f"{f} == {json.dumps(v)}",
        "ne": lambda: f"({f} == null or {low} != {_zen_value(v)})" if isinstance(v, str) else f"{f} != {json.dumps(v)}",
        "in": lambda: f"({present} and {low} in [{', '.join(_zen_value(x) for x in v)}])",
        "not_in": lambda: f"({present} and not({low} in [{', '.join(_zen_value(x) for x in v)}]))",
        "gt": lambda: f"({present} and {f} > {v})", "gte": lambda: f"({present} and {f} >= {v})",
        "lt": lambda: f"({present} and {f} < {v})", "lte": lambda: f"({present} and {f} <= {v})",
        "between": lambda: f"({present} and {f} >= {v[0]} and {f} <= {v[1]})",
        "contains": lambda: f"({present} and contains({low}, {_zen_value(v)}))",
        "starts_with": lambda: f"({present} and startsWith({low}, {_zen_value(v)}))",
        "ends_with": lambda: f"({present} and endsWith({low}, {_zen_value(v)}))",
        "matches": lambda: f"({present} and matches({f}, {_zen_regex(v)}))",
        "exists": lambda: present if v else f"{f} == null",
    }
    return texts[op]()


def _unary(expr: str) -> str:
    """Zen's unary cells cannot open with a parenthesis or ``not``."""
    if expr.startswith("(") and expr.endswith(")"):
        expr = expr[1:-1]
    return f"$ == $ and {expr}" if expr.startswith(("not", "(")) else expr


def zen_table(compiled: CompiledRules) -> dict[str, Any]:
    """A first-hit decision table, one row per rule: the top-level conjunction's leaves as unary cells
    of one input column per field (zen's fast path), anything nested as an expression column."""
    fields: list[str] = []
    rows = []
    for k, rule in enumerate(compiled.rules):
        cond = rule.condition
        items = [] if cond is None else list(cond.items) if isinstance(cond, AllOf) else [cond]
        cells: dict[str, list[str]] = {}
        nested_parts = []
        for item in items:
            taken = isinstance(item, Leaf) and item.field in fields and f"f{fields.index(item.field)}" in cells
            if taken:
                nested_parts.append(zen_expr(item))  # zen's unary cells take one test per field
            elif isinstance(item, Leaf):
                if item.field not in fields:
                    fields.append(item.field)
                cells.setdefault(f"f{fields.index(item.field)}", []).append(_unary(zen_expr(item, "$")))
            else:
                nested_parts.append(zen_expr(item))
        row = {"_id": f"r{k}", "o0": json.dumps(rule.id), "x": " and ".join(nested_parts)}
        row.update({col: parts[0] for col, parts in cells.items()})
        rows.append(row)
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


class StaticResolver:
    """Every action resolves to a fixed owner: the walk and its trace are what is timed."""

    def __init__(self, compiled: CompiledRules) -> None:
        self.results = {id(r.action): HandlerResult(f"005{k:012d}") for k, r in enumerate(compiled.rules)}

    def __call__(self, action: Any, ctx: Any) -> HandlerResult:
        return self.results[id(action)]

    def depends_on(self, action: Any) -> tuple[str, ...]:
        return ()


def drain(fn: Any, items: list[Any], *args: Any, **kw: Any) -> Any:
    """Call ``fn`` on every item, keeping no result (as a live service would)."""

    def run() -> None:
        for item in items:
            fn(item, *args, **kw)

    return run


def timed(label: str, fn: Any, count: int) -> float:
    start = time.perf_counter()
    fn()
    secs = time.perf_counter() - start
    print(f"  {label:<46} {secs / count * 1e6:9.2f} us/record  {count / secs:>12,.0f} records/s")
    return count / secs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run")
    args = parser.parse_args()
    live_n, batch_n = (20_000, 200_000) if args.quick else (100_000, 1_000_000)
    model, problems = validate_doc(load_yaml(RULES, "rules.yaml"), RulesFile)
    assert model is not None, problems
    compiled = compile_rules(model, "Lead")
    resolver = StaticResolver(compiled)
    print(f"{len(compiled.rules)} rules, {len(compiled.leaf_list)} conditions; "
          f"{live_n:,} live records, {batch_n:,} batch records")
    frame = lead_frame(batch_n)
    flat = frame.head(live_n).to_dicts()
    zen_ctx = [nested(c) for c in flat]
    zen_json = [json.dumps(c) for c in zen_ctx]

    import zen

    content = zen.ZenDecisionContent(json.dumps(zen_table(compiled)))
    engine = zen.ZenEngine({"loader": lambda key: content})
    sample = min(5_000, live_n)
    ours = [compiled.rules[k].id if (k := compiled.first_holding(c)) >= 0 else None for c in flat[:sample]]
    theirs = [engine.evaluate("route", c)["result"].get("rule") for c in zen_ctx[:sample]]
    agree = sum(a == b for a, b in zip(ours, theirs, strict=True))
    print(f"same rule picked by zen and by us on {agree:,}/{sample:,} sampled records")
    if agree != sample:
        raise SystemExit("zen and our engine disagree: the comparison would not be fair")

    print("\nLive path (one record per call, in process)")
    evaluate = compiled.evaluate
    ours_t = timed("revloops, full trace", drain(evaluate, flat, resolver), live_n)
    ours_p = timed("revloops, no trace", drain(evaluate, flat, resolver, trace=False), live_n)
    outs = [evaluate(c, resolver) for c in flat[:2_000]]
    timed("  + trace models and explanation (on 2,000)", lambda: [(o.trace, o.explanation) for o in outs], 2_000)
    zen_n = live_n
    ev = engine.evaluate
    best_ctx = min((zen_ctx, zen_json), key=lambda cs: _probe(ev, cs))
    shape = "dict" if best_ctx is zen_ctx else "pre-serialised JSON"
    zen_t = timed(f"zen-engine, trace ({shape} contexts)", drain(lambda c, o: ev("route", c, o), best_ctx, {"trace": True}), zen_n)
    zen_p = timed(f"zen-engine, no trace ({shape} contexts)", drain(lambda c: ev("route", c), best_ctx), zen_n)
    print(f"  ratio, full trace: revloops / zen(trace)     {ours_t / zen_t:6.2f}x   (target >= 1.0x)")
    print(f"  ratio, stretch:    revloops / zen(no trace)  {ours_t / zen_p:6.2f}x   (both no trace: {ours_p / zen_p:.2f}x)")

    print(f"\nBatch path ({batch_n:,} records, Polars)")
    batch = timed("resolve_frame (match matrix + owners)", lambda: resolve_frame(compiled, frame, resolver), batch_n)
    timed("first_match only", lambda: compiled.first_match(frame), batch_n)
    print(f"  ratio, batch / live path (live measured on {live_n:,}, full trace): {batch / ours_t:6.1f}x  (target >= 20x)")
    check = resolve_frame(compiled, frame.head(sample), resolver)
    single = [evaluate(c, resolver, trace=False).rule_id for c in flat[:sample]]
    print(f"  batch and live agree on {sum(a == b for a, b in zip(check.rule_ids, single, strict=True)):,}/{sample:,}")


def _probe(ev: Any, contexts: list[Any]) -> float:
    start = time.perf_counter()
    for c in contexts[:2_000]:
        ev("route", c, {"trace": True})
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
