"""`revloops test`, the play kind for leads: the play ``engage/plays.yaml`` gives a lead, picked as Engage picks it.

The lead's context is built as Route builds it (fields, ``geo.*``, segment), with ``score.*`` as the chain
passes it on from Qualify: ``score.total`` when the case gives it, else the lead scored with
``qualify/scoring.yaml`` when the config has one. Persona and score band are derived as Engage derives them
(a given ``persona`` or ``score.band`` is kept). The lead's matched account is not looked up: give its
fields as ``account.<Field>`` when a play reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, GtmConfig
from revloops.loops.engage.config import PlaysFile
from revloops.loops.engage.logic import engage_context, select_play
from revloops.loops.qualify.config import ScoringFile
from revloops.loops.qualify.logic import score
from revloops.loops.route.cases import (
    NO_PLAY,
    CaseResult,
    CaseRunner,
    PlayCase,
    case_context,
    cases_of,
    needs_files,
    words,
)

FILE = "engage/plays.yaml"


def check_play_cases(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A lead's play case expecting a play that does not exist in ``engage/plays.yaml``."""
    plays: PlaysFile | None = cfg.get("plays")
    if plays is None:
        return
    known = {p.id for p in plays.plays}
    for name, i, case in cases_of(cfg, PlayCase):
        if case.loop == "engage" and case.expect.play != NO_PLAY and case.expect.play not in known:
            yield ConfigIssue("tests", ("cases", i, "expect", "play"),
                              f"play {case.expect.play!r} does not exist in {FILE} (or expect none)", name=name)


CHECKS: list[Check] = [check_play_cases]


def lead_score(cfg: GtmConfig, case: PlayCase) -> tuple[dict[str, Any] | None, str]:
    """The ``score`` the lead's context carries, and where it came from."""
    if "score.total" in case.record:
        return {}, "score.total given"
    scoring: ScoringFile | None = cfg.get("scoring")
    if scoring is None:
        return None, "no qualify/scoring.yaml: score read from Lead_Score__c"
    result = score(case_context(cfg, case.record, score={}), scoring)
    return {"total": result.total, "fit": result.fit, "intent": result.intent}, "scored with qualify/scoring.yaml"


def play_runner(cfg: GtmConfig) -> CaseRunner:
    """The runner of lead play cases (each fails, naming the file, without ``engage/plays.yaml``)."""
    lacking = needs_files(cfg, {"plays": FILE})
    if lacking is not None:
        return lacking
    plays: PlaysFile = cfg.get("plays")

    def run(file: str, case: PlayCase) -> CaseResult:
        lead, source = lead_score(cfg, case)
        ctx = engage_context(case_context(cfg, case.record, score=lead), plays)
        selection = select_play(plays, ctx)
        got = selection.play.id if selection.play is not None else NO_PLAY
        facts = words(*(f"{key} {ctx[key]}" for key in ("persona", "segment", "score.total", "score.band")
                        if key in ctx))
        return CaseResult(file=file, name=case.name, kind="play", passed=got == case.expect.play,
                          expected=f"play {case.expect.play}", got=f"play {got} ({facts})",
                          explanation=f"{selection.explanation} ({source})", trace=selection.trace)

    return run
