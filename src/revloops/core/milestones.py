"""Milestones with staggered due dates: shared by deal plays (Pursue), onboarding plans and expand plays."""

from __future__ import annotations

from pydantic import Field, model_validator

from revloops.core.model import ConfigModel
from revloops.core.rules.when import raise_problems


class Milestone(ConfigModel):
    """One task a play creates.

    Attributes:
        id: unique within the play.
        subject: the task's subject (``{account}``, ``{opportunity}``, ``{owner}`` may be used).
        offset_days: days after the trigger the task is due.
        business_days: count only business days in the owner's country (weekends and holidays skipped).
        owner_role: who owns it: ``owner`` (the record's owner) or a role in territory (AE, SE, CSM...).
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=60)
    subject: str = Field(min_length=1, max_length=255)
    offset_days: int = Field(ge=0, le=730)
    business_days: bool = True
    owner_role: str = "owner"


class MilestonePlan(ConfigModel):
    """A list of milestones: ids unique, due dates never going back in time."""

    milestones: list[Milestone] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _ordered(self) -> MilestonePlan:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        seen: set[str] = set()
        last = -1
        for i, m in enumerate(self.milestones):
            if m.id in seen:
                problems.append((("milestones", i, "id"), f"duplicate milestone id {m.id!r}"))
            seen.add(m.id)
            if m.offset_days < last:
                problems.append((("milestones", i, "offset_days"),
                                 f"milestone {m.id!r} is due before the one listed above it (offsets must not go back)"))
            last = max(last, m.offset_days)
        if problems:
            raise_problems(problems, type(self).__name__)
        return self


def unknown_roles(plan: MilestonePlan, roles: set[str]) -> list[tuple[int, str]]:
    """Milestones whose owner role is neither ``owner`` nor a role of ``design/roles.yaml``."""
    return [(i, m.owner_role) for i, m in enumerate(plan.milestones)
            if m.owner_role != "owner" and roles and m.owner_role not in roles]
