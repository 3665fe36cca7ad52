"""Route benchmark: the live path vs GoRules zen-engine, the batch path vs the live path, the resolve API
vs the same server's health endpoint. One command, every ratio measured side by side in one run.

    python bench/route.py            # 100,000 live resolves, 1,000,000 batch leads, 5 s HTTP runs
    python bench/route.py --quick    # 20,000 live, 200,000 batch, 2 s HTTP runs
    python bench/route.py --no-api   # the in-process figures only
    python bench/route.py --repeating-emails   # leads share 48 addresses (the batch path encodes them)

1. Live: our rule walk with its full raw trace (every evaluated condition's field, op, expected, actual,
   result, missing) over contexts already built, against zen-engine evaluating an equivalent first-hit
   decision table (``route_zen.py``) loaded once as a ZenDecisionContent through a loader, called as
   ``engine.evaluate(key, ctx, {"trace": True})``, and without trace. Zen and our engine must pick the
   same rule on 20,000 records or the run stops. Building the stored trace and the models is costed apart.
2. Batch: ``contexts_to_frame`` (timed apart) then ``resolve_frame`` over 1,000,000 seeded leads (every
   lead its own email address), against the live path's per-record time.
3. API: see ``route_api.py``.
Each in-process figure is the median of several alternating rounds; the machine's load is printed.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from route_zen import zen_table  # noqa: E402

from revloops.config.yamlfile import load_yaml, validate_doc  # noqa: E402
from revloops.core.rules import CompiledRules, HandlerResult, RulesFile, compile_rules  # noqa: E402
from revloops.core.rules.batch import contexts_to_frame  # noqa: E402
from revloops.core.rules.resolve_batch import frame_fields, resolve_frame  # noqa: E402

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


def lead_frame(n: int, seed: int = 7, unique_emails: bool = True) -> pl.DataFrame:
    """``n`` deterministic synthetic leads as a frame of flattened contexts (columns = dotted paths);
    every lead has its own email address unless ``unique_emails`` is false (48 addresses repeat)."""
    rng = np.random.default_rng(seed)
    country = _pick(rng, COUNTRIES, n)
    region = [REGIONS[c][i % len(REGIONS[c])] if c in REGIONS else None
              for c, i in zip(country, rng.integers(0, 5, n), strict=True)]
    employees = rng.lognormal(5.0, 2.0, n).astype(np.int64).clip(1, 300_000)
    email_user = _pick(rng, ["jane", "test", "li.wei", "m.schmidt", "noreply", "ana"], n)
    email = [None if r < 0.03 else f"{u}{i if unique_emails else ''}@{d}" for i, (u, d, r) in
             enumerate(zip(email_user, _pick(rng, DOMAINS, n), rng.random(n), strict=True))]
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


def seconds(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    return statistics.median(values)


class Figures:
    """Runs of each measurement (seconds per record), printed as medians."""

    def __init__(self) -> None:
        self.runs: dict[str, list[float]] = {}

    def run(self, label: str, fn: Any, count: int) -> float:
        per = seconds(fn) / count
        self.runs.setdefault(label, []).append(per)
        return per

    def us(self, label: str) -> float:
        return median(self.runs[label]) * 1e6

    def line(self, label: str) -> None:
        runs = self.runs[label]
        print(f"  {label:<50} {self.us(label):9.3f} us/record {1e6 / self.us(label):>12,.0f}/s"
              f"   (runs: {', '.join(f'{r * 1e6:.3f}' for r in runs)})")


def check_zen(compiled: CompiledRules, engine: Any, flat: list[dict[str, Any]], zen_ctx: list[Any]) -> None:
    """Zen's table and our rules must pick the same rule on every sampled record, or the race is void."""
    ours = [compiled.rules[k].id if (k := compiled.first_holding(c)) >= 0 else None for c in flat]
    theirs = [engine.evaluate("route", c)["result"].get("rule") for c in zen_ctx]
    agree = sum(a == b for a, b in zip(ours, theirs, strict=True))
    print(f"same rule picked by zen and by us on {agree:,}/{len(flat):,} records")
    if agree != len(flat):
        raise SystemExit("zen and our engine disagree: the comparison would not be fair")


