"""A dry run's rotation reads the durable state only when a claim needs it, and never changes it."""

from __future__ import annotations

from datetime import date
from typing import Any

from revloops.core.rotation import Candidate, InMemoryRotation
from revloops.loops.route.logic import SnapshotRotation

DAY = date(2024, 5, 6)
PEOPLE = [Candidate("005a"), Candidate("005b"), Candidate("005c")]


class Store:
    """The durable side: counts reads, hands out its state."""

    def __init__(self) -> None:
        self.reads = 0
        self.state: dict[str, Any] = {}
        durable = InMemoryRotation()
        durable.claim("na-sdr", PEOPLE, DAY)  # 005a has had the first slot
        self.state = durable.states

    def states(self) -> dict[str, Any]:
        self.reads += 1
        return self.state


def test_no_claim_no_read() -> None:
    store = Store()
    SnapshotRotation(store.states)
    assert store.reads == 0


def test_claims_continue_from_the_durable_state_which_stays_as_it_was() -> None:
    store = Store()
    before = repr(store.state)
    dry = SnapshotRotation(store.states)
    picks = [dry.claim("na-sdr", PEOPLE, DAY) for _ in range(3)]
    reference = InMemoryRotation(store.state)
    assert picks == [reference.claim("na-sdr", PEOPLE, DAY) for _ in range(3)]
    assert picks[0] != "005a"  # it continues the rotation rather than starting over
    assert store.reads == 1 and repr(store.state) == before
