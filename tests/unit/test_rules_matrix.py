"""The batch match matrix on large, repetitive frames (dictionary-encoded text, shared tests) agrees with
the single-record walk; distinct tests are told apart by the type of their expected value."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revloops.core.rules import HandlerResult, RulesFile, compile_rules
from revloops.core.rules.batch import contexts_to_frame
from revloops.core.rules.resolve_batch import frame_fields, resolve_frame

FIELDS = ["geo.country", "Title", "Email", "LeadSource"]
TEXTS = ["GB", "gb", "de", "US", "Chief Revenue Officer", "CEO", "ceo of things", "founder", "jane@gmail.com",
         "test@x.io", "a@rivalcrm.com", "Partner Referral", " 42 ", "4200", "2024-03-01", "true", "", "Émile"]
EXPECTED = ["gb", "US", "ceo", "Chief", "@gmail.", "Partner Referral", "4200", "true", "é"]

texts = st.one_of(st.none(), st.sampled_from(TEXTS))
pool = st.lists(st.fixed_dictionaries({f: texts for f in FIELDS}), min_size=1, max_size=6)


@st.composite
def leaf(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(FIELDS))
    op = draw(st.sampled_from(["eq", "ne", "in", "not_in", "contains", "starts_with", "ends_with", "matches",
                               "exists", "gte"]))
    value: Any
    if op in ("in", "not_in"):
        value = draw(st.lists(st.sampled_from(EXPECTED), min_size=1, max_size=3))
    elif op == "matches":
        value = draw(st.sampled_from([r"\b(ceo|founder)\b", "^(test|asdf)[^@]*@", "@(gmail|yahoo)\\.", "^$", "^é"]))
    elif op == "exists":
        value = draw(st.booleans())
    elif op == "gte":
        value = draw(st.sampled_from([42, 1000]))
    else:
        value = draw(st.sampled_from(EXPECTED))
    return {field: {op: value}}


conditions = st.recursive(leaf(), lambda inner: st.one_of(
    st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
    st.builds(lambda xs: {"any": xs}, st.lists(inner, max_size=3)),
    st.builds(lambda x: {"not": x}, inner)), max_leaves=5)


class Handlers:
    """queue: resolves; account_owner: by Title (unresolved when missing); round_robin: stateful."""

    def __init__(self) -> None:
        self.claims = 0

    def __call__(self, action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
        if action.type == "queue":
            return HandlerResult(f"00G{action.queue}")
        if action.type == "account_owner":
            title = ctx.get("Title")
            return HandlerResult(f"005{title.lower()}" if isinstance(title, str) else None, reason="none")
        self.claims += 1
        return HandlerResult(None, reason="capped") if self.claims % 4 == 0 else HandlerResult(f"005rr{self.claims}")

    def depends_on(self, action: Any) -> tuple[str, ...] | None:
        return {"queue": (), "account_owner": ("Title",), "round_robin": None}[action.type]


@st.composite
def rule_files(draw: st.DrawFn) -> RulesFile:
    rules = []
    for i in range(draw(st.integers(1, 5))):
        rules.append({"id": f"r{i}", "priority": i, "when": draw(conditions),
                      "on_unresolved": draw(st.sampled_from(["next", "pending"])),
                      "action": draw(st.sampled_from([{"type": "queue", "queue": f"Q{i}"}, {"type": "account_owner"},
                                                      {"type": "round_robin", "pool": "p"}]))})
    return RulesFile.model_validate({"rules": rules})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_files(), pool, st.integers(70, 400))
def test_encoded_frames_agree_with_the_single_path(rules: RulesFile, base: list[dict[str, Any]], n: int) -> None:
    compiled = compile_rules(rules)
    recs = [dict(base[i % len(base)]) for i in range(n)]  # values repeat: text is dictionary-encoded
    frame = contexts_to_frame(recs, frame_fields(compiled, Handlers()))
    text_columns = [c for c in frame.columns if c in FIELDS and frame[c].null_count() < frame.height]
    assert all(frame.schema[c].base_type() == pl.Categorical for c in text_columns)
    single_handlers = Handlers()
    single = [compiled.evaluate(r, single_handlers) for r in recs]
    batch = resolve_frame(compiled, frame, Handlers())
    assert batch.rule_ids == [o.rule_id for o in single]
    assert batch.owner_ids == [o.owner_id for o in single]
    assert list(compiled.first_match(frame)) == [compiled.first_holding(r) for r in recs]


def test_true_one_and_one_point_zero_are_different_tests() -> None:
    rules = RulesFile.model_validate({"rules": [
        {"id": "is-true", "priority": 1, "when": {"x": {"eq": True}}, "action": {"type": "queue", "queue": "Q"}},
        {"id": "is-one", "priority": 2, "when": {"x": {"eq": 1}}, "action": {"type": "queue", "queue": "Q"}},
    ]})
    compiled = compile_rules(rules)
    recs = [{"x": True}, {"x": 1}, {"x": 1.0}, {"x": "true"}, {"x": "1"}]
    matrix = compiled.match_matrix(contexts_to_frame(recs, compiled.fields))
    # a boolean (or the text "true") is not the number 1, and numbers (or "1") are not true
    assert matrix["is-true"].to_list() == [True, False, False, True, False]
    assert matrix["is-one"].to_list() == [False, True, True, False, True]
    assert matrix["is-true"].to_list() == [compiled.first_holding(r) == 0 for r in recs]


def test_plain_columns_keep_nan_missing_and_read_datetimes_as_dates() -> None:
    rules = RulesFile.model_validate({"rules": [
        {"id": "gone", "priority": 1, "when": {"n": {"exists": False}}, "action": {"type": "queue", "queue": "Q"}},
        {"id": "day", "priority": 2, "when": {"d": {"gte": "2024-03-01"}}, "action": {"type": "queue", "queue": "Q"}},
    ]})
    compiled = compile_rules(rules)
    recs = [{"n": math.nan, "d": None}, {"n": 3, "d": datetime(2024, 3, 1, 23, 30)}, {"n": 2.5, "d": None}]
    frame = contexts_to_frame(recs, compiled.fields)
    assert frame.schema["n"] == pl.Float64
    assert list(compiled.first_match(frame)) == [compiled.first_holding(r) for r in recs] == [0, 1, -1]
