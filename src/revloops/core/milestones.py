"""The milestone engine, shared by deal plays (Pursue), onboarding plans (Onboard) and expand plays (Expand).

A plan is milestones, each with an owner role, an offset in business days and the milestones it comes after.
Its state is a pure function of the plan, the day it started, what was completed (and when), what was
skipped and which due dates people moved: :func:`schedule` computes it, and the loops' flows make the CRM's
tasks agree with it. The rules are the ones Salesforce Action Plans and NPSP engagement plans get wrong:

- a milestone's task exists only once everything it comes after is done (``open``); before that it is
  ``waiting`` with a projected due date, and no task;
- its due date counts from the day its last predecessor was actually completed, in the record's business
  days (weekends and public holidays of its country and region skipped);
- a predecessor that slips (its due date moved, or overdue) or is reopened moves its dependents' dates; a
  dependent whose task exists already keeps it (it is never deleted), with the new date;
- a plan's state reads only its own milestones, so completing a task of one plan never touches another.

A ``when`` on a milestone makes it conditional: evaluated on the record's context each time the plan is
reconciled (a stage change, say), false skips it (an existing task is set aside, not deleted) and true
again brings it back. A skipped milestone holds nothing up: its dependents count from their other
predecessors, or from the plan's start.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from revloops.core.calendar import add_business_days
from revloops.core.model import ConfigModel
from revloops.core.rules.conditions import Condition
from revloops.core.rules.when import parse_when, raise_problems

Status = Literal["waiting", "open", "done", "skipped"]


class Milestone(ConfigModel):
    """One task a plan creates.

    Attributes:
        id: unique within the plan.
        subject: the task's subject (``{account}``, ``{opportunity}``, ``{owner}`` may be used).
        offset_days: days after the plan's start (or, with ``after``, after the last of those was completed)
            the task is due.
        business_days: count only business days in the record's country (weekends and holidays skipped).
        owner_role: who owns it: ``owner`` (the record's owner) or a role in territory (AE, SE, CSM...).
        after: the milestones it comes after: its task is created once they are all done.
        when: a condition on the record's context (rules syntax); while false the milestone is skipped.
        outcome: for an event-defined milestone (time to value), the name of the outcome it records.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=60)
    subject: str = Field(min_length=1, max_length=255)
    offset_days: int = Field(ge=0, le=730)
    business_days: bool = True
    owner_role: str = "owner"
    after: list[str] = Field(default_factory=list, max_length=20)
    when: Any = None
    outcome: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=60)

    @field_validator("when", mode="before")
    @classmethod
    def _parse_when(cls, raw: Any) -> Condition | None:
        return parse_when(raw)


class MilestonePlan(ConfigModel):
    """A list of milestones: ids unique, every ``after`` naming a milestone of the plan, and no cycle."""

    milestones: list[Milestone] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _graph(self) -> MilestonePlan:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        index: dict[str, int] = {}
        for i, m in enumerate(self.milestones):
            if m.id in index:
                problems.append((("milestones", i, "id"), f"duplicate milestone id {m.id!r}"))
            index.setdefault(m.id, i)
        for i, m in enumerate(self.milestones):
            for j, dep in enumerate(m.after):
                if dep not in index:
                    problems.append((("milestones", i, "after", j),
                                     f"milestone {m.id!r} comes after {dep!r}, which is not a milestone of this plan"))
                elif dep == m.id:
                    problems.append((("milestones", i, "after", j), f"milestone {m.id!r} comes after itself"))
        if not problems:
            cycle = _cycle(self.milestones)
            if cycle:
                at = index[cycle[0]]
                problems.append((("milestones", at, "after"),
                                 "milestones depend on each other in a cycle: " + " → ".join([*cycle, cycle[0]])))
        if problems:
            raise_problems(problems, type(self).__name__)
        return self

    def order(self) -> list[Milestone]:
        """The milestones, each after everything it comes after (stable: listed order where free)."""
        done: set[str] = set()
        out: list[Milestone] = []
        pending = list(self.milestones)
        while pending:
            ready = [m for m in pending if set(m.after) <= done]
            for m in ready:
                out.append(m)
                done.add(m.id)
            pending = [m for m in pending if m.id not in done]
        return out


