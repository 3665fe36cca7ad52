"""Run the inbound chain for a set of leads in this process and wait for it (the demo, and ad-hoc runs)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence

from revloops.bootstrap import Platform
from revloops.core.errors import UpstreamUnavailable
from revloops.core.events import CrmEvent, event_id


def deliver_created(plat: Platform, lead_ids: Sequence[str]) -> int:
    """Record a ``lead.created`` event per lead in the inbox (as the webhook or poller would)."""
    now = dt.datetime.now(dt.UTC)
    events = [CrmEvent(id=event_id("lead.created", lid), type="lead.created", object="Lead", record_id=lid,
                       occurred_at=now) for lid in lead_ids]
    return plat.inbox.accept(events, "poller").accepted


def wait_done(plat: Platform, lead_ids: Sequence[str], *, timeout: float = 600.0,
              progress: Callable[[int, int], None] | None = None) -> int:
    """Wait until every lead's event is done (or failed); answers how many are done."""
    wanted = {event_id("lead.created", lid) for lid in lead_ids}
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        entries = plat.inbox.entries(limit=len(wanted) + 1000)
        finished = [e for e in entries if e.event.id in wanted and e.status in ("done", "failed", "skipped")]
        done = len(finished)
        if progress:
            progress(done, len(wanted))
        if done >= len(wanted):
            return done
        time.sleep(0.2)
    raise UpstreamUnavailable(f"only {done} of {len(wanted)} leads finished within {timeout:.0f} s")


def wait_events(plat: Platform, event_ids: Sequence[str], *, timeout: float = 600.0) -> dict[str, str]:
    """Wait until every one of these inbox events is finished (done, failed or skipped); answers their status."""
    wanted = set(event_ids)
    deadline = time.monotonic() + timeout
    while True:
        entries = plat.inbox.entries(limit=len(wanted) + 5000)
        status = {e.event.id: e.status for e in entries if e.event.id in wanted}
        if all(status.get(i) in ("done", "failed", "skipped", "rejected") for i in wanted):
            return status
        if time.monotonic() >= deadline:
            left = sorted(i for i in wanted if status.get(i) not in ("done", "failed", "skipped", "rejected"))
            raise UpstreamUnavailable(f"{len(left)} of {len(wanted)} events unfinished within {timeout:.0f} s")
        time.sleep(0.2)
