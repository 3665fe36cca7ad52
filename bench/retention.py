"""Retention (Expand): the health score over a whole frame against the per-account loop, side by side in one run.

    python bench/retention.py                     # 100,000 accounts
    python bench/retention.py --quick             # 10,000 accounts
    python bench/retention.py --accounts 500000

Sections (``main`` runs them in order; each prints its figures and says whether its check held):

1. health: ``score_frame`` over N accounts' feature rows against a Python loop calling ``score_one`` on each
   row (rows taken from the frame as dicts before timing), with the example org's ``expand/health.yaml``.
   Prints both times, the ratio (target >= 20x) and the largest score difference (must be <= 1e-9, and every
   band the same: the run exits non-zero otherwise).

The feature rows are synthetic and deterministic (numpy, fixed seed): a spread of ages (some new accounts),
utilisation, logins, tickets, NPS (often unanswered), sponsors and seat trends, with a few nulls everywhere.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from revloops.config.yamlfile import load_yaml, validate_doc
from revloops.loops.expand.health import HealthFile, score_frame, score_one

ROOT = Path(__file__).resolve().parents[1]
HEALTH = ROOT / "examples" / "acme" / "config" / "expand" / "health.yaml"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=None, help="accounts to score (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="short run: 10,000 accounts")
    args = parser.parse_args(argv)
    n = args.accounts or (10_000 if args.quick else 100_000)
    sections: list[tuple[str, Callable[[], bool]]] = [
        ("1. health: score_frame vs the score_one loop", lambda: health_bench(n)),
    ]
    failed = []
    for title, run in sections:
        print(f"\n{title}", flush=True)
        if not run():
            failed.append(title)
    if failed:
        print(f"\nchecks failed: {'; '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