def _cycle(milestones: list[Milestone]) -> list[str]:
    """One cycle among the milestones' ``after`` edges (ids in order), or [] when there is none."""
    after = {m.id: m.after for m in milestones}
    state: dict[str, int] = {}  # 1: on the path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for dep in after.get(node, []):
            if state.get(dep) == 1:
                return path[path.index(dep):]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return []

    for m in milestones:
        if m.id not in state:
            found = visit(m.id)
            if found:
                return found
    return []


def unknown_roles(plan: MilestonePlan, roles: set[str]) -> list[tuple[int, str]]:
    """Milestones whose owner role is neither ``owner`` nor a role of ``design/roles.yaml``."""
    return [(i, m.owner_role) for i, m in enumerate(plan.milestones)
            if m.owner_role != "owner" and roles and m.owner_role not in roles]


@dataclass(frozen=True)
class Place:
    """Where a plan's business days are counted: an ISO country and optional ISO 3166-2 region."""

    country: str | None = None
    region: str | None = None

    def add(self, day: dt.date, days: int, business: bool) -> dt.date:
        """``days`` (business) days after ``day``."""
        if not business:
            return day + dt.timedelta(days=days)
        return add_business_days(day, days, self.country, self.region)


@dataclass(frozen=True)
class MilestoneState:
    """One milestone of a plan instance, as :func:`schedule` computes it.

    Attributes:
        id: the milestone.
        status: ``waiting`` (a predecessor is not done: no task yet), ``open`` (its task should exist),
            ``done``, or ``skipped`` (its condition is false).
        due: the due date (projected while waiting); None when skipped.
        completed_on: when it was completed.
        basis: what the due date counts from (``start``, or ``<milestone> done``/``<milestone> due``).
    """

    id: str
    status: Status
    due: dt.date | None
    completed_on: dt.date | None
    basis: str


def schedule(plan: MilestonePlan, start: dt.date, *, today: dt.date, place: Place = Place(),
             completed: Mapping[str, dt.date] | None = None, skipped: frozenset[str] = frozenset(),
             moved: Mapping[str, dt.date] | None = None) -> dict[str, MilestoneState]:
    """The state of every milestone of one plan instance (pure).

    Args:
        plan: the plan.
        start: the day the plan started (its trigger: conversion, close, renewal window).
        today: the current day in the record's place; an unfinished predecessor due before it has slipped,
            and its dependents count from today.
        place: where business days are counted.
        completed: milestone → the day it was completed (only this plan's).
        skipped: milestones whose condition is false.
        moved: milestone → a due date someone set on its task (a slip), used instead of the computed one.

    Returns:
        Milestone id → its state, in the plan's order.
    """
    completed = completed or {}
    moved = moved or {}
    out: dict[str, MilestoneState] = {}
    for m in plan.order():
        if m.id in skipped:
            out[m.id] = MilestoneState(m.id, "skipped", None, completed.get(m.id), "condition false")
            continue
        base, basis, ready = start, "start", True
        for dep in m.after:
            prior = out[dep]
            if prior.status == "skipped":
                continue
            if prior.status == "done" and prior.completed_on is not None:
                day, why = prior.completed_on, f"{dep} done"
            else:
                ready = False
                projected = prior.due or start
                day, why = (today, f"{dep} overdue") if projected < today else (projected, f"{dep} due")
            if basis == "start" or day > base:
                base, basis = day, why
        due = moved.get(m.id) or place.add(base, m.offset_days, m.business_days)
        status: Status = "done" if m.id in completed else ("open" if ready else "waiting")
        out[m.id] = MilestoneState(m.id, status, due, completed.get(m.id), basis if m.id not in moved else "moved")
    return out


def task_key(instance_id: str, milestone_id: str) -> str:
    """The external id of a milestone's task: one task per (plan instance, milestone), so a re-run upserts."""
    return f"plan:{instance_id}:{milestone_id}"
