"""Play selection with its reason, the offline sequence built from the lead's facts, and the task preview."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from revloops.config.loader import load_config
from revloops.loops.engage.config import FILES, PlaysFile
from revloops.loops.engage.logic import (
    build_sequence,
    engage_context,
    facts_for,
    persona_for,
    plan_slots,
    render_offline,
    score_band,
    select_play,
    task_preview,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
OWNER = {"FirstName": "Ava", "LastName": "Chen", "Title": "Account Executive"}


@pytest.fixture(scope="module")
def plays() -> PlaysFile:
    return load_config(EXAMPLE, specs=FILES, checks=[]).require("plays", PlaysFile)  # type: ignore[no-any-return]


def _lead(**fields: Any) -> dict[str, Any]:
    base = {"FirstName": "Jonas", "LastName": "Weber", "Company": "Nordwind GmbH", "Title": "Operations Manager",
            "Industry": "Logistics", "NumberOfEmployees": 450, "Country": "Germany", "geo.country": "DE",
            "segment": "mid_market", "LeadSource": "Web"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(("fields", "expected"), [
    ({"signal.type": "funding", "LeadSource": "Partner"}, "outbound-funding"),  # the signal play outranks partner
    ({"signal.type": "layoffs", "LeadSource": "Partner"}, "outbound-signal"),  # any other signal: the generic one
    ({"LeadSource": "Partner"}, "partner-sourced"),
    ({"LeadSource": "Webinar"}, "event-follow-up"),
    ({"segment": "enterprise", "Title": "VP Revenue"}, "enterprise-exec"),
    ({"segment": "enterprise", "Title": "Sales Analyst"}, "smb-self-serve"),  # not an exec: falls through
    ({"segment": "mid_market"}, "mid-market-ops"),
    ({"segment": "smb"}, "smb-self-serve"),
])
def test_the_first_holding_play_by_priority_is_chosen(plays: PlaysFile, fields: dict[str, Any],
                                                      expected: str) -> None:
    selection = select_play(plays, engage_context(_lead(**fields), plays))
    assert selection.play is not None and selection.play.id == expected
    assert selection.explanation.startswith(f"Matched {expected}")
    walked = [step["rule_id"] for step in selection.trace]
    assert walked[-1] == expected and all(not s["matched"] for s in selection.trace[:-1])


def test_the_reason_names_the_deciding_facts(plays: PlaysFile) -> None:
    selection = select_play(plays, engage_context(_lead(segment="enterprise", Title="Chief Revenue Officer"), plays))
    assert "segment enterprise" in selection.explanation and "persona exec" in selection.explanation


def test_no_play_when_nothing_holds(plays: PlaysFile) -> None:
    strict = plays.model_copy(update={"plays": [p for p in plays.plays if p.when is not None]})
    selection = select_play(strict, engage_context(_lead(segment="smb"), strict))
    assert selection.play is None and len(selection.trace) == len(strict.plays)


def test_persona_and_score_band(plays: PlaysFile) -> None:
    assert persona_for("VP of Sales", plays) == "exec"
    assert persona_for("Head of RevOps", plays) == "exec"
    assert persona_for("Sales Operations Manager", plays) == "manager"
    assert persona_for("Analyst", plays) == "practitioner"
    assert persona_for(None, plays) is None
    bands = {"A": 80, "B": 60, "C": 40, "D": 0}
    assert [score_band(v, bands) for v in (95, 80, 79.9, 40, 3, None, True)] == ["A", "A", "B", "C", "D", None, None]
    ctx = engage_context({"Title": "CEO", "score.total": 65}, plays)
    assert ctx["persona"] == "exec" and ctx["score.band"] == "B"
    assert engage_context({"Title": "CEO", "persona": "custom"}, plays)["persona"] == "custom"


def test_the_offline_sequence_uses_the_leads_and_owners_facts(plays: PlaysFile) -> None:
    ctx = engage_context(_lead(), plays)
    play = plays.play("mid-market-ops")
    texts = render_offline(play, facts_for(ctx, OWNER, plays, play))
    first = texts[0]
    assert first.subject == "Jonas, routing at Nordwind GmbH"
    for fact in ("Hi Jonas", "450 people", "Operations Manager", "Logistics", "Ava Chen"):
        assert fact in first.body
    assert texts[-1].body.rstrip().endswith("Ava")  # signed with the owner's first name
    assert [t.subject is not None for t in texts] == [s.channel == "email" for s in play.steps]
    for text in texts:
        assert not re.search(r"\{[a-z_]+\}", text.body + (text.subject or ""))


def test_two_leads_get_different_words(plays: PlaysFile) -> None:
    play = plays.play("mid-market-ops")
    a = render_offline(play, facts_for(engage_context(_lead(), plays), OWNER, plays, play))
    b = render_offline(play, facts_for(engage_context(_lead(FirstName="Mia", Company="Bright Foods", Industry="Food"),
                                                      plays), OWNER, plays, play))
    assert a[0].body != b[0].body and "Mia" in b[0].body and "Bright Foods" in b[0].subject  # type: ignore[operator]


def test_missing_facts_read_naturally(plays: PlaysFile) -> None:
    play = plays.play("smb-self-serve")
    facts = facts_for({"LastName": "Ng"}, {}, plays, play)
    texts = render_offline(play, facts)
    assert texts[0].body.startswith("Hi there,")
    assert "your company" in texts[0].body
    assert facts["full_name"] == "Ng"


def test_signal_facts_reach_the_signal_play(plays: PlaysFile) -> None:
    ctx = engage_context(_lead(**{"signal.type": "funding", "signal.summary": "Nordwind raised a Series B"}), plays)
    play = plays.play("outbound-signal")
    texts = render_offline(play, facts_for(ctx, OWNER, plays, play))
    assert "Nordwind raised a Series B" in texts[0].body and "Series B" in (texts[0].subject or "")


def test_the_preview_has_subject_first_email_reason_and_fallback_note(plays: PlaysFile) -> None:
    ctx = engage_context(_lead(), plays)
    play = plays.play("mid-market-ops")
    texts = render_offline(play, facts_for(ctx, OWNER, plays, play))
    tz, slots = plan_slots(play, plays, ctx, dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC))
    seq = build_sequence(play, texts, slots, tz=tz, composer="offline", fallback_reason="the LLM was unavailable (529)")
    preview = task_preview(seq, "Matched mid-market-ops (segment mid_market in [mid_market])")
    assert tz == "Europe/Berlin"
    assert "Why this play: Matched mid-market-ops" in preview
    assert "Subject: Jonas, routing at Nordwind GmbH" in preview
    assert texts[0].body in preview
    assert "drafted offline because the LLM was unavailable (529)" in preview
    assert preview.count("\n1. ") == 1 and f"\n{len(play.steps)}. " in preview
