"""The engage sequence store port: one composed sequence per lead, written once (the first write wins).

The sequence travels as its JSON form (``EngageSequence.model_dump(mode="json")``): the store keeps it and
the Engage loop reads it back with its own model, so no store depends on a loop's types.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from revloops.core.decisions import Decision


@dataclass(frozen=True)
class StoredSequence:
    """A lead's stored sequence (its JSON form), the key of its task, the task's id once written, the decision."""

    lead_id: str
    owner_id: str
    sequence: Mapping[str, Any]
    task_key: str
    task_id: str | None
    decision: Decision
    created_at: dt.datetime


class SequenceStore(abc.ABC):
    """Sequences keyed by lead id; the first write wins, later ones read it back."""

    @abc.abstractmethod
    def get(self, lead_id: str) -> StoredSequence | None:
        """The lead's sequence, or None."""

    @abc.abstractmethod
    def add(self, lead_id: str, owner_id: str, sequence: Mapping[str, Any], task_key: str,
            decision: Decision, task_id: str | None = None) -> StoredSequence:
        """Store the lead's sequence unless one is there already; answer the one stored.

        Args:
            lead_id: the lead.
            owner_id: its owner when the sequence was composed.
            sequence: the sequence's JSON form; it must carry ``play_id``, ``composer`` and ``fallback_reason``.
            task_key: the external key of the sequence's task.
            decision: the engage decision the sequence came from.
            task_id: the task's id, when it is already written.
        """

    @abc.abstractmethod
    def set_task(self, lead_id: str, task_id: str) -> None:
        """Remember the task written for the lead's sequence."""

    @abc.abstractmethod
    def all(self, since: dt.datetime | None = None) -> list[StoredSequence]:
        """Every stored sequence (from ``since`` on), oldest first."""
