"""Design's capacity model: vectorised (numpy) against the straightforward per-rep-per-month loop.

A 1,000-rep roster over 36 months with 1,000 Monte Carlo draws; both paths compute every figure
(capacity per rep and month, roll-ups by segment, territory and motion, targets, the Monte Carlo and its
P10/P50/P90) from the same scenario and the same random draws, and the figures are checked equal.

    python bench/design.py            # the full figure
    python bench/design.py --quick    # 200 reps, 100 draws
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date

import numpy as np

from revloops.loops.design import logic
from revloops.loops.design.config import (
    Assumptions,
    CapacityConfig,
    Productivity,
    RampCurve,
    RosterEntry,
    ScenarioFile,
    Targets,
    TerritoriesFile,
)
from revloops.loops.design.inherit import Scenario, merge
from revloops.loops.design.plan import compile_plan
from revloops.loops.design.reference import reference_figures, reference_percentiles, reference_simulate

SEGMENTS = ["smb", "mid_market", "enterprise"]
MOTIONS = {"inbound_ae": "AE", "outbound_ae": "AE", "sdr": "SDR", "expansion_am": "AE"}


def build(reps: int, months: int, seed: int = 1) -> tuple[Scenario, CapacityConfig, TerritoriesFile]:
    """A synthetic org: 3 regions x 4 sub-regions x 3 districts, ``reps`` entries, every motion and segment."""
    rnd = random.Random(seed)
    territories = [{"developer_name": "Global", "name": "Global", "type": "Geo"}]
    leaves = []
    for r in ("NA", "EMEA", "APAC"):
        territories.append({"developer_name": r, "name": r, "type": "Geo", "parent": "Global"})
        for s in range(4):
            sub = f"{r}_S{s}"
            territories.append({"developer_name": sub, "name": sub, "type": "Geo", "parent": r})
            for d in range(3):
                leaves.append(f"{sub}_D{d}")
                territories.append({"developer_name": leaves[-1], "name": leaves[-1], "type": "Geo", "parent": sub})
    hierarchy = TerritoriesFile.model_validate({
        "model": {"developer_name": "Bench", "name": "Bench"},
        "types": [{"developer_name": "Geo", "label": "Geo", "priority": 1}], "territories": territories})
    capacity = CapacityConfig.model_validate({
        "active_scenario": "bench", "fiscal_year_start": 2,
        "segments": [{"id": s, "label": s} for s in SEGMENTS],
        "motions": [{"id": m, "label": m, "role": role} for m, role in MOTIONS.items()]})
    roster = []
    for i in range(reps):
        motion = rnd.choice(list(MOTIONS))
        start = date(rnd.randint(2022, 2028), rnd.randint(1, 12), 1)
        end = None if rnd.random() < 0.8 else date(start.year + rnd.randint(0, 3), rnd.randint(1, 12), 28)
        if end is not None and end < start:
            end = None
        seat = start > date(2026, 2, 1)
        roster.append(RosterEntry(
            id=f"r{i}", kind="seat" if seat else "rep", user=None if seat else f"rep{i}@bench.example",
            name=None if seat else f"Rep {i}", role=MOTIONS[motion], motion=motion, segment=rnd.choice(SEGMENTS),
            territory=rnd.choice(leaves), start=start, end=end))
    productivity = [Productivity(motion=m, segment=s, monthly=rnd.uniform(2e4, 1.2e5),
                                 quarterly={"Q4": rnd.uniform(2e4, 1.5e5)}) for m in MOTIONS for s in SEGMENTS]
    productivity += [Productivity(motion=m, segment="*", territory=r, monthly=rnd.uniform(2e4, 1e5))
                     for m in MOTIONS for r in ("NA", "EMEA_S1", "APAC_S2_D0")]
    annual = reps * 360_000.0  # about what the synthetic roster books: coverage near 100%
    file = ScenarioFile(
        fiscal_year=2026, months=months, roster=roster,
        ramp_curves={m: RampCurve(months=sorted(rnd.uniform(0, 1) for _ in range(rnd.randint(3, 9))) + [1.0])
                     for m in MOTIONS},
        productivity=productivity,
        targets=Targets(annual_bookings=annual, quarterly=[annual * q for q in (0.22, 0.24, 0.25, 0.29)],
                        by_segment={"smb": annual * 0.2, "mid_market": annual * 0.35, "enterprise": annual * 0.45},
                        annual_growth=0.1),
        assumptions=Assumptions(annual_attrition={"AE": 0.15, "SDR": 0.3},
                                productivity_cv={"inbound_ae": 0.2, "outbound_ae": 0.35, "sdr": 0.3}))
    return merge({"bench": file}, "bench"), capacity, hierarchy


def vectorised(scenario: Scenario, capacity: CapacityConfig, hierarchy: TerritoriesFile,
               draws: logic.Draws) -> tuple[logic.Figures, logic.MonteCarlo, list[float]]:
    plan = compile_plan(scenario, capacity, hierarchy)
    figs = logic.figures(plan)
    sim = logic.simulate(plan, draws)
    return figs, sim, logic.percentiles(sim.totals)


def straightforward(scenario: Scenario, capacity: CapacityConfig, hierarchy: TerritoriesFile,
                    draws: logic.Draws) -> tuple[logic.Figures, logic.MonteCarlo, list[float]]:
    figs = reference_figures(scenario, capacity, hierarchy)
    sim = reference_simulate(scenario, capacity, hierarchy, draws)
    return figs, sim, reference_percentiles(sim.totals.tolist())


def same(a: tuple[logic.Figures, logic.MonteCarlo, list[float]],
         b: tuple[logic.Figures, logic.MonteCarlo, list[float]]) -> tuple[bool, float]:
    """Whether every figure agrees (rtol 1e-9), and the largest relative difference seen."""
    pairs = [(a[0].rep_month, b[0].rep_month), (a[0].month_capacity, b[0].month_capacity),
             (a[0].month_target, b[0].month_target), (a[1].totals, b[1].totals),
             (a[1].by_segment, b[1].by_segment), (np.array(a[2]), np.array(b[2]))]
    for name in ("by_segment", "by_territory", "by_motion", "segment_target"):
        left, right = getattr(a[0], name), getattr(b[0], name)
        if left.keys() != right.keys():
            return False, float("inf")
        pairs += [(left[k], right[k]) for k in left]
    worst = max(float(np.max(np.abs(x - y) / np.maximum(np.abs(y), 1.0), initial=0.0)) for x, y in pairs)
    return all(x.shape == y.shape and np.allclose(x, y, rtol=1e-9, atol=1e-6) for x, y in pairs), worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 reps and 100 draws")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    reps, months, n_draws = (200, 36, 100) if args.quick else (1000, 36, 1000)
    scenario, capacity, hierarchy = build(reps, months)
    draws = logic.make_draws(n_draws, reps, args.seed)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fast = vectorised(scenario, capacity, hierarchy, draws)
        best = min(best, time.perf_counter() - t0)
    t0 = time.perf_counter()
    slow = straightforward(scenario, capacity, hierarchy, draws)
    loop = time.perf_counter() - t0
    ok, worst = same(fast, slow)
    target = float(fast[0].month_target.sum())
    print(f"design capacity model: {reps} reps x {months} months, {n_draws} Monte Carlo draws")
    print(f"  vectorised (numpy), best of 3   {best * 1000:10.1f} ms")
    print(f"  per-rep-per-month Python loop   {loop * 1000:10.1f} ms")
    print(f"  ratio (loop / vectorised)       {loop / best:10.1f}x   (goal: >= 50x)")
    print(f"  same figures (rtol 1e-9)        {'yes' if ok else 'NO'}   (largest relative difference {worst:.1e})")
    p10, p50, p90 = fast[2]
    print(f"  capacity {fast[0].month_capacity.sum():,.0f} vs target {target:,.0f}; "
          f"attainment P10/P50/P90 {p10 / target:.1%} / {p50 / target:.1%} / {p90 / target:.1%}")
    if not ok:
        raise SystemExit("the vectorised model and the reference loop disagree")


if __name__ == "__main__":
    main()
