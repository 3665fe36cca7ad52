"""The warehouse's refresh on the engine: a DBOS schedule, every minute in every worker with the same workflow
id per minute (so one worker runs each), refreshing on the minutes ``REVLOOPS_WAREHOUSE_REFRESH_MINUTES``
names. A refresh is incremental and resumable, so a run retried after a crash loads from its marks on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from revloops.engine.registry import scheduled, step, workflow
from revloops.engine.setup import platform


def refresh_due(now: dt.datetime, every_minutes: float) -> bool:
    """Whether the minute of ``now`` is a refresh minute (minutes since midnight UTC divisible by the cadence)."""
    every = max(1, round(every_minutes))
    return (now.hour * 60 + now.minute) % every == 0


@step(attempts=4, interval=5.0)
def refresh_step() -> dict[str, Any]:
    """One incremental refresh (retried with backoff while the warehouse is busy with another writer)."""
    from revloops.loops.coach.warehouse import refresh

    plat = platform()
    wh = plat.warehouse(read_only=False)
    try:
        report = refresh(plat.warehouse_sources, wh, plat.config, as_of=plat.settings.warehouse_as_of)
    finally:
        wh.close()
    return {"read": report.read, "seconds": round(report.seconds, 3), "problems": report.problems}


@workflow("warehouse.refresh")
def refresh_run(at_iso: str) -> dict[str, Any]:
    """One scheduled refresh."""
    return {"at": at_iso, **refresh_step()}


@scheduled("warehouse-refresh", "0 * * * * *",
           enabled=lambda settings: settings.warehouse_refresh_minutes is not None)
def warehouse_tick(scheduled_at: Any, context: Any) -> None:
    """Every minute when a refresh cadence is set: a refresh on the minutes it names."""
    stamp = scheduled_at if isinstance(scheduled_at, dt.datetime) else dt.datetime.now(dt.UTC)
    now = (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    every = platform().settings.warehouse_refresh_minutes
    if every is not None and refresh_due(now, every):
        refresh_run(now.replace(second=0, microsecond=0).isoformat())
