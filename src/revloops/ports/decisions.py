"""The decision log port."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Sequence

from revloops.core.decisions import Decision


class DecisionStore(abc.ABC):
    """Where every decision is kept; read back by ``explain``."""

    @abc.abstractmethod
    def record(self, decision: Decision) -> Decision:
        """Store one decision (idempotent on its id) and answer it."""

    @abc.abstractmethod
    def record_many(self, decisions: Sequence[Decision]) -> None:
        """Store many decisions in one transaction."""

    @abc.abstractmethod
    def get(self, decision_id: str) -> Decision:
        """One decision. Raises NotFound."""

    @abc.abstractmethod
    def for_record(self, record_id: str, limit: int = 20, loop: str | None = None) -> list[Decision]:
        """The latest decisions on a record, newest first."""

    @abc.abstractmethod
    def recent(self, loop: str | None = None, since: dt.datetime | None = None, limit: int = 100) -> list[Decision]:
        """The latest decisions, newest first."""
