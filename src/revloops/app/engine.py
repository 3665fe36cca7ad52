"""The workflow engine's actions: run workers, see runs by state, retry a parked run, and run the inbound chain
for a set of leads in this process (the demo)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from revloops.app.base import AppBase
from revloops.app.crm import InboxEvent
from revloops.core.decisions import Decision
from revloops.core.events import CrmEvent
from revloops.core.identity import Caller
from revloops.core.model import Frozen
from revloops.engine.retry import RetryResult
from revloops.engine.status import EngineStatus
from revloops.ports.crm import Filter, Query

if TYPE_CHECKING:
    from dbos import DBOSClient

Progress = Callable[[int, int], None]


class SpeedToOwner(Frozen):
    """Seconds from a lead's arrival to its owner."""

    p50: float
    p90: float
    max: float


class ChainRun(Frozen):
    """Leads through the durable chain: speed to owner, what each loop decided, the story of each lead."""

    leads: list[str]
    speed: SpeedToOwner
    outcomes: dict[str, dict[str, int]]
    stories: dict[str, list[Decision]]


def redact(url: str) -> str:
    """A URL without its password, for logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}@{host}"


class EngineActions(AppBase):
    """Running, watching and unsticking durable work."""

    @property
    def engine_target(self) -> str:
        """The engine's system database, password hidden."""
        return redact(self.settings.engine_db_url)

    @contextmanager
    def _client(self) -> Iterator[DBOSClient]:
        from revloops.engine.setup import client, migrate

        migrate(self.settings)
        cl = client(self.settings)
        try:
            yield cl
        finally:
            cl.destroy()

    def workflow_status(self, caller: Caller, failures: int = 10) -> EngineStatus:
        """Workflow runs by state and workflow, and the latest failures with their errors."""
        from revloops.engine.status import engine_status

        self.require(caller, "ops")
        with self._client() as cl:
            return engine_status(cl, failures=failures)

    def retry_workflow(self, caller: Caller, workflow_id: str, *, dry_run: bool = False) -> RetryResult:
        """Resume a failed, cancelled or abandoned run from its last completed step (a worker picks it up); a
        dry run says which step it would resume from and changes nothing."""
        from revloops.engine.retry import retry

        self.require(caller, "eng")
        with self._client() as cl:
            return retry(cl, workflow_id, dry_run=dry_run)

    def run_worker(self, caller: Caller, *, executor_id: str | None = None, queues: list[str] | None = None,
                   modules: tuple[str, ...] = (), stop: threading.Event | None = None,
                   ready_file: Path | None = None) -> None:
        """Run workflow workers in this process until SIGTERM, Ctrl-C or ``stop``."""
        from revloops.engine.worker import serve_forever

        self.require(caller, "eng")
        serve_forever(self.platform, executor_id=executor_id or self.settings.executor_id, queues=queues,
                      modules=modules, stop=stop, ready_file=ready_file)

    def start_engine(self) -> None:
        """Launch the engine's workers in this process (the API's lifespan)."""
        from revloops.engine.setup import launch

        _ = self.platform.engine  # migrate the state database before the first step
        launch(self.platform)

    def stop_engine(self, wait_seconds: int = 10) -> None:
        """Stop the engine's workers of this process (running work recovers on the next start)."""
        from revloops.engine.setup import shutdown

        shutdown(wait_seconds)

    def open_state(self) -> None:
        """Open (and migrate) the state database now, not on the first request."""
        _ = self.platform.engine

    def run_events(self, caller: Caller, events: Sequence[CrmEvent], *, timeout: float = 600.0) -> list[InboxEvent]:
        """Deliver CRM events as the webhook would and run what reacts to them in this process, waiting until
        each is finished; answers each event's final state (the demo, ad-hoc replays)."""
        from revloops.chains.dispatch import dispatch_pending
        from revloops.chains.run import wait_events
        from revloops.engine import setup

        self.require(caller, "eng")
        p = self.platform
        p.inbox.accept(events, "webhook")
        setup.launch(p)
        try:
            dispatch_pending(p)
            wait_events(p, [e.id for e in events], timeout=timeout)
        finally:
            setup.shutdown()
        wanted = {e.id for e in events}
        return [InboxEvent(id=e.event.id, type=e.event.type, record_id=e.event.record_id, source=e.source,
                           status=e.status, deliveries=e.deliveries, reason=e.reason)
                for e in p.inbox.entries(limit=len(wanted) + 5000) if e.event.id in wanted]

    def run_chain(self, caller: Caller, count: int = 200, progress: Progress | None = None,
                  timeout: float = 600.0) -> ChainRun:
        """The first ``count`` leads of the CRM still waiting to be routed (no routing decision named on them:
        a seeded org's history has routed the others) through the durable inbound chain in this process, as the
        webhook would deliver them; answers speed to owner, the loops' outcomes and each lead's story."""
        from revloops.chains.dispatch import dispatch_pending
        from revloops.chains.run import deliver_created, wait_done
        from revloops.engine import setup
        from revloops.loops.route.metrics import speed_to_owner

        self.require(caller, "eng")
        p = self.platform
        waiting = Query("Lead", (Filter("Routing_Decision_Id__c", "eq", None),), order_by=(("Id", False),), limit=count)
        lead_ids = [lead.Id or "" for lead in p.crm.query_all(waiting)]
        deliver_created(p, lead_ids)
        setup.launch(p)
        try:
            dispatch_pending(p)
            wait_done(p, lead_ids, progress=progress, timeout=timeout)
        finally:
            setup.shutdown()
        arrivals = {e.event.record_id: e.received_at for e in p.inbox.entries(limit=len(lead_ids) + 100)}
        stories = {lid: p.decisions.for_record(lid, limit=10) for lid in lead_ids}
        decisions = [d for ds in stories.values() for d in ds]
        speed = speed_to_owner(arrivals, decisions)
        outcomes: dict[str, Counter[str]] = {loop: Counter() for loop in ("qualify", "route", "engage")}
        for d in decisions:
            if d.loop in outcomes:
                outcomes[d.loop][d.outcome if d.loop != "route" else str(d.detail.get("rule_id"))] += 1
        return ChainRun(leads=lead_ids, speed=SpeedToOwner(p50=speed.p50, p90=speed.p90, max=speed.max),
                        outcomes={k: dict(v.most_common()) for k, v in outcomes.items()}, stories=stories)


