"""How well Qualify works: the MQL rate, the enrichment hit rate and the credits spent, from the decision
log (the latest qualify decision of each lead) and the enrichment spend log."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING

from revloops.core.model import Frozen

if TYPE_CHECKING:
    from revloops.ports import Ports


class QualifyMetrics(Frozen):
    """Qualify's figures over a period.

    Attributes:
        leads: leads scored (each counted once, by its latest decision).
        bands: leads per band (mql, nurture, disqualified).
        mql_rate: share of leads that are MQLs.
        enrichment_hit_rate: share of leads whose enrichment found facts.
        enrichment_status: leads per enrichment status (ok, not_found, timeout, error, none).
        provider_calls: calls to paid providers.
        credits_spent: credits those calls spent.
        calls_by_status: paid calls per answer (ok, not_found, rate_limited, error, timeout, rejected).
    """

    leads: int
    bands: dict[str, int]
    mql_rate: float
    enrichment_hit_rate: float
    enrichment_status: dict[str, int]
    provider_calls: int
    credits_spent: float
    calls_by_status: dict[str, int]


def qualify_metrics(plat: Ports, since: dt.datetime | None = None, limit: int = 100_000) -> QualifyMetrics:
    """Qualify's metrics since ``since`` (all time when None)."""
    latest: dict[str, tuple[str, str]] = {}
    for decision in plat.decisions.recent(loop="qualify", since=since, limit=limit):
        # newest first: the first decision seen for a lead is its current one
        latest.setdefault(decision.record_id,
                          (decision.outcome, str(decision.detail.get("enrichment_status") or "none")))
    bands = Counter(band for band, _ in latest.values())
    statuses = Counter(status for _, status in latest.values())
    n = len(latest)
    spend = plat.enrichment_spend.totals(since=since)
    return QualifyMetrics(
        leads=n, bands=dict(bands), mql_rate=bands["mql"] / n if n else 0.0,
        enrichment_hit_rate=statuses["ok"] / n if n else 0.0, enrichment_status=dict(statuses),
        provider_calls=spend.calls, credits_spent=spend.credits, calls_by_status=spend.by_status,
    )
