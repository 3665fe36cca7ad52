"""Property: the single-record path and the batch path pick the same rule and owner for every record."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revloops.core.rules import HandlerResult, RulesFile, compile_rules
from revloops.core.rules.batch import contexts_to_frame
from revloops.core.rules.resolve_batch import frame_fields, resolve_frame

FIELDS = ["Country", "NumberOfEmployees", "geo.country", "account.Named__c", "CreatedDate"]
TEXTS = ["gb", "GB", "Gb", "de", "Acme Corp", "ACME", " 42 ", "4200", "1e3", "-7.5", "abc", "",
         "2024-03-01", "2024-02-30", "2023-12-31T10:00:00", "true", "FALSE", "corp", "Émile", "g1"]
scalars = st.one_of(
    st.sampled_from(TEXTS),
    st.integers(-10, 5000),
    st.sampled_from([0.5, 42.0, 1000.0, float("nan"), -1.25]),
    st.booleans(),
    st.sampled_from([date(2024, 3, 1), date(2023, 1, 15), datetime(2024, 3, 1, 23, 30)]),
)
values = st.one_of(st.none(), scalars, st.just(["a", "list"]))
records = st.lists(
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=len(FIELDS)), min_size=1, max_size=25
)

expected_scalars = st.one_of(
    st.sampled_from(["GB", "de", "acme corp", "4200", "true", "2024-03-01", "Émile"]),
    st.integers(-10, 5000), st.sampled_from([42.0, 0.5]), st.booleans(),
    st.sampled_from([date(2024, 3, 1), date(2023, 12, 31)]),
)
orderable = st.one_of(st.integers(-10, 5000), st.sampled_from([0.5, 42.0]),
                      st.sampled_from([date(2024, 3, 1), date(2023, 6, 1)]))


@st.composite
def leaf(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from(["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between",
                               "contains", "starts_with", "ends_with", "matches", "exists"]))
    if op in ("eq", "ne"):
        value: Any = draw(expected_scalars)
    elif op in ("in", "not_in"):
        value = draw(st.lists(expected_scalars, min_size=1, max_size=4))
    elif op in ("gt", "gte", "lt", "lte"):
        value = draw(orderable)
    elif op == "between":
        lo = draw(orderable)
        hi = draw(orderable.filter(lambda v, lo=lo: type(v) is type(lo) and v >= lo)) if not isinstance(lo, float) \
            else lo + 10
        value = [lo, hi]
    elif op == "matches":
        value = draw(st.sampled_from(["^ac", "corp$", "[0-9]+", "g.", "^(gb|de)$", r"e\b", "^$", "^é"]))
    elif op == "exists":
        value = draw(st.booleans())
    else:
        value = draw(st.sampled_from(["a", "CO", "42", "gb", "é", "-"]))
    return {field: {op: value}}


conditions = st.recursive(
    leaf(),
    lambda inner: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(inner, max_size=3)),
        st.builds(lambda x: {"not": x}, inner),
    ),
    max_leaves=6,
)


@st.composite
def rule_files(draw: st.DrawFn) -> RulesFile:
    count = draw(st.integers(1, 6))
    rules = []
    for i in range(count):
        rule: dict[str, Any] = {
            "id": f"r{i}", "priority": i * 10,
            "action": draw(st.sampled_from([
                {"type": "queue", "queue": f"Q{i}"},
                {"type": "account_owner"},
                {"type": "round_robin", "pool": "p"},
                {"type": "pending", "reason": f"why{i}"},
            ])),
            "on_unresolved": draw(st.sampled_from(["next", "pending"])),
        }
        if draw(st.integers(0, 5)):
            rule["when"] = draw(conditions)
        rules.append(rule)
    return RulesFile.model_validate({"version": 1, "rules": rules})


class FakeHandlers:
    """Queue: always resolves. account_owner: depends on Country (unresolved when it is not a string).
    round_robin: stateful, every third claim fails. pending: sentinel."""

    def __init__(self) -> None:
        self.claims = 0

    def __call__(self, action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
        if action.type == "queue":
            return HandlerResult(f"00G{action.queue}")
        if action.type == "account_owner":
            country = ctx.get("Country")
            if not isinstance(country, str):
                return HandlerResult(None, reason="no account")
            if country == "abc":
                raise RuntimeError("upstream broke")
            return HandlerResult(f"005{country.lower()}")
        if action.type == "round_robin":
            self.claims += 1
            return HandlerResult(None, reason="capped") if self.claims % 3 == 0 else HandlerResult(f"005rr{self.claims}")
        return HandlerResult(f"pending:{action.reason}")

    def depends_on(self, action: Any) -> tuple[str, ...] | None:
        return {"queue": (), "account_owner": ("Country",), "round_robin": None, "pending": ()}[action.type]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_files(), records)
def test_single_and_batch_paths_pick_the_same_rule_and_owner(rules: RulesFile, recs: list[dict[str, Any]]) -> None:
    compiled = compile_rules(rules)
    single_handlers = FakeHandlers()
    single = [compiled.evaluate(r, single_handlers) for r in recs]
    frame = contexts_to_frame(recs, frame_fields(compiled, single_handlers))
    batch = resolve_frame(compiled, frame, FakeHandlers())
    assert batch.rule_ids == [o.rule_id for o in single]
    assert batch.owner_ids == [o.owner_id for o in single]
    assert list(compiled.first_match(frame)) == [compiled.first_holding(r) for r in recs]


@settings(max_examples=300, deadline=None)
@given(leaf(), st.lists(st.dictionaries(st.sampled_from(FIELDS), values, max_size=5), min_size=1, max_size=10))
def test_each_operator_agrees_on_both_paths(cond: dict[str, Any], recs: list[dict[str, Any]]) -> None:
    rules = RulesFile.model_validate({"rules": [{"id": "x", "priority": 1, "when": cond,
                                                 "action": {"type": "queue", "queue": "Q"}}]})
    compiled = compile_rules(rules)
    frame = contexts_to_frame(recs, compiled.fields)
    column = compiled.match_matrix(frame)["x"].to_list()
    assert column == [compiled.first_holding(r) == 0 for r in recs]


def test_nan_reads_as_missing_on_both_paths() -> None:
    rules = RulesFile.model_validate({"rules": [
        {"id": "ni", "priority": 1, "when": {"NumberOfEmployees": {"not_in": [5]}}, "action": {"type": "queue", "queue": "Q"}},
        {"id": "gone", "priority": 2, "when": {"NumberOfEmployees": {"exists": False}},
         "action": {"type": "queue", "queue": "Q"}},
    ]})
    compiled = compile_rules(rules)
    recs = [{"NumberOfEmployees": math.nan}, {"NumberOfEmployees": 7}]
    assert [compiled.first_holding(r) for r in recs] == [1, 0]
    assert list(compiled.first_match(contexts_to_frame(recs, compiled.fields))) == [1, 0]


wide_conditions = st.builds(lambda kind, xs: {kind: xs}, st.sampled_from(["all", "any"]),
                            st.lists(leaf(), min_size=60, max_size=300))


@st.composite
def deep_conditions(draw: st.DrawFn) -> dict[str, Any]:
    """A condition nested 50 to 160 levels deep (every level an all/any/not around the one below)."""
    cond: dict[str, Any] = draw(leaf())
    for _ in range(draw(st.integers(50, 160))):
        kind = draw(st.sampled_from(["all", "any", "not"]))
        cond = {"not": cond} if kind == "not" else {kind: [cond, draw(leaf())]}
    return cond


# hundreds of leaves each: the ``between`` leaves' filter adds up, and generation is slow by design
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(st.one_of(wide_conditions, deep_conditions()),
       st.lists(st.dictionaries(st.sampled_from(FIELDS), values, max_size=5), min_size=1, max_size=10))
def test_wide_and_deep_conditions_compile_and_agree_on_both_paths(cond: dict[str, Any],
                                                                 recs: list[dict[str, Any]]) -> None:
    """Generated code must not depend on how many items a list holds or how deep conditions nest."""
    rules = RulesFile.model_validate({"rules": [{"id": "x", "priority": 1, "when": cond,
                                                 "action": {"type": "queue", "queue": "Q"}}]})
    compiled = compile_rules(rules)
    frame = contexts_to_frame(recs, compiled.fields)
    assert compiled.match_matrix(frame)["x"].to_list() == [compiled.first_holding(r) == 0 for r in recs]
    traced = [compiled.evaluate(r, FakeHandlers(), trace=True) for r in recs]
    assert [o.rule_id == "x" for o in traced] == [compiled.first_holding(r) == 0 for r in recs]
