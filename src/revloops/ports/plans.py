"""The plan store port: milestone plan instances (a deal play, an onboarding plan, an expand play) and the
state of each of their milestones, as the milestone engine last reconciled them with the CRM's tasks."""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PlanInstance:
    """One started plan.

    Attributes:
        id: stable, derived from what started it (``pursue:<opportunity id>``), so a re-run finds it.
        loop: ``pursue``, ``onboard`` or ``expand``.
        play_id: the play or plan of the loop's config.
        sobject: what it is about (``Opportunity``).
        record_id: that record.
        account_id: the record's account.
        started_on: the day it started (its offsets count from here).
        status: ``active`` or ``closed``.
        outcome: when closed: ``won``/``lost``, cycle days, milestones on time...
        facts: what its milestones' subjects, owners and calendar need (owners by role, place, names).
        config_version: the config it started under.
        created_at: when it was stored.
    """

    id: str
    loop: str
    play_id: str
    sobject: str
    record_id: str
    account_id: str | None
    started_on: dt.date
    status: str = "active"
    outcome: Mapping[str, Any] | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    config_version: str = ""
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class StoredMilestone:
    """One milestone of a plan instance: its status, owner, due date, completion and task."""

    instance_id: str
    milestone_id: str
    status: str
    owner_id: str | None = None
    due: dt.date | None = None
    completed_on: dt.date | None = None
    task_id: str | None = None


class PlanStore(abc.ABC):
    """Plan instances keyed by id (the first start wins) and their milestones keyed by (instance, milestone)."""

    @abc.abstractmethod
    def start(self, instance: PlanInstance) -> tuple[PlanInstance, bool]:
        """Store the instance unless one with its id exists; answer the stored one and whether it is new."""

    @abc.abstractmethod
    def get(self, instance_id: str) -> PlanInstance | None:
        """One instance, or None."""

    @abc.abstractmethod
    def instances(self, *, loop: str | None = None, record_id: str | None = None,
                  account_id: str | None = None, status: str | None = None, play_id: str | None = None,
                  limit: int | None = None) -> list[PlanInstance]:
        """Instances matching every filter given, oldest first."""

    @abc.abstractmethod
    def milestones(self, instance_id: str) -> list[StoredMilestone]:
        """The instance's milestones as last stored."""

    @abc.abstractmethod
    def put_milestones(self, rows: Sequence[StoredMilestone]) -> None:
        """Store (insert or replace) milestone rows."""

    @abc.abstractmethod
    def by_task(self, task_id: str) -> StoredMilestone | None:
        """The milestone whose task this is, or None (a task no plan made)."""

    @abc.abstractmethod
    def close(self, instance_id: str, outcome: Mapping[str, Any]) -> None:
        """Mark an instance closed with its outcome."""

    @abc.abstractmethod
    def open_milestones(self, *, owner_ids: Sequence[str] | None = None, limit: int = 100, offset: int = 0,
                        due_from: dt.date | None = None, due_before: dt.date | None = None,
                        ) -> tuple[list[tuple[PlanInstance, StoredMilestone]], int]:
        """Open milestones (task created, not done) of active plans, soonest due first, with the total;
        only those owned by ``owner_ids`` when given, and due on or after ``due_from`` and before
        ``due_before`` when given."""
