"""Retention (Pursue, Onboard, Expand): the health score over a whole frame against the per-account loop, and
milestone plans created through the engine against the engine's floor, each side by side in one run.

    python bench/retention.py                     # both sections: 100,000 accounts, 10,000 opportunities
    python bench/retention.py --quick             # 10,000 accounts, 1,000 opportunities
    python bench/retention.py --section plans     # one section (health or plans)
    python bench/retention.py --section plans --postgres   # plans on a throwaway local Postgres (fsync on)
    python bench/retention.py --accounts 500000 --opportunities 20000

Sections (``main`` runs them in order; each prints its figures and says whether its check held):

1. health: ``score_frame`` over N accounts' feature rows against a Python loop calling ``score_one`` on each
   row (rows taken from the frame as dicts before timing), with the example org's ``expand/health.yaml``.
   Prints both times, the ratio (target >= 20x) and the largest score difference (must be <= 1e-9, and every
   band the same: the run exits non-zero otherwise).

The feature rows are synthetic and deterministic (numpy, fixed seed): a spread of ages (some new accounts),
utilisation, logins, tickets, NPS (often unanswered), sponsors and seat trends, with a few nulls everywhere.

2. plans: N open opportunities (each on its own US account, sizes spread so every deal play of the example org
   is chosen) get their deal plays through the engine, as a user runs it: ``run_events`` (the app action the
   demo and replays use) delivers one ``opportunity.created`` per deal into the inbox as the webhook would, the
   dispatcher starts one ``pursue.start`` run per event on the ``chain`` queue, and it returns once every event
   is done. Against it, the engine's floor: as many ``probe.steps`` workflows with the same number of steps
   (the run's one step plus its finish step) through the same queue, enqueued and waited for (bench/chain.py's
   floor). In rounds (floor, then plans, on fresh deals), so a slow patch of a shared machine lands on both
   sides of some pair. Both are timed by the wall clock, first enqueue or delivery to the last run finished
   (the headline), and by their steps' own timestamps (first step start to last step end, as bench/chain.py
   times the queue). Prints both rates and plans / floor (target >= 0.8x); checks every event done, one plan
   and one run per deal, and as many plan tasks as open milestones (the run exits non-zero otherwise).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from revloops.config.yamlfile import load_yaml, validate_doc
from revloops.loops.expand.health import HealthFile, score_frame, score_one

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "acme" / "config"
HEALTH = EXAMPLE / "expand" / "health.yaml"
TOLERANCE = 1e-9


def health_config() -> HealthFile:
    """The example org's health config, validated as the loader validates it."""
    model, problems = validate_doc(load_yaml(HEALTH, "expand/health.yaml"), HealthFile)
    assert model is not None, problems
    return model


def synthetic_features(n: int, seed: int = 11) -> pl.DataFrame:
    """``n`` accounts' feature rows, the same for the same ``n`` and ``seed``."""
    rng = np.random.default_rng(seed)

    def gaps(values: np.ndarray, share: float) -> pl.Series:
        return pl.Series(np.where(rng.random(n) < share, np.nan, values.astype(float))).fill_nan(None)

    return pl.DataFrame({
        "Id": [f"001BENCH{i:08d}" for i in range(n)],
        "customer_months": gaps(rng.integers(0, 120, n), 0.01),
        "seat_utilisation": gaps(rng.beta(5, 2, n), 0.03),
        "logins_per_user": gaps(rng.gamma(2.0, 3.0, n), 0.03),
        "support_tickets": gaps(rng.poisson(3, n), 0.03),
        "nps": gaps(rng.uniform(-100, 100, n).round(), 0.40),
        "executive_sponsor": gaps(rng.random(n) < 0.6, 0.05),
        "active_seat_trend": gaps(rng.normal(0.0, 0.15, n), 0.10),
    })


