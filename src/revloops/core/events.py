"""CRM events: what the loops react to, the same objects whether they came by webhook or by poller.

An event id is stable for one change, so a redelivered or re-polled event is recognised. The poller's ids
(and the ones our Salesforce flow sends) follow ``<type>:<record id>[:<discriminator>]``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, field_validator

from revloops.core.ids import is_valid_id
from revloops.core.model import Frozen

EventType = Literal[
    "lead.created", "lead.converted", "opportunity.created", "opportunity.stage_changed", "opportunity.closed_won",
    "account.changed", "task.completed", "task.reopened",
]
EVENT_TYPES: frozenset[str] = frozenset(EventType.__args__)  # type: ignore[attr-defined]
EVENT_OBJECT = {
    "lead.created": "Lead",
    "lead.converted": "Lead",
    "opportunity.created": "Opportunity",
    "opportunity.stage_changed": "Opportunity",
    "opportunity.closed_won": "Opportunity",
    "account.changed": "Account",
    "task.completed": "Task",
    "task.reopened": "Task",
}


class CrmEvent(Frozen):
    """One change in the CRM.

    Attributes:
        id: stable id of this change (the same change delivered twice has the same id).
        type: one of EVENT_TYPES (others are recorded as rejected, never acted on).
        object: the Salesforce object (Lead, Opportunity, Account).
        record_id: the record's id.
        occurred_at: when the change happened (UTC).
        record: an optional snapshot in Salesforce field names.
    """

    id: str = Field(min_length=1, max_length=255)
    type: str = Field(min_length=1, max_length=64)
    object: str = Field(min_length=1, max_length=64)
    record_id: str = Field(min_length=15, max_length=18)
    occurred_at: dt.datetime
    record: dict[str, Any] | None = None

    @field_validator("record_id")
    @classmethod
    def _salesforce_id(cls, v: str) -> str:
        if not is_valid_id(v):
            raise ValueError("not a record id (15 or 18 characters with the object's prefix)")
        return v

    def problem(self) -> str | None:
        """Why this event cannot be acted on, or None."""
        if self.type not in EVENT_TYPES:
            return f"unknown event type {self.type!r}; known: {', '.join(sorted(EVENT_TYPES))}"
        if EVENT_OBJECT[self.type] != self.object:
            return f"event type {self.type} is about {EVENT_OBJECT[self.type]}, not {self.object}"
        return None


def event_id(kind: str, record_id: str, discriminator: str | None = None) -> str:
    """The canonical id of a change."""
    return f"{kind}:{record_id}" + (f":{discriminator}" if discriminator else "")
