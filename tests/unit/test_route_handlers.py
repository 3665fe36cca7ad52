"""Handlers and the rotation: weights, daily caps, out-of-office, inactive users, territories."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from revloops.core.rotation import Candidate, InMemoryRotation, next_in_rotation
from revloops.core.rules import RulesFile, compile_rules
from revloops.core.rules.batch import contexts_to_frame
from revloops.core.rules.resolve_batch import frame_fields
from revloops.loops.deploy.config import AssignmentsFile, PoolsFile
from revloops.loops.route.logic import Directory, Queue, RouteHandlers, User, resolve_batch

DAY = date(2026, 7, 21)
USERS = [User(f"005{n}", f"{n}@acme.example", name=n.title(), active=n != "zed") for n in
         ("ava", "ben", "carla", "dan", "zed")]
DIRECTORY = Directory(USERS, [Queue("00GTRIAGE", "Inbound_Triage")])
POOLS = PoolsFile.model_validate({"pools": [
    {"id": "smb", "members": [
        {"user": "ava@acme.example", "weight": 3},
        {"user": "ben@acme.example", "weight": 2, "daily_cap": 2},
        {"user": "carla@acme.example", "out_of_office": [{"start": "2026-07-20", "end": "2026-08-07"}]},
        {"user": "zed@acme.example"},
    ]},
]})
ASSIGNMENTS = AssignmentsFile.model_validate({"assignments": [
    {"user": "ava@acme.example", "territory": "NA_West", "role": "AE"},
    {"user": "ben@acme.example", "territory": "NA_East", "role": "AE"},
    {"user": "dan@acme.example", "territory": "NA_East", "role": "AE"},
    {"user": "carla@acme.example", "territory": "NA_West", "role": "AE", "end": "2026-01-31"},
]})
MATCH = compile_rules(RulesFile.model_validate({"rules": [
    {"id": "west", "priority": 1, "when": {"geo.region": {"in": ["US-CA", "US-WA"]}},
     "action": {"type": "assign", "territory": "NA_West"}},
    {"id": "east", "priority": 2, "when": {"geo.country": {"eq": "US"}}, "action": {"type": "assign", "territory": "NA_East"}},
    {"id": "none", "priority": 3, "action": {"type": "pending", "reason": "no-territory"}},
]}))


def handlers(**kw: Any) -> RouteHandlers:
    return RouteHandlers(DIRECTORY, pools=POOLS, assignments=ASSIGNMENTS, territory_rules=MATCH, today=DAY, **kw)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=1, max_size=6))
def test_split_follows_weights_within_one_per_member(weights: list[int]) -> None:
    candidates = [Candidate(f"u{i}", float(w)) for i, w in enumerate(weights)]
    state: dict[str, Any] | None = None
    counts: Counter[str] = Counter()
    for _ in range(1000):
        chosen, state = next_in_rotation(state, candidates, DAY)
        assert chosen is not None
        counts[chosen] += 1
    total = sum(weights)
    for i, w in enumerate(weights):
        assert abs(counts[f"u{i}"] - 1000 * w / total) <= 1


def test_rotation_state_is_plain_json_and_not_mutated() -> None:
    import json

    first, state = next_in_rotation(None, [Candidate("a"), Candidate("b")], DAY)
    frozen = json.dumps(state, sort_keys=True)
    second, _ = next_in_rotation(state, [Candidate("a"), Candidate("b")], DAY)
    assert json.dumps(state, sort_keys=True) == frozen and {first, second} == {"a", "b"}


def test_daily_cap_resets_on_a_new_day() -> None:
    cands = [Candidate("a", 1.0, 1)]
    chosen, state = next_in_rotation(None, cands, DAY)
    capped, state = next_in_rotation(state, cands, DAY)
    again, _ = next_in_rotation(state, cands, date(2026, 7, 22))
    assert (chosen, capped, again) == ("a", None, "a")


def test_pool_skips_out_of_office_inactive_and_capped_members() -> None:
    h = handlers()
    action = RulesFile.model_validate({"rules": [{"id": "rr", "priority": 1,
                                                  "action": {"type": "round_robin", "pool": "smb"}}]}).rules[0].action
    picks = [h(action, {}).owner_id for _ in range(10)]
    assert set(picks) == {"005ava", "005ben"}
    assert picks.count("005ben") == 2  # its daily cap
    first = h(action, {})
    assert "carla@acme.example out of office" in first.detail["skipped"]
    assert "zed@acme.example inactive" in first.detail["skipped"]


def _rules(*rules: dict[str, Any]) -> RulesFile:
    return RulesFile.model_validate({"rules": list(rules)})


def test_territory_single_holder_and_round_robin_among_several() -> None:
    rules = compile_rules(_rules({"id": "t", "priority": 1, "action": {"type": "territory", "role": "AE"}}))
    h = handlers()
    west = rules.evaluate({"geo.country": "US", "geo.region": "US-CA"}, h)
    assert west.owner_id == "005ava"  # carla's assignment ended
    east = [rules.evaluate({"geo.country": "US", "geo.region": "US-NY"}, h) for _ in range(4)]
    assert sorted(o.owner_id for o in east) == ["005ben", "005ben", "005dan", "005dan"]
    assert east[0].trace[0].handler is not None and east[0].trace[0].handler.detail["territory"] == "NA_East"
    assert "territory NA_East -> AE" in east[0].explanation


def test_account_owner_needs_an_active_owner_and_a_domain_match() -> None:
    rules = compile_rules(_rules(
        {"id": "owner", "priority": 1, "action": {"type": "account_owner"}},
        {"id": "triage", "priority": 2, "action": {"type": "queue", "queue": "Inbound_Triage"}}))
    h = handlers()
    assert rules.evaluate({"account.OwnerId": "005ben", "account.match": "domain"}, h).owner_id == "005ben"
    assert rules.evaluate({"account.OwnerId": "005zed"}, h).owner_id == "00GTRIAGE"
    by_name = rules.evaluate({"account.OwnerId": "005ben", "account.match": "name"}, h)
    assert by_name.owner_id == "00GTRIAGE" and "domain match" in by_name.explanation


def test_batch_resolution_matches_one_by_one_with_rotations() -> None:
    rules = compile_rules(_rules(
        {"id": "hot", "priority": 1, "when": {"Rating": {"eq": "hot"}}, "action": {"type": "round_robin", "pool": "smb"}},
        {"id": "terr", "priority": 2, "when": {"geo.country": {"eq": "US"}}, "action": {"type": "territory"}},
        {"id": "triage", "priority": 3, "action": {"type": "queue", "queue": "Inbound_Triage"}}))
    records = [{"Rating": "Hot" if i % 3 == 0 else None, "geo.country": "US" if i % 2 else "FR",
                "geo.region": "US-NY" if i % 4 == 1 else "US-CA"} for i in range(40)]
    one = handlers(rotation=InMemoryRotation())
    single = [rules.evaluate(r, one) for r in records]
    many = handlers(rotation=InMemoryRotation())
    batch = resolve_batch(rules, contexts_to_frame(records, frame_fields(rules, many) + ["geo.region"]), many)
    assert batch.owner_ids == [o.owner_id for o in single]
    assert batch.rule_ids == [o.rule_id for o in single]
