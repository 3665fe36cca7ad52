"""The durable inbox of CRM events: every event lands here before any loop acts on it."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from revloops.core.events import CrmEvent


@dataclass(frozen=True)
class AcceptResult:
    """What a delivery did: new events accepted, duplicates recognised, events rejected with why."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class InboxEntry:
    """An event with its processing state."""

    event: CrmEvent
    source: str
    status: str  # pending | rejected | processing | done | failed
    deliveries: int
    received_at: dt.datetime
    reason: str | None = None
    workflow_id: str | None = None


class EventInbox(abc.ABC):
    """Events in, once each; watermarks for the poller."""

    @abc.abstractmethod
    def accept(self, events: Sequence[CrmEvent], source: str) -> AcceptResult:
        """Record events; an id seen before counts as a duplicate and changes nothing."""

    @abc.abstractmethod
    def entries(self, status: str | None = None, limit: int = 100) -> list[InboxEntry]:
        """Events by status, oldest first."""

    @abc.abstractmethod
    def mark(self, event_id: str, status: str, *, workflow_id: str | None = None, reason: str | None = None,
             only_from: str | None = None) -> bool:
        """Move an event on (processing, done, failed, skipped); with ``only_from`` only from that status.

        Answers whether the event moved.
        """

    @abc.abstractmethod
    def finish_workflow(self, workflow_id: str, reason: str | None = None) -> int:
        """Mark done every event a workflow run is processing, or whose run had failed before a retry (several
        events can name one lead's run)."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """How many events are in each status."""

    @abc.abstractmethod
    def watermark(self, sobject: str) -> dt.datetime | None:
        """The poller's durable watermark for an object."""

    @abc.abstractmethod
    def set_watermark(self, sobject: str, value: dt.datetime) -> None:
        """Advance the watermark (never moves it back)."""
