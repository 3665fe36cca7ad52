"""Property: scoring and play selection over columns (``qualify.batch``, ``engage.batch``) give every lead what the
per-record paths give it (``logic.score``, ``select_play`` on ``engage_context``), and the enrichment joined from the
cache is the context ``build_context`` flattens from the same facts."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revloops.config.loader import GtmConfig, load_config
from revloops.core.context import build_context
from revloops.core.rules.batch import contexts_to_frame
from revloops.loops.engage.batch import play_fields, play_frame
from revloops.loops.engage.logic import engage_context, select_play
from revloops.loops.qualify.batch import CachedFacts, enrichment_columns, score_frame
from revloops.loops.qualify.logic import score
from tests.unit.test_columns_agree import CONFIG, leads_one, maybe

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SENIORITY = ["cxo", "owner", "vp", "director", "manager", "senior", "entry"]
SIZES = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001-10000", "10001+"]
ROLES = ["sales", "operations", "marketing", "engineering", "finance"]


@cache
def _config() -> GtmConfig:
    return load_config(CONFIG)


person = st.fixed_dictionaries({"seniority": maybe(st.sampled_from(SENIORITY)),
                                "title_role": maybe(st.sampled_from(ROLES)),
                                "title_levels": st.lists(st.sampled_from(SENIORITY), max_size=2)})
company = st.fixed_dictionaries({"size": maybe(st.sampled_from(SIZES)),
                                 "industry": maybe(st.sampled_from(["computer software", "banking", "retail"]))})
signals = maybe(st.fixed_dictionaries({"type": st.sampled_from(["funding", "hiring_surge", "leadership_change"]),
                                       "strength": st.floats(0, 1)}))


@st.composite
def contexts(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Leads as the chain builds their contexts: fields, enrichment (or none), a segment, sometimes a signal and
    a score, repeated so text repeats enough to be dictionary-encoded."""
    out = []
    for lead in draw(st.lists(leads_one, min_size=1, max_size=30)):
        enrichment = None
        if draw(st.booleans()):
            enrichment = {"status": "ok", "provider": "pdl", "person": draw(maybe(person)),
                          "company": draw(maybe(company))}
        ctx = build_context(lead.fields(), enrichment=enrichment, signal=draw(signals),
                            segment=draw(maybe(st.sampled_from(["smb", "mid_market", "enterprise"]))),
                            sobject="Lead")
        out.append(ctx)
    return out * draw(st.sampled_from([1, 3]))


@SETTINGS
@given(contexts())
def test_scores_over_columns_are_the_per_record_scores(ctxs: list[dict[str, Any]]) -> None:
    scoring = _config().get("scoring")
    frame = contexts_to_frame(ctxs, scoring.fields)
    batch = score_frame(scoring, frame)
    bands = batch.bands(scoring)
    for i, ctx in enumerate(ctxs):
        one = score(ctx, scoring)
        assert (int(batch.fit[i]), int(batch.intent[i]), str(bands[i])) == (one.fit, one.intent, one.band), ctx
        held = {rid for rid, arr in zip(batch.rule_ids, batch.held, strict=True) if arr[i]}
        assert held == {line.rule_id for line in one.breakdown}


@SETTINGS
@given(contexts())
def test_plays_over_columns_are_the_per_record_plays(ctxs: list[dict[str, Any]]) -> None:
    plays = _config().get("plays")
    fields = play_fields(plays)
    frame = contexts_to_frame(ctxs, fields)
    got = play_frame(plays, frame)
    for ctx, play in zip(ctxs, got, strict=True):
        chosen = select_play(plays, engage_context(ctx, plays)).play
        assert play == (chosen.id if chosen else None), ctx


@SETTINGS
@given(contexts())
def test_plays_on_computed_totals_are_the_plays_of_those_scores(ctxs: list[dict[str, Any]]) -> None:
    cfg = _config()
    plays, scoring = cfg.get("plays"), cfg.get("scoring")
    fields = list(dict.fromkeys([*play_fields(plays), *scoring.fields]))
    frame = contexts_to_frame(ctxs, fields)
    totals = score_frame(scoring, frame).total
    got = play_frame(plays, frame, totals)
    for ctx, total, play in zip(ctxs, totals.tolist(), got, strict=True):
        chosen = select_play(plays, engage_context({**ctx, "score.total": total}, plays)).play
        assert play == (chosen.id if chosen else None)


EMAILS = ["ann@globex.io", "Ben@Initech.CO.UK", "cy@gmail.com", None, "dee@umbrella.de", "odd@@x"]
SITES = ["https://www.globex.io", "initech.co.uk", None, "umbrella.de"]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(EMAILS), st.sampled_from(SITES)), min_size=1, max_size=40),
       st.dictionaries(st.sampled_from(["ann@globex.io", "ben@initech.co.uk", "cy@gmail.com"]), person, max_size=3),
       st.dictionaries(st.sampled_from(["globex.io", "initech.co.uk", "umbrella.de", "gmail.com"]), company,
                       max_size=4))
def test_cached_enrichment_is_the_context_of_the_same_facts(keys: list[tuple[str | None, str | None]],
                                                             people: dict[str, Any], companies: dict[str, Any]) -> None:
    from revloops.loops.qualify.flow import lookup_keys

    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [{"provider": "pdl", "kind": "person", "key": k, "facts": v, "fetched_at": when} for k, v in people.items()]
    rows += [{"provider": "pdl", "kind": "company", "key": k, "facts": v, "fetched_at": when}
             for k, v in companies.items()]
    facts = CachedFacts(rows)
    scoring = _config().get("scoring")
    # the other fields as a context frame carries them for leads that have none of them
    others = contexts_to_frame([{}] * len(keys), [f for f in scoring.fields if not f.startswith("enrichment.")])
    frame = others.with_columns(pl.Series("Email", [e for e, _ in keys], dtype=pl.String),
                                pl.Series("Website", [w for _, w in keys], dtype=pl.String))
    joined, hits = enrichment_columns(frame, facts, scoring.fields)
    expected, found = [], 0
    for email, site in keys:
        e, d = lookup_keys({"Email": email, "Website": site})
        p = people.get(e.strip().lower()) if e else None
        c = companies.get(d) if d else None
        payload = {"status": "ok", "provider": "pdl", "synthetic": False, "person": p, "company": c} \
            if p is not None or c is not None else None
        found += payload is not None
        expected.append(build_context({"Email": email, "Website": site}, enrichment=payload, score={},
                                      sobject="Lead"))
    assert hits == found
    batch = score_frame(scoring, joined)
    for i, ctx in enumerate(expected):
        assert int(batch.total[i]) == score(ctx, scoring).total
