"""Operator semantics, missing fields, the trace and the explanation of the single-record path."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pytest

from revloops.core.rules import HandlerResult, RulesFile, compile_rules


def _holds(cond: dict[str, Any], ctx: dict[str, Any]) -> bool:
    rules = RulesFile.model_validate({"rules": [{"id": "x", "priority": 1, "when": cond,
                                                 "action": {"type": "queue", "queue": "Q"}}]})
    return compile_rules(rules).first_holding(ctx) == 0


@pytest.mark.parametrize(
    ("cond", "ctx", "expected"),
    [
        ({"geo.country": {"eq": "GB"}}, {"geo.country": "gb"}, True),
        ({"geo.country": {"in": ["GB", "DE"]}}, {"geo.country": "De"}, True),
        ({"geo.country": {"not_in": ["GB"]}}, {"geo.country": "US"}, True),
        ({"geo.country": {"not_in": ["GB"]}}, {}, False),
        ({"geo.country": {"ne": "GB"}}, {}, True),
        ({"geo.country": {"eq": "GB"}}, {}, False),
        ({"NumberOfEmployees": {"gte": 1000}}, {"NumberOfEmployees": "4200"}, True),
        ({"NumberOfEmployees": {"gte": 1000}}, {"NumberOfEmployees": " 999 "}, False),
        ({"NumberOfEmployees": {"gte": 1000}}, {"NumberOfEmployees": "lots"}, False),
        ({"NumberOfEmployees": {"between": [200, 999]}}, {"NumberOfEmployees": 999}, True),
        ({"NumberOfEmployees": {"between": [200, 999]}}, {"NumberOfEmployees": 200}, True),
        ({"NumberOfEmployees": {"between": [200, 999]}}, {"NumberOfEmployees": 1000}, False),
        ({"NumberOfEmployees": {"lt": 200}}, {"NumberOfEmployees": True}, False),
        ({"Email": {"matches": "@GMAIL\\."}}, {"Email": "ann@gmail.com"}, True),
        ({"Email": {"ends_with": "@ACME.example"}}, {"Email": "Bob@acme.EXAMPLE"}, True),
        ({"Title": {"starts_with": "chief"}}, {"Title": "Chief Revenue Officer"}, True),
        ({"Title": {"contains": "REVENUE"}}, {"Title": "Chief Revenue Officer"}, True),
        ({"Title": {"contains": "x"}}, {"Title": 42}, False),
        ({"Email": {"exists": False}}, {"Email": None}, True),
        ({"Email": {"exists": True}}, {"Email": ""}, True),
        ({"account.Named__c": {"eq": True}}, {"account.Named__c": "TRUE"}, True),
        ({"CreatedDate": {"gte": date(2024, 3, 1)}}, {"CreatedDate": datetime(2024, 3, 1, 0, 5)}, True),
        ({"CreatedDate": {"lt": "2024-03-01"}}, {"CreatedDate": "2024-02-29T23:59:00Z"}, True),
        ({"CreatedDate": {"lt": "2024-03-01"}}, {"CreatedDate": "2024-02-30"}, False),
        ({"not": {"Rating": {"eq": "Hot"}}}, {"Rating": "HOT"}, False),
        ({"any": []}, {}, False),
        ({"all": []}, {}, True),
    ],
)
def test_operator_semantics(cond: dict[str, Any], ctx: dict[str, Any], expected: bool) -> None:
    assert _holds(cond, ctx) is expected


RULES = RulesFile.model_validate({"rules": [
    {"id": "named", "priority": 10, "when": {"account.Named__c": {"eq": True}}, "action": {"type": "account_owner"}},
    {"id": "emea-enterprise", "priority": 20, "when": {"all": [
        {"geo.country": {"in": ["GB", "DE", "FR", "NL"]}},
        {"any": [{"NumberOfEmployees": {"gte": 1000}}, {"enrichment.company.size": {"in": ["10001+"]}}]}]},
     "action": {"type": "territory", "role": "AE"}},
    {"id": "strict", "priority": 30, "when": {"Rating": {"eq": "Hot"}}, "action": {"type": "user", "user": "x"},
     "on_unresolved": "pending"},
    {"id": "catch-all", "priority": 1000, "action": {"type": "queue", "queue": "Inbound_Triage"}},
]})


def resolver(action: Any, ctx: Mapping[str, Any]) -> HandlerResult:
    if action.type == "account_owner":
        return HandlerResult(None, reason="no matched account owner")
    if action.type == "territory":
        return HandlerResult("005JANE", detail={"territory": "EMEA_UKI"}, summary="territory EMEA_UKI -> AE Jane Doe")
    if action.type == "user":
        raise ConnectionError("directory offline")
    return HandlerResult("00GTRIAGE", summary="queue Inbound_Triage")


def test_first_match_wins_and_unresolved_walks_on_with_a_full_trace() -> None:
    out = compile_rules(RULES).evaluate(
        {"account.Named__c": True, "geo.country": "GB", "NumberOfEmployees": "4200"}, resolver)
    assert (out.owner_id, out.rule_id, out.action) == ("005JANE", "emea-enterprise", "territory")
    named, emea = out.trace
    assert named.matched and named.handler is not None and named.handler.reason == "no matched account owner"
    assert [(c.field, c.actual, c.result) for c in emea.conditions] == [
        ("geo.country", "GB", True), ("NumberOfEmployees", "4200", True)]
    assert out.explanation == (
        "named matched but no matched account owner; Matched emea-enterprise "
        "(geo.country GB in [GB, DE, FR, NL]; NumberOfEmployees 4200 >= 1000) -> territory EMEA_UKI -> AE Jane Doe")


def test_missing_fields_route_without_crashing_and_are_flagged() -> None:
    out = compile_rules(RULES).evaluate({"NumberOfEmployees": "many"}, resolver)
    assert (out.owner_id, out.rule_id) == ("00GTRIAGE", "catch-all")
    first = out.trace[0].conditions[0]
    assert first.missing and first.actual is None and first.result is False
    assert [s.rule_id for s in out.trace] == ["named", "emea-enterprise", "strict", "catch-all"]


def test_handler_failure_is_traced_and_on_unresolved_pending_stops() -> None:
    out = compile_rules(RULES).evaluate({"Rating": "hot"}, resolver)
    assert (out.owner_id, out.rule_id) == ("pending:strict", "strict")
    handler = out.trace[-1].handler
    assert handler is not None and handler.error == "ConnectionError: directory offline"
    assert "unresolved" in out.explanation and "pending:strict" in out.explanation


def test_untraced_evaluation_gives_the_same_owner() -> None:
    compiled = compile_rules(RULES)
    for ctx in ({"Rating": "hot"}, {"geo.country": "fr", "enrichment.company.size": "10001+"}, {}):
        assert compiled.evaluate(ctx, resolver, trace=False).owner_id == compiled.evaluate(ctx, resolver).owner_id


def test_objects_filter_keeps_only_rules_for_the_record_type() -> None:
    rules = RulesFile.model_validate({"rules": [
        {"id": "accounts-only", "priority": 1, "objects": ["Account"], "action": {"type": "queue", "queue": "A"}},
        {"id": "all", "priority": 2, "action": {"type": "queue", "queue": "B"}},
    ]})
    assert [r.id for r in compile_rules(rules, "Lead").rules] == ["all"]
    assert [r.id for r in compile_rules(rules, "Account").rules] == ["accounts-only", "all"]


def test_no_rule_matching_gives_unrouted() -> None:
    rules = RulesFile.model_validate({"rules": [
        {"id": "only", "priority": 1, "when": {"Rating": {"eq": "Hot"}}, "action": {"type": "queue", "queue": "A"}}]})
    out = compile_rules(rules).evaluate({}, resolver)
    assert (out.owner_id, out.rule_id) == ("pending:unrouted", None)
    assert out.explanation.startswith("No rule matched")
