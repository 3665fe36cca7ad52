"""Route's metrics: time to owner, hits per rule, pending rate (from the decision log and the inbox)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence

from revloops.core.decisions import Decision
from revloops.core.model import Frozen


class SpeedToOwner(Frozen):
    """Seconds from the lead's event landing to its owner being written."""

    count: int
    p50: float | None
    p90: float | None
    max: float | None


def speed_to_owner(arrivals: dict[str, dt.datetime], decisions: Iterable[Decision]) -> SpeedToOwner:
    """From event arrival times by record id and the route decisions taken on them."""
    waits = sorted(
        (d.created_at - arrivals[d.record_id]).total_seconds()
        for d in decisions if d.loop == "route" and d.record_id in arrivals
    )
    if not waits:
        return SpeedToOwner(count=0, p50=None, p90=None, max=None)
    p90 = waits[min(len(waits) - 1, int(round(0.9 * (len(waits) - 1))))]
    return SpeedToOwner(count=len(waits), p50=statistics.median(waits), p90=p90, max=waits[-1])


def hits_per_rule(decisions: Sequence[Decision]) -> dict[str, int]:
    """How many route decisions each rule took, most first."""
    hits = Counter(str(d.detail.get("rule_id")) for d in decisions if d.loop == "route")
    return dict(hits.most_common())


def pending_rate(decisions: Sequence[Decision]) -> float:
    """The share of route decisions that ended in ``pending:*``."""
    routed = [d for d in decisions if d.loop == "route"]
    return sum(d.outcome.startswith("pending:") for d in routed) / len(routed) if routed else 0.0
