"""Engage benchmark: the pure part per lead, and the whole engage_lead step against its floor.

    python bench/engage.py            # 2,000 leads through engage_lead, 20,000 through the pure part
    python bench/engage.py --quick    # 300 and 3,000

Figures, measured side by side in one run on the same seeded leads (embedded CRM on SQLite, offline composer):
  1. the pure part per lead: play selection (with trace), facts, offline rendering, business-day scheduling;
  2. engage_lead end to end: sequence stored, one task upserted, decision logged;
  3. the floor: the one task upsert per lead alone (the write engage_lead cannot avoid),
and the ratios 2/3 (what Engage adds on top of its one CRM write) and a rerun of 2 (idempotent no-op).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from revloops.bootstrap import Platform  # noqa: E402
from revloops.config.loader import load_config  # noqa: E402
from revloops.core.records import Lead, User  # noqa: E402
from revloops.loops.engage.config import FILES, PlaysFile  # noqa: E402
from revloops.loops.engage.flow import engage_lead  # noqa: E402
from revloops.loops.engage.logic import (  # noqa: E402
    compile_plays,
    engage_context,
    facts_for,
    plan_slots,
    render_offline,
    select_play,
)
from revloops.settings import Settings  # noqa: E402

EXAMPLE = ROOT / "examples" / "acme" / "config"
NOW = dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC)
COUNTRIES = [("US", "US-CA"), ("US", "US-NY"), ("DE", "DE-BY"), ("GB", None), ("FR", None), ("JP", None)]
TITLES = ["CEO", "VP Sales", "Sales Ops Manager", "Director of IT", "Analyst", None]
SOURCES = ["Web", "Partner", "Webinar", "Event", "Content", None]
SEGMENTS = ["smb", "mid_market", "enterprise"]


def contexts(n: int, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        country, region = rng.choice(COUNTRIES)
        ctx: dict[str, Any] = {"FirstName": f"First{i}", "LastName": f"Last{i}", "Company": f"Company {i % 97}",
                               "Industry": rng.choice(["Software", "Retail", "Logistics"]),
                               "NumberOfEmployees": rng.randint(5, 20000), "geo.country": country,
                               "segment": rng.choice(SEGMENTS), "score.total": rng.randint(0, 100)}
        for key, options in (("Title", TITLES), ("LeadSource", SOURCES)):
            value = rng.choice(options)
            if value is not None:
                ctx[key] = value
        if region:
            ctx["geo.region"] = region
        if rng.random() < 0.1:
            ctx["signal.type"] = "funding"
        out.append(ctx)
    return out


def pure(plays: PlaysFile, ctxs: list[dict[str, Any]]) -> float:
    compiled = compile_plays(plays)
    owner = {"FirstName": "Ava", "LastName": "Chen"}
    start = time.perf_counter()
    for raw in ctxs:
        ctx = engage_context(raw, plays)
        play = select_play(plays, ctx, compiled).play
        assert play is not None
        render_offline(play, facts_for(ctx, owner, plays, play))
        plan_slots(play, plays, ctx, NOW)
    return (time.perf_counter() - start) / len(ctxs)


def platform(folder: Path) -> Platform:
    settings = Settings(db=f"sqlite:///{folder / 'state.sqlite'}", config=EXAMPLE, anthropic_api_key=None)
    return Platform(settings, _config=load_config(EXAMPLE, specs=FILES, checks=[]))


def seed(plat: Platform, ctxs: list[dict[str, Any]]) -> tuple[str, list[str]]:
    owner = plat.crm.create(User(Username="ava@acme.example", Email="ava@acme.example", FirstName="Ava",
                                 LastName="Chen"))
    leads = [Lead(FirstName=c["FirstName"], LastName=c["LastName"], Company=c["Company"]) for c in ctxs]
    ids = [r.id or "" for r in plat.crm.bulk_create(leads)]
    return owner, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_flow, n_pure = (300, 3_000) if args.quick else (2_000, 20_000)
    plays = load_config(EXAMPLE, specs=FILES, checks=[]).require("plays", PlaysFile)
    pure(plays, contexts(200))  # warm the holiday calendars and compiled walk
    per_pure = pure(plays, contexts(n_pure))
    ctxs = contexts(n_flow)
    with tempfile.TemporaryDirectory() as tmp:
        plat = platform(Path(tmp) / "a")
        owner, ids = seed(plat, ctxs)
        start = time.perf_counter()
        for lead_id, ctx in zip(ids, ctxs, strict=True):
            engage_lead(plat, lead_id, owner, ctx, now=NOW)
        per_flow = (time.perf_counter() - start) / n_flow
        start = time.perf_counter()
        for lead_id, ctx in zip(ids, ctxs, strict=True):
            engage_lead(plat, lead_id, owner, ctx, now=NOW)
        per_rerun = (time.perf_counter() - start) / n_flow
        floor_plat = platform(Path(tmp) / "b")
        _, floor_ids = seed(floor_plat, ctxs)
        start = time.perf_counter()
        for lead_id in floor_ids:
            floor_plat.crm.upsert("Task", "Revloops_Key__c", f"engage:{lead_id}",
                                  {"Subject": "Engage", "Description": "x" * 1500, "WhoId": lead_id,
                                   "OwnerId": owner, "ActivityDate": "2026-11-25"})
        per_floor = (time.perf_counter() - start) / n_flow
    print(f"pure part per lead (select+facts+render+schedule): {per_pure * 1e6:9.1f} us  ({n_pure:,} leads)")
    print(f"engage_lead per lead (store+task+decision):        {per_flow * 1e3:9.2f} ms  ({n_flow:,} leads)")
    print(f"engage_lead rerun per lead (idempotent no-op):     {per_rerun * 1e3:9.2f} ms")
    print(f"floor: one task upsert per lead:                   {per_floor * 1e3:9.2f} ms")
    print(f"ratio engage_lead / floor: {per_flow / per_floor:.2f}x; rerun / floor: {per_rerun / per_floor:.2f}x; "
          f"pure share of engage_lead: {per_pure / per_flow:.1%}")


if __name__ == "__main__":
    main()
