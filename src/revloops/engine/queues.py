"""Named queues, one per external service, with their limits from settings.

``pdl``: People Data Labs enrichment, rate-limited per minute (their plan's limit).
``llm``: LLM calls (Engage's drafts), bounded concurrency (cost and provider rate limits).
``chain``: the lead chain itself, bounded per worker so one worker does not take the whole backlog.

Queues live in the engine's system database; they are (re)registered after launch by every process.
"""

from __future__ import annotations

from dataclasses import dataclass

from dbos import DBOS, Queue

from revloops.core.errors import NotFound
from revloops.settings import Settings

# How often a worker looks for work on a service queue. Every look costs the engine a few queries in every
# worker, so queues whose work waits on a remote service anyway look once a second; the chain's queue looks
# as often as ``REVLOOPS_CHAIN_POLL_SECONDS`` says (its throughput is capped near concurrency / interval).
SERVICE_POLL_SECONDS = 1.0
_registered: dict[str, Queue] = {}


@dataclass(frozen=True)
class QueueSpec:
    """One queue's limits: per-worker concurrency, an optional rate of ``limit`` starts per ``period`` s, and how
    often a worker looks for work on it."""

    name: str
    worker_concurrency: int | None
    limit: int | None = None
    period: float | None = None
    poll_seconds: float = SERVICE_POLL_SECONDS


def queue_specs(settings: Settings) -> dict[str, QueueSpec]:
    """The queues and their limits for these settings."""
    specs = [
        # a lead's chain waits on its enrichment run: look a little more often than the other service queues
        QueueSpec("pdl", worker_concurrency=4, limit=max(1, settings.pdl_rate_per_minute), period=60.0,
                  poll_seconds=0.5),
        QueueSpec("llm", worker_concurrency=max(1, settings.llm_concurrency)),
        QueueSpec("chain", worker_concurrency=max(1, settings.chain_concurrency),
                  poll_seconds=settings.chain_poll_seconds),
    ]
    return {s.name: s for s in specs}


def register_queues(settings: Settings) -> dict[str, Queue]:
    """Create or update every queue in the system database (after launch); answers them by name."""
    out: dict[str, Queue] = {}
    for spec in queue_specs(settings).values():
        limiter = {"limit": spec.limit, "period": spec.period} if spec.limit and spec.period else None
        out[spec.name] = DBOS.register_queue(
            spec.name,
            worker_concurrency=spec.worker_concurrency,
            limiter=limiter,  # type: ignore[arg-type]
            polling_interval_sec=spec.poll_seconds,
            on_conflict="always_update",
        )
    _registered.clear()
    _registered.update(out)
    return out


def get_queue(name: str) -> Queue:
    """A registered queue by name (raises NotFound when it was never registered)."""
    queue = _registered.get(name) or DBOS.retrieve_queue(name)
    if queue is None:
        raise NotFound(f"no queue named {name!r}; registered: {', '.join(sorted(_registered)) or 'none yet'}")
    return queue
