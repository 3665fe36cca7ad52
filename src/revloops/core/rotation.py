"""Round robin: a pure smooth weighted rotation, and the in-memory rotation previews use (a preview never
advances the durable state; it simulates), and the protocol every rotation meets. The durable store's
port is ``revloops.ports.rotation``.

Smooth weighted round robin: each claim adds every eligible member's weight to its running credit,
the member with the most credit wins and pays back the total. Over any run the count of each member
stays within one of its weighted share, and picks are spread out rather than bunched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple, Protocol


class Candidate(NamedTuple):
    """An eligible member for one claim (already active and not out of office)."""

    user_id: str
    weight: float = 1.0
    daily_cap: int | None = None


RotationState = dict[str, Any]


def next_in_rotation(state: RotationState | None, candidates: Sequence[Candidate],
                     day: date) -> tuple[str | None, RotationState]:
    """Pick the next member and return the new state (the input state is not modified).

    Args:
        state: ``{"credit": {user: float}, "day": "YYYY-MM-DD", "counts": {user: int}}`` or None.
        candidates: the eligible members in a stable order (ties go to the earlier one).
        day: the claim's day; daily counts reset when it changes.

    Returns:
        ``(user_id or None when every candidate is capped, new state)``.
    """
    state = state or {}
    credit = dict(state.get("credit", {}))
    today = day.isoformat()
    counts = dict(state.get("counts", {})) if state.get("day") == today else {}
    chosen = pick(credit, counts, candidates)
    return chosen, {"credit": credit, "day": today, "counts": counts}


def pick(credit: dict[str, float], counts: dict[str, int], candidates: Sequence[Candidate]) -> str | None:
    """One smooth weighted round-robin pick, updating ``credit`` and the day's ``counts`` in place: every open
    member (under its daily cap) gains its weight, the one with the most credit wins (ties: the earlier) and pays
    back the total. None when every member is capped (nothing changes then)."""
    total = 0.0
    best: str | None = None
    best_credit = 0.0
    for cand in candidates:
        user = cand.user_id
        if cand.daily_cap is not None and counts.get(user, 0) >= cand.daily_cap:
            continue
        value = credit[user] = credit.get(user, 0.0) + cand.weight
        total += cand.weight
        if best is None or value > best_credit:
            best, best_credit = user, value
    if best is None:
        return None
    credit[best] -= total
    counts[best] = counts.get(best, 0) + 1
    return best


class Rotation(Protocol):
    """What hands out one claim's slot: the in-memory rotation here, the durable one behind
    ``revloops.ports.rotation.DurableRotation``, a dry run's snapshot. A durable implementation must make two
    concurrent claims never take one slot (a transaction around read state -> ``next_in_rotation`` -> write)."""

    def claim(self, pool_id: str, candidates: Sequence[Candidate], day: date) -> str | None:
        """Take the next slot of ``pool_id`` among ``candidates`` on ``day``; None when all are capped."""
        ...


class InMemoryRotation:
    """Rotation state in a dict: previews, tests, and the batch path's simulation."""

    def __init__(self, states: dict[str, RotationState] | None = None) -> None:
        self.states: dict[str, RotationState] = {k: dict(v) for k, v in (states or {}).items()}

    def claim(self, pool_id: str, candidates: Sequence[Candidate], day: date) -> str | None:
        """Take the next slot of ``pool_id`` (see ``revloops.ports.rotation.Rotation.claim``)."""
        chosen, self.states[pool_id] = next_in_rotation(self.states.get(pool_id), candidates, day)
        return chosen


class SimulatedRotation:
    """A simulation's rotation over many days: credit carries from claim to claim as in ``InMemoryRotation``,
    and each day keeps its own counts, so daily caps hold per day even when a batch meets its days out of order
    (chunks of a table read in key order, not in creation order). The same smooth weighted round robin as
    ``next_in_rotation``, kept in place rather than copied per claim (a batch claims millions of times)."""

    def __init__(self, states: dict[str, RotationState] | None = None) -> None:
        self.credit: dict[str, dict[str, float]] = {}
        self.counts: dict[tuple[str, date], dict[str, int]] = {}
        for pool, state in (states or {}).items():
            self.credit[pool] = dict(state.get("credit", {}))
            if state.get("day"):
                self.counts[(pool, date.fromisoformat(str(state["day"])))] = dict(state.get("counts", {}))

    def claim(self, pool_id: str, candidates: Sequence[Candidate], day: date) -> str | None:
        """Take the next slot of ``pool_id`` on ``day`` (see ``Rotation.claim``)."""
        credit = self.credit.get(pool_id)
        if credit is None:
            credit = self.credit[pool_id] = {}
        counts = self.counts.get((pool_id, day))
        if counts is None:
            counts = self.counts[(pool_id, day)] = {}
        return pick(credit, counts, candidates)
