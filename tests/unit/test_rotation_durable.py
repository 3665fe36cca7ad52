"""Durable round robin: concurrent resolvers never take one slot twice; the split follows the weights."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from revloops.adapters.sql.db import open_database
from revloops.adapters.sql.rotation import SqlRotation
from revloops.core.rotation import Candidate, InMemoryRotation

DAY = dt.date(2026, 11, 30)
MEMBERS = [Candidate("005A", 3.0), Candidate("005B", 2.0), Candidate("005C", 1.0)]


def test_eight_concurrent_resolvers_never_share_a_slot(tmp_path: Path) -> None:
    rotation = SqlRotation(open_database(f"sqlite:///{tmp_path / 's.sqlite'}"))

    def resolver(_: int) -> list[tuple[str | None, int]]:
        return [rotation.claim_slot("smb", MEMBERS, DAY) for _ in range(40)]

    with ThreadPoolExecutor(8) as pool:
        claims = [c for batch in pool.map(resolver, range(8)) for c in batch]
    slots = [slot for _, slot in claims]
    assert len(slots) == 320 and len(set(slots)) == 320 and sorted(slots) == list(range(1, 321))
    counts = {m.user_id: sum(1 for u, _ in claims if u == m.user_id) for m in MEMBERS}
    for m in MEMBERS:  # smooth weighted round robin keeps each share within one
        assert abs(counts[m.user_id] - 320 * m.weight / 6) <= 1


def test_thousand_resolves_follow_weights_within_one(tmp_path: Path) -> None:
    rotation = SqlRotation(open_database(f"sqlite:///{tmp_path / 's.sqlite'}"))
    picks = [rotation.claim("mid", MEMBERS, DAY) for _ in range(1000)]
    for m in MEMBERS:
        assert abs(picks.count(m.user_id) - 1000 * m.weight / 6) <= 1


def test_durable_state_matches_the_in_memory_simulation(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 's.sqlite'}")
    durable, memory = SqlRotation(engine), InMemoryRotation()
    for _ in range(25):
        assert durable.claim("p", MEMBERS, DAY) == memory.claim("p", MEMBERS, DAY)
    # a second process picks up where the first left off
    again = SqlRotation(open_database(f"sqlite:///{tmp_path / 's.sqlite'}"))
    assert again.claim("p", MEMBERS, DAY) == memory.claim("p", MEMBERS, DAY)


def test_daily_caps_stop_a_member_and_reset_next_day(tmp_path: Path) -> None:
    rotation = SqlRotation(open_database(f"sqlite:///{tmp_path / 's.sqlite'}"))
    capped = [Candidate("005A", 1.0, daily_cap=2), Candidate("005B", 1.0, daily_cap=1)]
    picks = [rotation.claim("c", capped, DAY) for _ in range(4)]
    assert sorted(p for p in picks if p) == ["005A", "005A", "005B"] and picks[-1] is None
    assert rotation.claim("c", capped, DAY + dt.timedelta(days=1)) is not None


def test_a_keyed_claim_is_taken_once(tmp_path: Path) -> None:
    rotation = SqlRotation(open_database(f"sqlite:///{tmp_path / 's.sqlite'}"))
    first = rotation.keyed("dec_route_00Q1").claim("smb", MEMBERS, DAY)
    again = rotation.keyed("dec_route_00Q1").claim("smb", MEMBERS, DAY)  # the step re-run after a crash
    other = rotation.keyed("dec_route_00Q2").claim("smb", MEMBERS, DAY)
    assert first == again and rotation.state("smb")[1] == 2
    assert [first, other] == [InMemoryRotation().claim("smb", MEMBERS, DAY) for _ in range(1)] + [other]


def test_concurrent_claims_under_one_key_take_one_slot(tmp_path: Path) -> None:
    rotation = SqlRotation(open_database(f"sqlite:///{tmp_path / 's.sqlite'}"))
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: rotation.claim_slot("p", MEMBERS, DAY, key="k:p"), range(16)))
    assert len(set(got)) == 1 and rotation.state("p")[1] == 1