def live(compiled: CompiledRules, resolver: StaticResolver, flat: list[dict[str, Any]], rounds: int) -> Figures:
    """Our walk with and without trace, and zen-engine with and without trace, alternating rounds."""
    import zen

    zen_ctx = [nested(c) for c in flat]
    content = zen.ZenDecisionContent(json.dumps(zen_table(compiled)))
    engine = zen.ZenEngine({"loader": lambda key: content})  # one engine, the table parsed once
    check_zen(compiled, engine, flat[:20_000], zen_ctx[:20_000])
    ev = engine.evaluate
    as_json = [json.dumps(c) for c in zen_ctx]
    shape = min((zen_ctx, as_json), key=lambda cs: seconds(drain(lambda c: ev("route", c, {"trace": True}), cs[:3_000])))
    fig, n = Figures(), len(flat)
    for _ in range(rounds):
        fig.run("revloops, full trace", drain(compiled.evaluate, flat, resolver), n)
        fig.run("revloops, no trace", drain(compiled.evaluate, flat, resolver, trace=False), n)
        fig.run("zen-engine, trace", drain(lambda c: ev("route", c, {"trace": True}), shape), n)
        fig.run("zen-engine, no trace", drain(lambda c: ev("route", c), shape), n)
    outs = [compiled.evaluate(c, resolver) for c in flat[:2_000]]
    fig.run("  + stored trace (trace_json) and explanation", lambda: [(o.trace_json(), o.explanation) for o in outs], 2_000)
    fig.run("  + trace as models (on demand)", lambda: [o.trace for o in outs], 2_000)
    print(f"\nLive path, one record per call in process ({n:,} records, median of {rounds}; "
          f"zen given {'dict' if shape is zen_ctx else 'pre-serialised JSON'} contexts)")
    for label in fig.runs:
        fig.line(label)
    return fig


def batch(compiled: CompiledRules, resolver: StaticResolver, contexts: list[dict[str, Any]], rounds: int,
          columnar: pl.DataFrame) -> Figures:
    """The preview path: the frame from built contexts, then the match matrix and owners."""
    fig, n = Figures(), len(contexts)
    fields = frame_fields(compiled, resolver)
    frame = contexts_to_frame(contexts, fields)
    for _ in range(rounds):
        fig.run("frame from contexts (contexts_to_frame)", lambda: contexts_to_frame(contexts, fields), n)
        fig.run("resolve_frame (match matrix + owners)", lambda: resolve_frame(compiled, frame, resolver), n)
    fig.run("  first_match only", lambda: compiled.first_match(frame), n)
    fig.run("  resolve_frame on a plain-text columnar frame", lambda: resolve_frame(compiled, columnar, resolver), n)
    print(f"\nBatch path ({n:,} records, Polars + NumPy, median of {rounds})")
    for label in fig.runs:
        fig.line(label)
    sample = contexts[:5_000]
    check = resolve_frame(compiled, contexts_to_frame(sample, fields), resolver)
    single = [compiled.evaluate(c, resolver, trace=False) for c in sample]
    same = sum(a == o.rule_id and b == o.owner_id for a, b, o in zip(check.rule_ids, check.owner_ids, single, strict=True))
    print(f"  batch and live agree (rule and owner) on {same:,}/{len(sample):,}")
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run")
    parser.add_argument("--no-api", action="store_true", help="skip the HTTP figure")
    parser.add_argument("--repeating-emails", action="store_true",
                        help="48 email addresses shared by all leads (text the batch path can dictionary-encode)")
    args = parser.parse_args()
    live_n, batch_n, rounds = (20_000, 200_000, 3) if args.quick else (100_000, 1_000_000, 5)
    load_before = os.getloadavg()
    model, problems = validate_doc(load_yaml(RULES, "rules.yaml"), RulesFile)
    assert model is not None, problems
    compiled = compile_rules(model, "Lead")
    resolver = StaticResolver(compiled)
    print(f"{len(compiled.rules)} rules, {len(compiled.leaf_list)} conditions; {live_n:,} live records, "
          f"{batch_n:,} batch records; load average {load_before[0]:.2f} on {os.cpu_count()} CPUs")
    columnar = lead_frame(batch_n, unique_emails=not args.repeating_emails)
    contexts = columnar.to_dicts()  # contexts already built: not timed
    # a million live dicts would make every full garbage collection walk them all (a service holds no such
    # heap): the inputs are set aside from the collector, for both engines alike
    gc.collect()
    gc.freeze()
    lv = live(compiled, resolver, contexts[:live_n], rounds)
    bt = batch(compiled, resolver, contexts, max(3, rounds - 2), columnar)
    api = None
    if not args.no_api:
        from route_api import api_figures, print_api

        api = api_figures(seconds=2.0 if args.quick else 5.0, rounds=3)
        print_api(api)
    ours, zen_t, zen_p = lv.us("revloops, full trace"), lv.us("zen-engine, trace"), lv.us("zen-engine, no trace")
    res, build = bt.us("resolve_frame (match matrix + owners)"), bt.us("frame from contexts (contexts_to_frame)")
    print("\nThe three figures, side by side (medians of this run)")
    print(f"  1. live, full trace / zen-engine with trace      {zen_t / ours:6.2f}x   (target >= 1.0x)")
    print(f"     stretch: / zen-engine without trace          {zen_p / ours:6.2f}x   "
          f"(both without trace: {zen_p / lv.us('revloops, no trace'):.2f}x)")
    print(f"  2. batch resolve_frame / live path               {ours / res:6.1f}x   (target >= 20x; "
          f"the frame build is outside it: with it {ours / (res + build):.1f}x)")
    if api is not None:
        print(f"  3. POST resolve / GET health                     {api['ratio']:6.2f}x   (target >= 0.5x)")
    load_after = os.getloadavg()
    print(f"load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after")


if __name__ == "__main__":
    main()
