"""Design's config files: the territory hierarchy, roles, the capacity config and the scenarios.

Checks that only need one item sit on that item (so the error lands on its line); checks that span items
or files are in ``checks.py``; inheritance between scenarios is applied in ``inherit.py``.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from revloops.core.model import ConfigModel

if TYPE_CHECKING:
    from revloops.config.loader import ConfigFileSpec, GtmConfig

MAX_TERRITORIES = 1000  # Salesforce's default limit of territories per model
_DEV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _developer_name(value: str) -> str:
    """Salesforce DeveloperName rules: letters, digits, underscores; a letter first; no ``__``; no ``_`` last."""
    if len(value) > 80:
        raise ValueError(f"developer name {value!r} is longer than 80 characters")
    if not _DEV_NAME.match(value) or "__" in value or value.endswith("_"):
        raise ValueError(
            f"developer name {value!r} must begin with a letter and use only letters, digits and single "
            "underscores, not ending with an underscore"
        )
    return value


def _ident(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(f"{value!r} must be lower_snake_case (a letter, then letters, digits, underscores)")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email-shaped Salesforce Username")
    return value


DeveloperName = Annotated[str, AfterValidator(_developer_name)]
Ident = Annotated[str, AfterValidator(_ident)]
Username = Annotated[str, AfterValidator(_email)]


# territories.yaml -----------------------------------------------------------------------------------------

class TerritoryModelInfo(ConfigModel):
    """The Territory2Model the hierarchy belongs to."""

    developer_name: DeveloperName
    name: str
    state: Literal["Planning", "Active", "Archived"] = "Planning"


class TerritoryType(ConfigModel):
    """A Territory2Type: every territory has one; priority breaks ties between overlapping territories."""

    developer_name: DeveloperName
    label: str
    priority: int = Field(ge=0)


class Territory(ConfigModel):
    """One node of the hierarchy; the single root omits ``parent``."""

    developer_name: DeveloperName
    name: str
    type: str
    parent: str | None = None
    account_access: Literal["Read", "Edit", "All"] = "Read"
    opportunity_access: Literal["None", "Read", "Edit"] = "None"
    description: str = ""


class TerritoriesFile(ConfigModel):
    """``design/territories.yaml``: the strategic territory hierarchy that Deploy materialises."""

    model: TerritoryModelInfo
    types: list[TerritoryType] = Field(min_length=1)
    territories: list[Territory] = Field(min_length=1, max_length=MAX_TERRITORIES)

    def parents(self) -> dict[str, str | None]:
        """Parent developer name by territory developer name."""
        return {t.developer_name: t.parent for t in self.territories}

    def ancestors(self, name: str) -> list[str]:
        """``name`` and its ancestors up to the root, nearest first (stops on a cycle)."""
        parents, out = self.parents(), []
        current: str | None = name
        while current is not None and current not in out:
            out.append(current)
            current = parents.get(current)
        return out


# roles.yaml -----------------------------------------------------------------------------------------------

class Role(ConfigModel):
    """A role in territory (RoleInTerritory2): AE, SDR, SE, CSM, Manager."""

    name: str = Field(min_length=1, max_length=80)
    description: str = ""


class RolesFile(ConfigModel):
    """``design/roles.yaml``."""

    roles: list[Role] = Field(min_length=1)

    def names(self) -> set[str]:
        return {r.name for r in self.roles}


# capacity_config.yaml -------------------------------------------------------------------------------------

class EmployeeRange(ConfigModel):
    """Inclusive bounds on NumberOfEmployees; ``max`` omitted means no upper bound."""

    min: int = Field(default=0, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> EmployeeRange:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"employees.max ({self.max}) is below employees.min ({self.min})")
        return self

    def contains(self, employees: int) -> bool:
        return employees >= self.min and (self.max is None or employees <= self.max)


class Segment(ConfigModel):
    """A market segment; a record falls in the first segment (in file order) whose range holds it."""

    id: Ident
    label: str
    employees: EmployeeRange = EmployeeRange()


class Motion(ConfigModel):
    """A motion archetype (inbound AE, outbound AE, SDR, expansion AM) and the role that runs it."""

    id: Ident
    label: str
    role: str


class CapacityConfig(ConfigModel):
    """``design/capacity_config.yaml``: which scenario is live, the fiscal calendar, segments and motions."""

    active_scenario: str = Field(min_length=1)
    fiscal_year_start: int = Field(default=1, ge=1, le=12, description="month the fiscal year starts (1-12)")
    segments: list[Segment] = Field(min_length=1)
    motions: list[Motion] = Field(min_length=1)

    def segment_ids(self) -> list[str]:
        return [s.id for s in self.segments]

    def motion(self, motion_id: str) -> Motion | None:
        return next((m for m in self.motions if m.id == motion_id), None)


# scenarios/{id}.yaml --------------------------------------------------------------------------------------

class RosterEntry(ConfigModel):
    """A named rep (``kind: rep``, with a Salesforce Username) or a to-be-hired seat (``kind: seat``).

    ``seat`` names a headcount slot: entries sharing a slot (a leaver and the backfill) must not overlap.
    ``manager`` is another roster entry's ``id``.
    """

    id: Ident
    kind: Literal["rep", "seat"] = "rep"
    user: Username | None = None
    name: str | None = None
    role: str
    motion: str | None = None
    segment: str | None = None
    territory: str
    manager: str | None = None
    seat: str | None = None
    start: date
    end: date | None = None

    @model_validator(mode="after")
    def _shape(self) -> RosterEntry:
        if self.kind == "rep" and (not self.user or not self.name):
            raise ValueError(f"roster entry {self.id!r} is a named rep: it needs user and name")
        if self.kind == "seat" and self.user:
            raise ValueError(f"roster entry {self.id!r} is a to-be-hired seat: it cannot name a user")
        if self.end is not None and self.end < self.start:
            raise ValueError(f"roster entry {self.id!r} ends ({self.end}) before it starts ({self.start})")
        return self


class RampCurve(ConfigModel):
    """Productivity (fraction of full) by month of tenure; the last value holds after the curve ends."""

    allow_above_full: bool = Field(default=False, description="say so to let a month exceed 100%")
    months: list[float] = Field(min_length=1)

    @field_validator("months")
    @classmethod
    def _shape(cls, value: list[float], info: ValidationInfo) -> list[float]:
        for i, v in enumerate(value):
            if v < 0 or not math.isfinite(v):
                raise ValueError(f"month {i + 1} is {v}: a ramp value must be a finite number >= 0")
            if i and v < value[i - 1]:
                raise ValueError(
                    f"ramp curve is not monotone: month {i + 1} ({v:g}) is below month {i} ({value[i - 1]:g})"
                )
        if max(value) > 1.0 and not info.data.get("allow_above_full", False):
            raise ValueError(
                f"ramp curve exceeds 100% ({max(value):g}); set allow_above_full: true if that is intended"
            )
        return value


class Productivity(ConfigModel):
    """Full-ramp monthly bookings for a (motion, segment, territory); ``*`` matches any segment/territory.

    A territory entry also covers its descendants; the nearest territory, then the exact segment, wins.
    ``quarterly`` overrides ``monthly`` in the named fiscal quarters.
    """

    motion: str
    segment: str = "*"
    territory: str = "*"
    monthly: float = Field(ge=0)
    quarterly: dict[Literal["Q1", "Q2", "Q3", "Q4"], float] = Field(default_factory=dict)

    @field_validator("quarterly")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if v < 0]
        if bad:
            raise ValueError(f"quarterly productivity must be >= 0 (see {', '.join(bad)})")
        return value

    def key(self) -> tuple[str, str, str]:
        return (self.motion, self.segment, self.territory)

    def in_quarter(self, quarter: int) -> float:
        """Monthly bookings in fiscal quarter ``quarter`` (0-3)."""
        return self.quarterly.get(f"Q{quarter + 1}", self.monthly)  # type: ignore[call-overload,no-any-return]


def _sums_to_annual(value: dict[str, float] | list[float], info: ValidationInfo, what: str) -> None:
    annual = info.data.get("annual_bookings")
    parts = list(value.values()) if isinstance(value, dict) else list(value)
    if annual is None or not parts:
        return
    total = sum(parts)
    if not math.isclose(total, annual, rel_tol=1e-9, abs_tol=0.5):
        raise ValueError(
            f"{what} sums to {total:,.0f} but annual_bookings is {annual:,.0f} (off by {total - annual:+,.0f})"
        )


class Targets(ConfigModel):
    """Annual bookings target, its quarterly phasing and its split by segment and by territory.

    Every split that is given must sum to ``annual_bookings``. Later years of a multi-year horizon grow by
    ``annual_growth``.
    """

    annual_bookings: float = Field(gt=0)
    quarterly: list[float] = Field(default_factory=list, description="four amounts, Q1..Q4")
    by_segment: dict[str, float] = Field(default_factory=dict)
    by_territory: dict[str, float] = Field(default_factory=dict)
    annual_growth: float = Field(default=0.0, gt=-1.0)

    @field_validator("quarterly")
    @classmethod
    def _phasing(cls, value: list[float], info: ValidationInfo) -> list[float]:
        if value and len(value) != 4:
            raise ValueError(f"quarterly needs four amounts (Q1..Q4), got {len(value)}")
        if any(v < 0 for v in value):
            raise ValueError("quarterly amounts must be >= 0")
        _sums_to_annual(value, info, "quarterly")
        return value

    @field_validator("by_segment", "by_territory")
    @classmethod
    def _split(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        if any(v < 0 for v in value.values()):
            raise ValueError(f"{info.field_name} amounts must be >= 0")
        _sums_to_annual(value, info, info.field_name or "split")
        return value

    def phasing(self) -> list[float]:
        """Share of the annual target in each fiscal quarter."""
        if not self.quarterly:
            return [0.25] * 4
        return [q / self.annual_bookings for q in self.quarterly]


class Assumptions(ConfigModel):
    """Attrition (annual rate by role), hiring lag and productivity variance (coefficient of variation)."""

    annual_attrition: dict[str, float] = Field(default_factory=dict, description="by role, 0 <= rate < 1")
    default_attrition: float = Field(default=0.0, ge=0.0, lt=1.0)
    hiring_lag_months: int = Field(default=3, ge=0, le=24)
    productivity_cv: dict[str, float] = Field(default_factory=dict, description="by motion, >= 0")
    default_cv: float = Field(default=0.25, ge=0.0, le=3.0)

    @field_validator("annual_attrition")
    @classmethod
    def _rates(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [f"{k}={v}" for k, v in value.items() if not 0.0 <= v < 1.0]
        if bad:
            raise ValueError(f"attrition rates must be in [0, 1): {', '.join(bad)}")
        return value

    @field_validator("productivity_cv")
    @classmethod
    def _cvs(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [f"{k}={v}" for k, v in value.items() if not 0.0 <= v <= 3.0]
        if bad:
            raise ValueError(f"coefficients of variation must be in [0, 3]: {', '.join(bad)}")
        return value

    def attrition(self, role: str) -> float:
        return self.annual_attrition.get(role, self.default_attrition)

    def cv(self, motion: str | None) -> float:
        return self.productivity_cv.get(motion or "", self.default_cv)


class ScenarioFile(ConfigModel):
    """``design/scenarios/{id}.yaml``: a complete plan, or (with ``extends``) the parts that differ.

    Inheritance: ``roster`` entries replace the parent's entry of the same id or are added; ``remove`` drops
    entries by id and ``remove_seats`` drops every inherited seat; ``ramp_curves`` merge by motion;
    ``productivity`` merges by (motion, segment, territory); ``targets`` replaces the parent's whole;
    ``assumptions`` override field by field (maps merge by key).
    """

    name: str = ""
    description: str = ""
    extends: str | None = None
    fiscal_year: int | None = Field(default=None, ge=1990, le=2200, description="calendar year it starts in")
    months: int | None = Field(default=None, ge=1, le=120)
    roster: list[RosterEntry] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
    remove_seats: bool = False
    ramp_curves: dict[str, RampCurve] = Field(default_factory=dict)
    productivity: list[Productivity] = Field(default_factory=list)
    targets: Targets | None = None
    assumptions: Assumptions | None = None


# what other loops read ------------------------------------------------------------------------------------

def active_roster(cfg: GtmConfig) -> list[RosterEntry]:
    """The named reps of the active scenario (inheritance applied), one entry per Username, first kept.

    Returns an empty list when the config has no design files.
    """
    from revloops.loops.design.inherit import resolve_scenario

    capacity = cfg.get("capacity")
    if capacity is None:
        return []
    scenario = resolve_scenario(cfg, capacity.active_scenario)
    seen: set[str] = set()
    out: list[RosterEntry] = []
    for entry in scenario.roster:
        if entry.kind == "rep" and entry.user and entry.user not in seen:
            seen.add(entry.user)
            out.append(entry)
    return out


def active_roster_usernames(cfg: GtmConfig) -> set[str] | None:
    """Salesforce Usernames of the active scenario's named reps; None when there is no design config."""
    if cfg.get("capacity") is None:
        return None
    return {e.user for e in active_roster(cfg) if e.user}


def _file_specs() -> list[ConfigFileSpec]:
    from revloops.config.loader import ConfigFileSpec

    return [
        ConfigFileSpec("capacity", "design/capacity_config.yaml", CapacityConfig, loop="design"),
        ConfigFileSpec("scenarios", "design/scenarios/*.yaml", ScenarioFile, loop="design"),
        ConfigFileSpec("territories", "design/territories.yaml", TerritoriesFile, loop="design"),
        ConfigFileSpec("roles", "design/roles.yaml", RolesFile, loop="design"),
    ]


FILES = _file_specs()
