"""`revloops test`, the health kind: an account's health features scored with ``expand/health.yaml``.

A case gives the features as ``features`` computes them from the account's usage snapshots
(``seat_utilisation``, ``logins_per_user``, ``support_tickets``, ``nps``, ``executive_sponsor``,
``active_seat_trend``, ``customer_months``); one left out has no data and drops out, as in the loop.
"""

from __future__ import annotations

from collections.abc import Iterable

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, GtmConfig
from revloops.loops.expand.health import HealthFile, HealthScore, score_one
from revloops.loops.route.cases import (
    CaseResult,
    CaseRunner,
    HealthCase,
    HealthExpect,
    cases_of,
    needs_files,
    words,
)

FILE = "expand/health.yaml"


def check_health_cases(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A health case expecting a band that ``expand/health.yaml`` does not have."""
    health: HealthFile | None = cfg.get("health")
    if health is None:
        return
    bands = [b.name for b in health.bands]
    for name, i, case in cases_of(cfg, HealthCase):
        if case.expect.band is not None and case.expect.band not in bands:
            yield ConfigIssue("tests", ("cases", i, "expect", "band"),
                              f"band {case.expect.band!r} does not exist in {FILE} (bands: {', '.join(bands)})",
                              name=name)


CHECKS: list[Check] = [check_health_cases]


def expected_of(want: HealthExpect) -> str:
    """``band green, score >= 70``."""
    return words(want.band and f"band {want.band}",
                 f"score >= {want.min_score:g}" if want.min_score is not None else None,
                 f"score <= {want.max_score:g}" if want.max_score is not None else None)


def holds(want: HealthExpect, health: HealthScore) -> bool:
    """Whether every expectation holds (a score with no data meets none)."""
    value = health.score
    if value is None:
        return False
    return ((want.band is None or want.band == health.band)
            and (want.min_score is None or value >= want.min_score)
            and (want.max_score is None or value <= want.max_score))


def health_runner(cfg: GtmConfig) -> CaseRunner:
    """The runner of health cases (each fails, naming the file, without ``expand/health.yaml``)."""
    lacking = needs_files(cfg, {"health": FILE})
    if lacking is not None:
        return lacking
    health: HealthFile = cfg.get("health")

    def run(file: str, case: HealthCase) -> CaseResult:
        result = score_one(health, {str(k): v for k, v in case.features.items()})
        got = (f"band {result.band}, score {result.score:.1f}" if result.score is not None
               else "no score (no measure with a weight has data)")
        return CaseResult(file=file, name=case.name, kind="health", passed=holds(case.expect, result),
                          expected=expected_of(case.expect), got=got, explanation=result.explanation(),
                          trace=[term.model_dump(mode="json") for term in result.terms])

    return run
