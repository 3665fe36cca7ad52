"""Scoring: the config file's errors land on their line, bands follow the thresholds, the breakdown holds
exactly the rules that held, and one condition means the same here as in the rule engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revloops.config import layout
from revloops.config.loader import ConfigFileSpec, load_config
from revloops.core.errors import ConfigErrors
from revloops.core.rules import compile_rules
from revloops.core.rules.conditions import parse_condition
from revloops.core.rules.schema import RulesFile
from revloops.core.rules.single import evaluate_condition
from revloops.loops.qualify.config import ScoringFile
from revloops.loops.qualify.logic import band_for, score

SPEC = ConfigFileSpec("scoring", "qualify/scoring.yaml", ScoringFile, loop="qualify")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"


def _scoring(fit: list[dict[str, Any]], intent: list[dict[str, Any]] | None = None,
             mql: int = 50, nurture: int = 20) -> ScoringFile:
    return ScoringFile.model_validate(
        {"thresholds": {"mql": mql, "nurture": nurture}, "fit": fit, "intent": intent or []})


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "qualify").mkdir()
    (tmp_path / "qualify" / "scoring.yaml").write_text(text)
    return tmp_path


def test_scoring_file_is_registered_for_the_qualify_loop() -> None:
    spec = next(s for s in layout.FILES if s.key == "scoring")
    assert (spec.pattern, spec.model, spec.loop) == ("qualify/scoring.yaml", ScoringFile, "qualify")


def test_bad_operator_is_reported_on_its_line_with_the_rule_id(tmp_path: Path) -> None:
    root = _write(tmp_path, (
        "thresholds: {mql: 50, nurture: 20}\n"
        "fit:\n"
        "  - id: big\n"
        "    when:\n"
        "      NumberOfEmployees: {greater: 1000}\n"
        "    points: 20\n"
        "    reason: Big company\n"
    ))
    with pytest.raises(ConfigErrors) as info:
        load_config(root, specs=[SPEC], checks=[])
    [err] = info.value.errors
    assert err.location is not None and err.location.line == 5
    assert "greater" in err.message


def test_thresholds_out_of_order_and_zero_points_are_errors_on_their_lines(tmp_path: Path) -> None:
    root = _write(tmp_path, (
        "thresholds: {mql: 30, nurture: 40}\n"
        "fit:\n"
        "  - {id: a, when: {Title: {exists: true}}, points: 0, reason: Nothing}\n"
    ))
    with pytest.raises(ConfigErrors) as info:
        load_config(root, specs=[SPEC], checks=[])
    found = sorted(((e.location.line if e.location else 0), e.message) for e in info.value.errors)
    assert [line for line, _ in found] == [1, 3]
    assert "must be below mql" in found[0][1] and "must not be 0" in found[1][1]


def test_a_rule_id_used_in_fit_and_intent_is_an_error(tmp_path: Path) -> None:
    root = _write(tmp_path, (
        "thresholds: {mql: 40, nurture: 10}\n"
        "fit:\n"
        "  - {id: a, when: {Title: {exists: true}}, points: 2, reason: Title}\n"
        "intent:\n"
        "  - {id: a, when: {LeadSource: {eq: Web}}, points: 5, reason: Web}\n"
    ))
    with pytest.raises(ConfigErrors) as info:
        load_config(root, specs=[SPEC], checks=[])
    [err] = info.value.errors
    assert err.location is not None and err.location.line == 5
    assert "duplicate rule id 'a' (also in fit[0])" in err.message


def test_example_config_loads() -> None:
    scoring = load_config(EXAMPLE).require("scoring", ScoringFile)
    assert scoring.thresholds.mql > scoring.thresholds.nurture
    assert {"geo.country", "LeadSource", "enrichment.company.size"} <= set(scoring.fields)


@pytest.mark.parametrize(("total", "band"), [(50, "mql"), (49, "nurture"), (20, "nurture"), (19, "disqualified"),
                                             (-100, "disqualified")])
def test_bands_follow_the_thresholds(total: int, band: str) -> None:
    assert band_for(total, _scoring([{"id": "x", "when": {"A": {"exists": True}}, "points": 1,
                                      "reason": "r"}]).thresholds) == band


def test_breakdown_lists_the_rules_that_held_with_reasons_and_evidence() -> None:
    scoring = _scoring(
        fit=[
            {"id": "big", "when": {"NumberOfEmployees": {"gte": 1000}}, "points": 30, "reason": "Enterprise"},
            {"id": "small", "when": {"NumberOfEmployees": {"lt": 50}}, "points": -10, "reason": "Tiny"},
            {"id": "uk", "when": {"geo.country": {"eq": "GB"}}, "points": 5, "reason": "UK"},
        ],
        intent=[{"id": "demo", "when": {"LeadSource": {"in": ["Demo Request"]}}, "points": 25, "reason": "Demo"}],
    )
    result = score({"NumberOfEmployees": 4200, "LeadSource": "demo request", "geo.country": "US"}, scoring)
    assert [(line.rule_id, line.points) for line in result.breakdown] == [("big", 30), ("demo", 25)]
    assert (result.fit, result.intent, result.total, result.band) == (30, 25, 55, "mql")
    assert result.breakdown[0].evidence == ["NumberOfEmployees 4200 >= 1000"]
    assert result.reasons == "+30 Enterprise (big)\n+25 Demo (demo)"
    assert result.qualification == "MQL"
    assert [s.rule_id for s in result.trace] == ["big", "small", "uk", "demo"]
    uk = result.trace[2]
    assert not uk.matched and uk.conditions[0].actual == "US" and uk.conditions[0].result is False
    assert result.explanation.startswith("MQL: 55 points (fit 30, intent 25) >= mql 50")


def test_negative_points_can_disqualify() -> None:
    scoring = _scoring(fit=[
        {"id": "vp", "when": {"Title": {"matches": r"\bvp\b"}}, "points": 25, "reason": "VP"},
        {"id": "competitor", "when": {"Email": {"ends_with": "@rivalcrm.com"}}, "points": -100, "reason": "Rival"},
    ])
    result = score({"Title": "VP Sales", "Email": "x@rivalcrm.com"}, scoring)
    assert (result.total, result.band, result.qualification) == (-75, "disqualified", "disqualified:competitor")


def test_missing_fields_hold_only_for_exists_false_and_ne() -> None:
    scoring = _scoring(fit=[
        {"id": "no-size", "when": {"NumberOfEmployees": {"exists": False}}, "points": 3, "reason": "a"},
        {"id": "not-us", "when": {"geo.country": {"ne": "US"}}, "points": 4, "reason": "b"},
        {"id": "size", "when": {"NumberOfEmployees": {"lt": 10}}, "points": 5, "reason": "c"},
    ])
    assert [line.rule_id for line in score({}, scoring).breakdown] == ["no-size", "not-us"]


def test_reasons_are_cut_to_fit_the_lead_field() -> None:
    fit = [{"id": f"r{i}", "when": {"A": {"exists": True}}, "points": 1, "reason": "x" * 120} for i in range(300)]
    reasons = score({"A": 1}, _scoring(fit, mql=500, nurture=400)).reasons
    assert len(reasons) == 32768 and reasons.endswith("...")


# One condition must mean the same to the scorer as to the rule engine's walk.
VALUES = st.one_of(st.none(), st.integers(-5, 2000), st.sampled_from(["US", "gb", "Demo Request", "42", "", "VP"]),
                   st.booleans(), st.floats(allow_nan=True, allow_infinity=False, width=32))
LEAVES = st.sampled_from([
    {"F": {"eq": "us"}}, {"F": {"ne": "US"}}, {"F": {"in": ["GB", 42, True]}}, {"F": {"not_in": ["US", "VP"]}},
    {"F": {"gte": 42}}, {"F": {"between": [0, 100]}}, {"F": {"contains": "re"}}, {"F": {"matches": "^v"}},
    {"F": {"exists": False}}, {"G": {"lt": 1000}}, {"G": {"exists": True}}, {"G": {"eq": True}},
])
CONDITIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(raw=CONDITIONS, f=VALUES, g=VALUES)
def test_single_condition_agrees_with_the_rule_engine(raw: dict[str, Any], f: Any, g: Any) -> None:
    ctx = {k: v for k, v in (("F", f), ("G", g)) if v is not None}
    held, trace = evaluate_condition(parse_condition(raw), ctx)
    rules = compile_rules(RulesFile.model_validate(
        {"rules": [{"id": "r", "priority": 1, "when": raw, "action": {"type": "queue", "queue": "Q"}}]}))
    assert held == (rules.first_holding(ctx) == 0)
    assert all(t.actual is ctx.get(t.field) for t in trace)  # the trace shows the value the test read
