"""Qualify's config file: ``config/qualify/scoring.yaml``.

Fit rules say how well the lead matches who we sell to (title level, company size, industry, country);
intent rules say how much the lead wants to buy now (lead source, signals, activity). Every rule whose
condition holds adds its points (negative points take away); the total against the thresholds decides
the band. Conditions use the rules' syntax and are parsed at load, so a bad operator is reported with its
file and line.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from revloops.core.model import ConfigModel
from revloops.core.rules.conditions import (
    Condition,
    Loc,
    leaves,
)
from revloops.core.rules.when import parse_when, raise_problems

Band = Literal["mql", "nurture", "disqualified"]


class ScoringRule(ConfigModel):
    """One scoring rule: when its condition holds, its points count, with its reason.

    Attributes:
        id: unique across fit and intent; appears in the breakdown and the trace.
        when: the condition, in the rules' syntax (``{FIELD: {OP: VALUE}}``, ``all``, ``any``, ``not``).
        points: what the rule adds (negative to take away); never 0.
        reason: the words a rep reads in the score breakdown.
    """

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=80)
    when: Any
    points: int = Field(ge=-1000, le=1000)
    reason: str = Field(min_length=1, max_length=120)

    @field_validator("when", mode="before")
    @classmethod
    def _parse_when(cls, raw: Any) -> Condition:
        cond = parse_when(raw)
        if cond is None:
            raise ValueError("a scoring rule needs a when condition")
        return cond

    @field_validator("points")
    @classmethod
    def _nonzero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("points must not be 0 (a rule that counts nothing is noise in the breakdown)")
        return value

    @property
    def condition(self) -> Condition:
        """The parsed condition."""
        return self.when  # type: ignore[no-any-return]


class Thresholds(ConfigModel):
    """Where the bands start: ``total >= mql`` is an MQL, ``total >= nurture`` is nurture, below is disqualified."""

    mql: int
    nurture: int

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.nurture >= self.mql:
            raise_problems([(("nurture",), f"nurture ({self.nurture}) must be below mql ({self.mql})")], "Thresholds", None)
        return self


class ScoringFile(ConfigModel):
    """``qualify/scoring.yaml``: fit and intent rules and the band thresholds.

    Attributes:
        version: the file format version.
        thresholds: where MQL and nurture start.
        fit: rules about who the lead is.
        intent: rules about what the lead is doing.
    """

    version: Literal[1] = 1
    thresholds: Thresholds
    fit: list[ScoringRule] = Field(default_factory=list)
    intent: list[ScoringRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> ScoringFile:
        problems: list[tuple[Loc, str]] = []
        seen: dict[str, str] = {}
        for group in ("fit", "intent"):
            for i, rule in enumerate(getattr(self, group)):
                if rule.id in seen:
                    problems.append(((group, i, "id"), f"duplicate rule id {rule.id!r} (also in {seen[rule.id]})"))
                else:
                    seen[rule.id] = f"{group}[{i}]"
        if not self.fit and not self.intent:
            problems.append(((), "scoring needs at least one fit or intent rule"))
        if problems:
            raise_problems(problems, "ScoringFile", None)
        return self

    @cached_property
    def fields(self) -> tuple[str, ...]:
        """Every context field any rule reads, in first-use order (the scoring's inputs)."""
        names = (leaf.field for rule in (*self.fit, *self.intent) for leaf in leaves(rule.condition))
        return tuple(dict.fromkeys(names))