def _median_seconds(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def health_bench(n: int, rounds: int = 3) -> bool:
    """Section 1: ``score_frame`` against the ``score_one`` loop on the same ``n`` rows.

    Returns:
        Whether both paths agreed (every score within 1e-9, every band the same).
    """
    cfg = health_config()
    feats = synthetic_features(n)
    rows = feats.to_dicts()  # the loop's input, built before timing
    frame_s = _median_seconds(lambda: score_frame(cfg, feats), rounds)
    start = time.perf_counter()
    singles = [score_one(cfg, row) for row in rows]
    loop_s = time.perf_counter() - start
    scored = score_frame(cfg, feats)
    frame_scores, frame_bands = scored["score"].to_list(), scored["band"].to_list()
    diffs = [abs(a - b.score) if a is not None and b.score is not None else (0.0 if a is b.score else np.inf)
             for a, b in zip(frame_scores, singles, strict=True)]
    band_misses = sum(a != b.band for a, b in zip(frame_bands, singles, strict=True))
    new = int(scored["new_account"].sum())
    unscored = scored["score"].null_count()
    print(f"  {n:,} accounts ({new:,} new, {unscored:,} without a score); health config v{cfg.version}, "
          f"{len(cfg.measures)} measures")
    print(f"  score_frame (vectorised, median of {rounds})   {frame_s * 1000:10.1f} ms   "
          f"{frame_s / n * 1e6:8.3f} us/account")
    print(f"  score_one loop (per account, once)       {loop_s * 1000:10.1f} ms   {loop_s / n * 1e6:8.3f} us/account")
    print(f"  ratio loop / frame                       {loop_s / frame_s:10.1f}x   (target >= 20x)")
    worst = max(diffs, default=0.0)
    print(f"  max |score difference|                   {worst:10.2e}    (must be <= {TOLERANCE:g}); "
          f"bands differing: {band_misses}")
    return worst <= TOLERANCE and band_misses == 0


# -- 2. plans through the engine against its floor ---------------------------------------------------------

#: pursue.start's steps: start the deal's play, then mark its events done
PLAN_STEPS = 2
#: (employees, amount) of the deals, in turn: smb, mid-market and enterprise accounts, small and large deals
DEAL_SIZES = ((60, 12_000.0), (450, 45_000.0), (3_000, 160_000.0), (120, 60_000.0), (800, 30_000.0))
STATES = ("CA", "NY", "TX", "WA", "MA", "IL")
WARM = 20


@dataclass(frozen=True)
class Timed:
    """``n`` workflows: wall seconds from the first enqueue or delivery to the last finished, and the span of
    their steps' own timestamps."""

    label: str
    n: int
    wall: float
    span: float
    #: each step's mean wall milliseconds (under the queue's concurrency, so waiting for locks and the CPU too)
    step_ms: dict[str, float]

    def line(self) -> str:
        return (f"  {self.label:<44} {self.n / self.wall:8.1f} wf/s  {1000 * self.wall / self.n:7.1f} ms/wf"
                f"   (steps' span {self.n / self.span:7.1f} wf/s)  n={self.n:,}")

    def steps(self) -> str:
        return "    mean step wall time: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in self.step_ms.items())


def steps_span(client: Any, run_ids: Sequence[str]) -> tuple[float, dict[str, float]]:
    """First step start to last step end of these runs, in seconds (step stamps are milliseconds; a run's own
    stamps are whole seconds on SQLite), and each step's mean wall time in milliseconds."""
    starts: list[int] = []
    ends: list[int] = []
    spent: dict[str, list[int]] = {}
    for run_id in run_ids:
        for info in client.list_workflow_steps(run_id, load_output=False):
            if info["started_at_epoch_ms"] is not None and info["completed_at_epoch_ms"] is not None:
                starts.append(info["started_at_epoch_ms"])
                ends.append(info["completed_at_epoch_ms"])
                name = info["function_name"].rsplit(".", 1)[-1]
                spent.setdefault(name, []).append(info["completed_at_epoch_ms"] - info["started_at_epoch_ms"])
    return (max(ends) - min(starts)) / 1000, {k: statistics.fmean(v) for k, v in spent.items()}


def deals_org(root: Path, n: int, db: str | None = None) -> tuple[Any, list[str]]:
    """The example org's config (a private copy), its roster seeded (no seeded accounts, so no seeded deals),
    then ``n`` open opportunities, each on its own account, created through the CRM port."""
    from revloops.app import Caller, app_on
    from revloops.bootstrap import build
    from revloops.core.records import Account, Opportunity
    from revloops.ports.crm import Query

    shutil.copytree(EXAMPLE, root / "config")
    plat = build(config=root / "config", db=db or f"sqlite:///{root / 'state.sqlite'}", state_dir=root)
    app_on(plat).seed_org(Caller.operator("bench"), users=8, accounts=0, leads=0, seed=11)
    users = sorted(str(u.Id) for u in plat.crm.query_all(Query("User")) if u.IsActive)
    sizes = [DEAL_SIZES[i % len(DEAL_SIZES)] for i in range(n)]
    accounts = plat.crm.bulk_create([Account(Name=f"Bench Co {i}", BillingCountry="United States",
                                             BillingState=STATES[i % len(STATES)], NumberOfEmployees=employees)
                                     for i, (employees, _) in enumerate(sizes)])
    close = dt.date.today() + dt.timedelta(days=90)
    opps = plat.crm.bulk_create([Opportunity(Name=f"Bench deal {i}", StageName="Prospecting", CloseDate=close,
                                             Amount=amount, AccountId=accounts[i].id, OwnerId=users[i % len(users)])
                                 for i, (_, amount) in enumerate(sizes)])
    return plat, [str(r.id) for r in opps]


def floor_round(client: Any, n: int) -> Timed:
    """``n`` trivial workflows of PLAN_STEPS steps through the chain queue, enqueued and waited for."""
    from revloops.chains import probe
    from revloops.engine.registry import enqueue_once

    tag = f"floor-{time.monotonic_ns()}"
    start = time.perf_counter()
    handles = [enqueue_once("chain", f"{tag}-{i}", probe.steps, PLAN_STEPS, i) for i in range(n)]
    for handle in handles:
        handle.get_result()
    wall = time.perf_counter() - start
    return Timed(f"floor: {PLAN_STEPS} trivial steps, chain queue", n, wall,
                 *steps_span(client, [h.workflow_id for h in handles]))


def plans_round(plat: Any, client: Any, opps: Sequence[str]) -> Timed:
    """``opportunity.created`` for each deal through ``run_events``, until every event is done."""
    from revloops.app import Caller, app_on
    from revloops.core.events import CrmEvent, event_id

    now = dt.datetime.now(dt.UTC)
    events = [CrmEvent(id=event_id("opportunity.created", o), type="opportunity.created", object="Opportunity",
                       record_id=o, occurred_at=now) for o in opps]
    start = time.perf_counter()
    states = app_on(plat).run_events(Caller.operator("bench"), events, timeout=max(600.0, len(opps) / 2))
    wall = time.perf_counter() - start
    unfinished = [s for s in states if s.status != "done"]
    if unfinished or len(states) != len(opps):
        raise RuntimeError(f"{len(unfinished)} of {len(opps)} events not done: {unfinished[:3]}")
    return Timed("plans: opportunity.created -> pursue.start", len(opps), wall,
                 *steps_span(client, [f"pursue-{o}" for o in opps]))


def plans_check(plat: Any, client: Any, opps: Sequence[str]) -> tuple[bool, str]:
    """One plan and one successful run per deal; as many plan tasks as open milestones (and the line saying so)."""
    from revloops.ports.crm import Filter, Query

    instances = plat.plans.instances(loop="pursue")
    runs = client.list_workflows(name="pursue.start", load_input=False, load_output=False)
    tasks = sum(1 for _ in plat.crm.query_all(Query("Task", (Filter("Revloops_Key__c", "like", "plan:%"),))))
    _, open_milestones = plat.plans.open_milestones(limit=1)
    ok = (sorted(i.record_id for i in instances) == sorted(opps) and len(runs) == len(opps)
          and {str(r.status) for r in runs} == {"SUCCESS"} and tasks == open_milestones)
    return ok, (f"    {len(instances):,} plans for {len(opps):,} deals, {len(runs):,} runs "
                f"({', '.join(sorted({str(r.status) for r in runs}))}), {tasks:,} plan tasks for {open_milestones:,} "
                f"open milestones: {'ok' if ok else 'WRONG'}")


def plans_pair(root: Path, n: int, db: str | None) -> tuple[Timed, Timed, tuple[bool, str]]:
    """One round on an org of its own: warm up, then the floor and the plans on ``n`` workflows each."""
    from revloops.engine import setup

    plat, opps = deals_org(root, n + WARM, db)
    client = setup.client(plat.settings)
    try:
        setup.launch(plat)
        floor_round(client, WARM)
        plans_round(plat, client, opps[n:])  # imports, the config, the routing snapshot (it stops the engine)
        setup.launch(plat)
        floor = floor_round(client, n)
        plans = plans_round(plat, client, opps[:n])
        check = plans_check(plat, client, opps)
    finally:
        setup.shutdown()
        client.destroy()
        plat.engine.dispose()
    return floor, plans, check


def plans_bench(n: int = 10_000, rounds: int = 2, postgres: bool = False) -> bool:
    """Section 2: plans created through the engine against the floor with the same steps, in ``rounds`` pairs.

    Each round runs on an org of its own (a fresh state database and engine), so every round starts from the
    same state; it also keeps each inbox to its round's events, which ``run_events`` needs today: its wait reads
    the oldest ``len(events) + 5000`` inbox entries (``chains/run.py``), so it never sees newer events behind more.

    Returns:
        Whether every deal got one plan through one successful run, with a task per open milestone.
    """
    from contextlib import ExitStack

    from revloops.settings import load_settings

    per_round = n // rounds
    pairs: list[tuple[Timed, Timed]] = []
    ok = True
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = None
        if postgres:
            from revloops.testing.postgres import throwaway_postgres

            server = stack.enter_context(throwaway_postgres(durable=True))
        settings = load_settings()
        print(f"  {rounds} round(s) of {per_round:,} deals each (+{WARM} to warm up) on "
              f"{'Postgres (fsync on)' if postgres else 'SQLite (WAL)'}, chain queue concurrency "
              f"{settings.chain_concurrency}, polled every {settings.chain_poll_seconds} s", flush=True)
        for r in range(rounds):
            floor, plans, (held, said) = plans_pair(root / f"round-{r + 1}", per_round, _round_db(server, r))
            pairs.append((floor, plans))
            ok = ok and held
            print(f"  round {r + 1}:")
            print(floor.line())
            print(plans.line() + f"   ({floor.wall / plans.wall:.2f}x)")
            print(plans.steps())
            print(said, flush=True)
    floor_wall, plans_wall = sum(f.wall for f, _ in pairs), sum(p.wall for _, p in pairs)
    floor_span, plans_span = sum(f.span for f, _ in pairs), sum(p.span for _, p in pairs)
    total = per_round * rounds
    print(f"  {'floor, all rounds':<44} {total / floor_wall:8.1f} wf/s   (steps' span {total / floor_span:.1f})")
    print(f"  {'plans, all rounds':<44} {total / plans_wall:8.1f} wf/s   (steps' span {total / plans_span:.1f})")
    print(f"  {'plans / floor (target >= 0.8x)':<44} {floor_wall / plans_wall:8.2f}x   "
          f"(steps' span {floor_span / plans_span:.2f}x)")
    return ok


def _round_db(server: Any, r: int) -> str | None:
    """A database of its own for round ``r`` on the Postgres server (None: SQLite files in the round's folder)."""
    if server is None:
        return None
    import psycopg

    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE round_{r + 1}")
    return str(server.url(f"round_{r + 1}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=("health", "plans"), default=None, help="run one section (default both)")
    parser.add_argument("--accounts", type=int, default=None, help="accounts to score (default 100,000)")
    parser.add_argument("--opportunities", type=int, default=None, help="deals to plan (default 10,000)")
    parser.add_argument("--rounds", type=int, default=2, help="floor/plans pairs the deals are split into")
    parser.add_argument("--postgres", action="store_true", help="plans on a throwaway local Postgres, not SQLite")
    parser.add_argument("--quick", action="store_true", help="short run: 10,000 accounts, 1,000 opportunities")
    args = parser.parse_args(argv)
    n = args.accounts or (10_000 if args.quick else 100_000)
    deals = args.opportunities or (1_000 if args.quick else 10_000)
    sections: list[tuple[str, str, Callable[[], bool]]] = [
        ("health", "1. health: score_frame vs the score_one loop", lambda: health_bench(n)),
        ("plans", "2. plans: deal plays through the engine vs the engine's floor",
         lambda: plans_bench(deals, max(1, args.rounds), args.postgres)),
    ]
    failed = []
    for name, title, run in sections:
        if args.section not in (None, name):
            continue
        print(f"\n{title}", flush=True)
        if not run():
            failed.append(title)
    if failed:
        print(f"\nchecks failed: {'; '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
