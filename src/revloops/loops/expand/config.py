"""Expand's config: ``config/expand/plays.yaml``, renewal and expansion plays with their triggers, and
``config/expand/health.yaml``, the health score (its model lives in ``health.py``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from revloops.config.loader import Check, ConfigFileSpec
from revloops.core.milestones import MilestonePlan
from revloops.core.model import ConfigModel
from revloops.core.rules.conditions import Condition
from revloops.core.rules.when import parse_when
from revloops.loops.expand.health import HealthFile
from revloops.loops.pursue.config import check_roles


class Trigger(ConfigModel):
    """When a play fires: ``renewal`` (days before the contract ends), ``expansion_signal`` (an outbound signal
    of one of ``signal_types`` on a customer), ``usage`` (seat utilisation above ``seat_utilisation_above``),
    or ``health_drop`` (health below ``below``)."""

    type: Literal["renewal", "expansion_signal", "usage", "health_drop"]
    seat_utilisation_above: float | None = Field(default=None, gt=0, le=5)
    days_before: int | None = Field(default=None, ge=1, le=365)
    days_before_by_segment: dict[str, int] = Field(default_factory=dict)
    signal_types: list[str] = Field(default_factory=list)
    below: float | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _params(self) -> Trigger:
        needs = {"renewal": ("days_before", self.days_before), "health_drop": ("below", self.below),
                 "usage": ("seat_utilisation_above", self.seat_utilisation_above),
                 "expansion_signal": ("signal_types", self.signal_types or None)}
        name, value = needs[self.type]
        if value is None:
            raise ValueError(f"a {self.type} trigger needs {name}")
        if self.days_before_by_segment and self.type != "renewal":
            raise ValueError("days_before_by_segment applies to a renewal trigger only")
        for segment, days in self.days_before_by_segment.items():
            if not 1 <= days <= 365:
                raise ValueError(f"days_before_by_segment.{segment} must be 1 to 365 days, not {days}")
        return self

    def window(self, segment: str | None) -> int:
        """How many days before the contract ends a renewal play opens for a segment."""
        return self.days_before_by_segment.get(segment or "", self.days_before or 0)


class OpportunityTemplate(ConfigModel):
    """The opportunity a play opens: ``name`` may use ``{account}`` and ``{year}``."""

    type: Literal["Renewal", "Expansion", "Upsell"]
    stage: str = "Prospecting"
    name: str = Field(min_length=1)
    close_in_days: int = Field(default=90, ge=1, le=730)


class ExpandPlay(MilestonePlan):
    """A renewal or expansion play."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=60)
    trigger: Trigger
    when: Any = None
    opportunity: OpportunityTemplate

    @field_validator("when", mode="before")
    @classmethod
    def _parse_when(cls, raw: Any) -> Condition | None:
        return parse_when(raw)


class ExpandPlaysFile(ConfigModel):
    """``config/expand/plays.yaml``."""

    version: int = 1
    plays: list[ExpandPlay] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ExpandPlaysFile:
        ids = [p.id for p in self.plays]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate play ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        return self


FILES = [ConfigFileSpec("expand_plays", "expand/plays.yaml", ExpandPlaysFile, loop="expand"),
         ConfigFileSpec("health", "expand/health.yaml", HealthFile, loop="expand")]
CHECKS: list[Check] = [lambda cfg: check_roles(cfg, "expand_plays", "plays")]
