"""`revloops test`, the play kind for deals (``loop: pursue``): the deal play ``pursue/deal_plays.yaml`` gives an
opportunity, picked as Pursue picks it.

Pursue reads the opportunity and its account from the CRM; a case gives both instead: the opportunity's
fields, and its account's as ``account.<Field>`` keys. The context is then the one Pursue builds from what it
read (``loops/plays.py``, ``read_subject``): the opportunity's fields, ``account.*``, the segment of the
account's ``NumberOfEmployees`` and the account's ``geo.*``; other dotted keys and ``segment`` given by the
case go on top.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, GtmConfig
from revloops.loops.plays import plays_in, select, subject_context
from revloops.loops.pursue.config import DealPlaysFile
from revloops.loops.route.cases import (
    NO_PLAY,
    CaseResult,
    CaseRunner,
    PlayCase,
    cases_of,
    needs_files,
    split_record,
    words,
)

FILE = "pursue/deal_plays.yaml"
_ACCOUNT = "account."


def check_deal_play_cases(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A deal play case expecting a play that does not exist in ``pursue/deal_plays.yaml``."""
    plays: DealPlaysFile | None = cfg.get("deal_plays")
    if plays is None:
        return
    known = {p.id for p in plays.plays}
    for name, i, case in cases_of(cfg, PlayCase):
        if case.loop == "pursue" and case.expect.play != NO_PLAY and case.expect.play not in known:
            yield ConfigIssue("tests", ("cases", i, "expect", "play"),
                              f"deal play {case.expect.play!r} does not exist in {FILE} (or expect none)", name=name)


CHECKS: list[Check] = [check_deal_play_cases]


def deal_context(cfg: GtmConfig, record: Mapping[str, Any]) -> dict[str, Any]:
    """An opportunity case's context, as Pursue builds it from the deal and its account."""
    plain, given = split_record(record)
    account = {k[len(_ACCOUNT):]: v for k, v in given.items() if k.startswith(_ACCOUNT)} or None
    ctx, _ = subject_context(cfg, "Opportunity", plain, account)
    ctx.update({k: v for k, v in given.items() if not k.startswith(_ACCOUNT)})
    return ctx


def deal_play_runner(cfg: GtmConfig) -> CaseRunner:
    """The runner of deal play cases (each fails, naming the file, without ``pursue/deal_plays.yaml``)."""
    lacking = needs_files(cfg, {"deal_plays": FILE})
    if lacking is not None:
        return lacking
    plays = plays_in(cfg, "pursue")

    def run(file: str, case: PlayCase) -> CaseResult:
        ctx = deal_context(cfg, case.record)
        selection = select(plays, ctx, "deal play")
        got = selection.play.id if selection.play is not None else NO_PLAY
        facts = words(*(f"{key} {ctx[key]}" for key in ("segment", "Amount", "geo.country") if key in ctx))
        trace = [{"rule_id": step["play"], "matched": step["holds"], "why": step["why"]} for step in selection.trace]
        return CaseResult(file=file, name=case.name, kind="play", passed=got == case.expect.play,
                          expected=f"deal play {case.expect.play}", got=f"deal play {got} ({facts})",
                          explanation=selection.explanation, trace=trace)

    return run
