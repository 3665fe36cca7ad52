"""Deploy benchmark: account assignment through the batch path, and a sync plan against an unchanged CRM.

    python bench/territories.py            # 1,000,000 accounts (200,000 through the single path); 1,000 territories
    python bench/territories.py --quick    # 100,000 accounts (20,000 single); 200 territories, 1,000 assignments

Figures, measured in this one run:
  1. Assigning accounts with the example org's match rules and hierarchy: the batch path (``assign_batch``:
     distinct addresses normalised once, the engine's match matrix, array decisions, the gazetteer resolver for
     the unclear ones) against the single-record path (``assign_one``: ``build_context`` and the live rule walk
     per account). The single path runs on a sample and its per-account time is scaled to the full count.
     Target: batch >= 20x the single path.
  2. A 1,000-territory model with 5,000 user assignments, synced into an empty local CRM (SQLite): the apply
     from empty, then a plan against the unchanged CRM (the watermark check), and for reference a plan that
     reads every record (``--refresh``). Target: plan < 1% of the apply.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import polars as pl  # noqa: E402

from revloops.adapters.localcrm.crm import LocalCRM  # noqa: E402
from revloops.adapters.sql.db import open_database  # noqa: E402
from revloops.adapters.sql.decisions import SqlDecisionStore  # noqa: E402
from revloops.config.loader import load_config  # noqa: E402
from revloops.core.records import User  # noqa: E402
from revloops.loops.deploy import sync  # noqa: E402
from revloops.loops.deploy.assign import MatchEnv, assign_batch, assign_one  # noqa: E402
from revloops.loops.deploy.config import AssignmentsFile  # noqa: E402
from revloops.loops.deploy.resolver import GeoQuestion, OfflineResolver  # noqa: E402
from revloops.loops.design.config import TerritoriesFile  # noqa: E402

EXAMPLE = ROOT / "examples" / "acme" / "config"
# (country, state, postal, city) as people type them; a few need the resolver
ADDRESSES: list[tuple[str | None, str | None, str | None, str | None]] = [
    ("USA", "CA", "94105", "San Francisco"), ("United States", "California", None, "Los Angeles"),
    ("US", "NY", "10001", "New York"), ("U.S.A.", "TX", "73301", "Austin"), ("USA", "WA", "98101", "Seattle"),
    ("US", "IL", None, "Chicago"), ("United States", "MA", "02134", "Boston"), ("USA", "GA", "30301", "Atlanta"),
    ("Canada", "ON", "M5V 2T6", "Toronto"), ("Canada", "Quebec", None, "Montreal"),
    ("United Kingdom", None, "SW1A 1AA", "London"), ("UK", None, None, "Manchester"), ("Ireland", None, None, "Dublin"),
    ("Germany", "Bavaria", "80331", "Munich"), ("Deutschland", None, None, "Berlin"), ("Austria", None, None, "Wien"),
    ("Switzerland", None, None, "Zurich"), ("France", None, "75001", "Paris"), ("Sweden", None, None, "Stockholm"),
    ("Norway", None, None, "Oslo"), ("Australia", "NSW", "2000", "Sydney"), ("New Zealand", None, None, "Auckland"),
    ("Japan", None, None, "Tokyo"), ("Singapore", None, None, "Singapore"), ("Brazil", None, None, "Sao Paulo"),
    (None, "Georgia", None, None), (None, None, None, "Valencia"), ("Germany", "CA", None, None),
    (None, None, None, "London"), (None, "Georgia", None, "Atlanta"),
]


def _accounts(n: int, seed: int = 7) -> pl.DataFrame:
    rng = random.Random(seed)
    picks = [rng.randrange(len(ADDRESSES)) for _ in range(n)]
    cols = list(zip(*(ADDRESSES[i] for i in picks), strict=True))
    return pl.DataFrame({
        "Id": [f"001{i:015d}" for i in range(n)], "Name": [f"Company {i}" for i in range(n)],
        "Website": [None] * n, "BillingCountry": cols[0], "BillingState": cols[1], "BillingPostalCode": cols[2],
        "BillingCity": cols[3],
    }, schema={c: pl.String for c in ("Id", "Name", "Website", "BillingCountry", "BillingState",
                                       "BillingPostalCode", "BillingCity")})


def bench_assign(n: int, single_n: int) -> float:
    cfg = load_config(EXAMPLE)
    env = MatchEnv.build(cfg.get("match_rules"), cfg.get("territories"))
    frame = _accounts(n)
    OfflineResolver().resolve(GeoQuestion("warm-up", city="London"))  # loads the gazetteer once per process
    t0 = time.perf_counter()
    result = assign_batch(frame, env, OfflineResolver())
    batch = time.perf_counter() - t0
    records = frame.head(single_n).to_dicts()
    resolver = OfflineResolver()
    t0 = time.perf_counter()
    for rec in records:
        assign_one(rec, env, resolver)
    single_each = (time.perf_counter() - t0) / len(records)
    single = single_each * n
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(result.counts().items(), key=lambda kv: -kv[1]))
    print(f"1. assigning {n:,} accounts ({counts})")
    print(f"   batch path        {batch:8.2f} s   {n / batch:12,.0f} accounts/s")
    print(f"   single-record     {single:8.2f} s   {1 / single_each:12,.0f} accounts/s "
          f"(measured on {len(records):,}, scaled to {n:,})")
    ratio = single / batch
    print(f"   batch / single: {ratio:.1f}x  (target >= 20x: {'met' if ratio >= 20 else 'NOT met'})")
    return ratio


def _model(territories: int, assignments: int) -> tuple[TerritoriesFile, list[Any], list[str]]:
    regions = max(1, territories // 100)
    rows: list[dict[str, Any]] = [{"developer_name": "Root", "name": "Root", "type": "Top"}]
    rows += [{"developer_name": f"R{r}", "name": f"Region {r}", "type": "Region", "parent": "Root"} for r in range(regions)]
    leaves = territories - 1 - regions
    rows += [{"developer_name": f"T{i}", "name": f"Territory {i}", "type": "Leaf", "parent": f"R{i % regions}",
              "account_access": "Edit"} for i in range(leaves)]
    tree = TerritoriesFile.model_validate({
        "model": {"developer_name": "Bench_FY", "name": "Bench FY"},
        "types": [{"developer_name": n, "label": n, "priority": p} for n, p in (("Top", 1), ("Region", 2), ("Leaf", 3))],
        "territories": rows})
    users = [f"rep{u}@bench.example" for u in range(max(1, assignments // 5))]
    names = [r["developer_name"] for r in rows]
    wanted = [{"user": users[i % len(users)], "territory": names[(i * 7 + i // len(users)) % len(names)],
               "role": "AE" if i % 3 else "SDR"} for i in range(assignments)]
    unique = list({(w["user"], w["territory"]): w for w in wanted}.values())
    return tree, AssignmentsFile.model_validate({"assignments": unique}).assignments, users


def _best(run: Any, times: int = 5) -> tuple[float, Any]:
    """The fastest of a few runs of a read-only step (the machine is shared), and its result."""
    best, out = float("inf"), None
    for _ in range(times):
        t0 = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_sync(territories: int, assignments: int) -> float:
    tree, wanted, users = _model(territories, assignments)
    basis = "sha256:" + hashlib.sha256(tree.model_dump_json().encode() + repr(wanted).encode()).hexdigest()
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{Path(tmp) / 'crm.sqlite'}")
        crm, log = LocalCRM(engine), SqlDecisionStore(engine)
        crm.bulk_create([User(Username=u, Email=u, LastName=u.split("@")[0]) for u in users])
        t0 = time.perf_counter()
        applied = sync.apply(crm, tree, wanted, decisions=log, basis=basis)
        apply_s = time.perf_counter() - t0
        assert applied.complete, applied.failed[:3]
        plan_s, plan = _best(lambda: sync.plan(crm, tree, wanted, decisions=log, basis=basis))
        full_s, full = _best(lambda: sync.plan(crm, tree, wanted, decisions=log, refresh=True), times=2)
    assert plan.changes == [] and plan.fast and full.changes == []
    print(f"2. sync of a {territories:,}-territory model with {len(wanted):,} user assignments (local CRM, SQLite)")
    print(f"   apply from empty     {apply_s:8.3f} s   ({len(applied.results):,} records in batches of 200)")
    print(f"   plan, unchanged CRM  {plan_s:8.4f} s   (config version + watermark check; best of 5)")
    print(f"   plan, full read      {full_s:8.3f} s   (--refresh, for reference: {full_s / apply_s:.1%} of the apply)")
    share = plan_s / apply_s
    print(f"   plan / apply: {share:.2%}  (target < 1%: {'met' if share < 0.01 else 'NOT met'})")
    return share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    if args.quick:
        bench_assign(100_000, 20_000)
        bench_sync(200, 1_000)
    else:
        bench_assign(1_000_000, 200_000)
        bench_sync(1_000, 5_000)


if __name__ == "__main__":
    main()
