"""A stored decision's trace (``trace_json``, built from the raw walk) is exactly the trace models dumped
as JSON, whatever the context holds (dates, datetimes, NaN, lists, missing fields)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from revloops.core.rules import HandlerResult, RulesFile, compile_rules

RULES = RulesFile.model_validate({"rules": [
    {"id": "big", "priority": 1, "when": {"all": [{"n": {"gte": 1000}}, {"c": {"in": ["GB", "de"]}}]},
     "action": {"type": "account_owner"}},
    {"id": "recent", "priority": 2, "when": {"any": [{"d": {"between": ["2024-01-01", "2024-12-31"]}},
                                                     {"not": {"c": {"exists": True}}}]},
     "action": {"type": "queue", "queue": "Q"}},
    {"id": "text", "priority": 3, "when": {"t": {"matches": "^(ceo|cto)\\b"}}, "action": {"type": "queue", "queue": "T"}},
    {"id": "rest", "priority": 4, "action": {"type": "queue", "queue": "R"}},
]})
values = st.one_of(st.none(), st.integers(-5, 5000), st.sampled_from([1000.0, 2.5, math.nan, math.inf, -math.inf]),
                   st.sampled_from(["GB", "de", " 4200 ", "ceo of x", "2024-06-01", "x"]), st.booleans(),
                   st.sampled_from([date(2024, 3, 1), datetime(2024, 3, 1, 9, 30), date(2020, 1, 1)]),
                   st.just(["a", 1]))
contexts = st.dictionaries(st.sampled_from(["n", "c", "d", "t"]), values)


def handlers(action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
    if action.type == "account_owner":  # unresolved: the walk goes on, the trace keeps the reason
        return HandlerResult(None, reason="no account", detail={"tried": ["domain", "name"], "on": date(2024, 1, 2)})
    return HandlerResult(f"00G{action.queue}", detail={"queue": action.queue})


@settings(max_examples=300, deadline=None)
@given(contexts)
def test_trace_json_is_the_models_dumped(ctx: dict[str, Any]) -> None:
    outcome = compile_rules(RULES).evaluate(ctx, handlers)
    expected = [step.model_dump(mode="json") for step in outcome.trace]
    assert outcome.trace_json() == expected  # NaN is dumped as null on both sides


def test_trace_json_names_every_condition_of_a_walked_rule() -> None:
    outcome = compile_rules(RULES).evaluate({"n": 4200, "c": "gb", "t": "CEO of x"}, handlers)
    steps = outcome.trace_json()
    assert [s["rule_id"] for s in steps] == ["big", "recent", "text"]
    big = steps[0]
    assert big["matched"] and big["handler"]["reason"] == "no account" and big["handler"]["detail"]["on"] == "2024-01-02"
    assert [(c["field"], c["op"], c["expected"], c["actual"], c["result"], c["missing"]) for c in big["conditions"]] == [
        ("n", "gte", 1000, 4200, True, False), ("c", "in", ["GB", "de"], "gb", True, False)]
    assert steps[1]["conditions"][0]["missing"] and steps[1]["conditions"][0]["note"] == "field missing"
