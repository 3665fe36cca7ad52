"""`revloops test`, the score kind: a lead scored with ``qualify/scoring.yaml`` as Qualify scores it.

The lead's context is built as the inbound chain builds it for scoring (its fields, ``geo.*``, its segment,
no score yet), with the case's dotted keys (``enrichment.person.seniority``, ``signal.type``, ``geo.country``)
on top: enrichment is given, never looked up.
"""

from __future__ import annotations

from collections.abc import Iterable

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, GtmConfig
from revloops.loops.qualify.config import ScoringFile
from revloops.loops.qualify.logic import Score, score
from revloops.loops.route.cases import (
    CaseResult,
    CaseRunner,
    ScoreCase,
    ScoreExpect,
    case_context,
    cases_of,
    listing,
    needs_files,
    words,
)

FILE = "qualify/scoring.yaml"


def check_score_cases(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A score case naming a scoring rule that does not exist can never be right: say so at load."""
    scoring: ScoringFile | None = cfg.get("scoring")
    if scoring is None:
        return
    known = {r.id for r in (*scoring.fit, *scoring.intent)}
    for name, i, case in cases_of(cfg, ScoreCase):
        for key in ("rules", "not_rules"):
            for j, rule_id in enumerate(getattr(case.expect, key)):
                if rule_id not in known:
                    yield ConfigIssue("tests", ("cases", i, "expect", key, j),
                                      f"scoring rule {rule_id!r} does not exist in {FILE}", name=name)


CHECKS: list[Check] = [check_score_cases]


def expected_of(want: ScoreExpect) -> str:
    """``band mql, total >= 60, rules demo-request, not competitor``."""
    bounds = [f"total {want.total}" if want.total is not None else None,
              f"total >= {want.min_total}" if want.min_total is not None else None,
              f"total <= {want.max_total}" if want.max_total is not None else None]
    return words(want.band and f"band {want.band}", *bounds, listing("rules", want.rules),
                 listing("not", want.not_rules))


def got_of(result: Score, want: ScoreExpect) -> str:
    """``band mql, total 75 (fit 40, intent 35)``, and the rules that counted when the case names rules."""
    counted = None
    if want.rules or want.not_rules:
        counted = listing("rules", (line.rule_id for line in result.breakdown)) or "no rule counted"
    return words(f"band {result.band}", f"total {result.total} (fit {result.fit}, intent {result.intent})", counted)


def holds(want: ScoreExpect, result: Score) -> bool:
    """Whether every expectation of the case holds on the score."""
    counted = {line.rule_id for line in result.breakdown}
    return ((want.band is None or want.band == result.band)
            and (want.total is None or want.total == result.total)
            and (want.min_total is None or result.total >= want.min_total)
            and (want.max_total is None or result.total <= want.max_total)
            and set(want.rules) <= counted and not set(want.not_rules) & counted)


def score_runner(cfg: GtmConfig) -> CaseRunner:
    """The runner of score cases (each fails, naming the file, without ``qualify/scoring.yaml``)."""
    lacking = needs_files(cfg, {"scoring": FILE})
    if lacking is not None:
        return lacking
    scoring: ScoringFile = cfg.get("scoring")

    def run(file: str, case: ScoreCase) -> CaseResult:
        result = score(case_context(cfg, case.record, score={}), scoring)
        return CaseResult(file=file, name=case.name, kind="score", passed=holds(case.expect, result),
                          expected=expected_of(case.expect), got=got_of(result, case.expect), explanation=result.explanation,
                          trace=[step.model_dump(mode="json") for step in result.trace])

    return run
