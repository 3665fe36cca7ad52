"""Offline defaults that invent say so, and read as a person wrote them whatever is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revloops.bootstrap import Platform
from revloops.config.loader import load_config
from revloops.core.context import build_context
from revloops.core.records import Lead
from revloops.loops.engage.logic import facts_for, render_offline
from revloops.loops.qualify.flow import enrich, score_lead
from revloops.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
PLAYS = load_config(EXAMPLE).get("plays")
#: what a template filled with placeholders for unknown facts used to read like
AWKWARD = re.compile(r"\b(an? your|your industry|your role|Hi the lead|Call there|, the lead$)|: \.|\{|\}",
                     re.IGNORECASE)
FIELDS = ("FirstName", "LastName", "Company", "Title", "Industry", "Country")


@pytest.mark.parametrize("play", PLAYS.plays, ids=lambda p: p.id)
def test_every_play_reads_as_written_with_nothing_known(play) -> None:  # type: ignore[no-untyped-def]
    for text in render_offline(play, facts_for({}, {}, PLAYS, play)):
        for line in (text.subject or "", text.body):
            assert not AWKWARD.search(line), line


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(FIELDS)), st.sampled_from(range(len(PLAYS.plays))))
def test_any_mix_of_known_and_unknown_facts_reads_as_written(known: set[str], index: int) -> None:
    play = PLAYS.plays[index]
    values = {"FirstName": "Dana", "LastName": "Ng", "Company": "Bluepeak", "Title": "VP Sales",
              "Industry": "Logistics", "Country": "Germany"}
    ctx = build_context({k: values[k] for k in known}, sobject="Lead")
    for text in render_offline(play, facts_for(ctx, {}, PLAYS, play)):
        for line in (text.subject or "", text.body):
            assert not AWKWARD.search(line), line
        if "Company" in known and "{company}" in (play.steps[0].template or ""):
            assert "Bluepeak" in render_offline(play, facts_for(ctx, {}, PLAYS, play))[0].body


def test_a_score_on_invented_firmographics_says_so(tmp_path: Path) -> None:
    plat = Platform(Settings(config=EXAMPLE, db=f"sqlite:///{tmp_path / 'state.sqlite'}", state_dir=tmp_path))
    lead_id = plat.crm.create(Lead(LastName="Baker", Company="Crumb & Co", Email="jo@crumbandco.example",
                                   Website="crumbandco.example"))
    outcome = enrich(plat, plat.crm.get("Lead", lead_id))
    assert outcome.provider == "offline" and outcome.synthetic and "synthetic" in (outcome.note or "")
    decision = score_lead(plat, lead_id, build_context(plat.crm.get("Lead", lead_id).fields(),
                                                       enrichment=outcome.context(), sobject="Lead"))
    lead = plat.crm.get("Lead", lead_id)
    assert lead.Enrichment_Status__c == "synthetic"  # type: ignore[attr-defined]
    assert lead.Score_Reasons__c.startswith("[synthetic enrichment")  # type: ignore[attr-defined]
    assert decision.detail["enrichment_synthetic"] is True and "synthetic" in decision.explanation
    plat.close()


def test_control_characters_never_reach_a_log_line_raw(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from revloops.core import logsafe

    logsafe.install()
    logging.getLogger("revloops.test").warning("lead %s refused", "00Q\n2026-12-01 INFO forged\x1b[31m")
    line = caplog.records[-1].getMessage()
    assert "\n" not in line and "\x1b" not in line and "\\n2026-12-01" in line and "\\x1b" in line
