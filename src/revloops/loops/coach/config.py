"""Coach's config: ``config/coach/metrics.yaml``, the SLA and the per-rep metrics with their targets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, ConfigFileSpec
from revloops.core.model import ConfigModel

if TYPE_CHECKING:
    from revloops.config.loader import GtmConfig

MetricKind = Literal["speed_to_lead", "sla_breaches", "activity", "conversion", "ramp_attainment", "win_rate"]
MetricType = Literal["simple", "ratio", "cumulative", "derived"]
Unit = Literal["count", "currency", "ratio", "hours", "days"]


class Sla(ConfigModel):
    """How fast an owned lead must be touched."""

    first_touch_hours: float = Field(gt=0, le=720)
    business_hours_only: bool = True


class Metric(ConfigModel):
    """One coaching metric: what it measures, over what window, against which target.

    ``direction`` says whether higher is better (conversion) or lower is better (speed to lead).
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=60)
    kind: MetricKind
    window_days: int = Field(default=30, ge=1, le=365)
    target: float
    direction: Literal["higher_is_better", "lower_is_better"]
    roles: list[str] = Field(default_factory=lambda: ["AE", "SDR"])


class Definition(ConfigModel):
    """One metric of the registry, over a view of the warehouse (``loops/coach/views.py``).

    - ``simple``: ``measure`` (an aggregate over the view's columns: ``count(*)``, ``sum(amount)``) of the rows
      of ``view`` that ``filter`` (a condition over its columns) keeps, by ``time`` (default: the view's time
      column) in the grain asked for.
    - ``ratio``: ``numerator`` / ``denominator``, two metric ids, each aggregated first, then divided.
    - ``cumulative``: ``metric`` summed over periods, running.
    - ``derived``: ``expr``, an expression over other metric ids (``won_amount - lost_amount``).

    ``dimensions`` are the columns a caller may group or filter by (default: all the view's dimensions).
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    label: str = Field(min_length=1, max_length=80)
    type: MetricType = "simple"
    description: str = ""
    unit: Unit = "count"
    view: str | None = None
    measure: str | None = None
    filter: str | None = None
    time: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    metric: str | None = None
    expr: str | None = None
    dimensions: list[str] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Definition:
        need = {"simple": ("view", "measure"), "ratio": ("numerator", "denominator"), "cumulative": ("metric",),
                "derived": ("expr",)}[self.type]
        missing = [name for name in need if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.type} metric needs {' and '.join(missing)}")
        return self


class MetricsFile(ConfigModel):
    """``config/coach/metrics.yaml``: the SLA, the coaching metrics with targets, and the metric registry."""

    version: int = 1
    sla: Sla
    metrics: list[Metric] = Field(min_length=1)
    definitions: list[Definition] = Field(default_factory=list, description="the metric registry")
    productivity_to_design: bool = Field(
        default=True, description="feed actual productivity per motion back to Design's scenarios")

    @model_validator(mode="after")
    def _unique(self) -> MetricsFile:
        ids = [m.id for m in self.metrics]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate metric ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        defs = [d.id for d in self.definitions]
        if len(set(defs)) != len(defs):
            raise ValueError(f"duplicate definition ids: {sorted({i for i in defs if defs.count(i) > 1})}")
        return self


def check_definitions(cfg: GtmConfig) -> Iterator[ConfigIssue]:
    """Every definition of the registry compiles: its view and columns exist, its SQL parses and reads only
    its view's columns, its references name metrics of the registry, and none refers to itself."""
    from revloops.loops.coach.metrics import definition_problems

    metrics = cfg.get("coach_metrics")
    if not isinstance(metrics, MetricsFile):
        return
    for index, field, message in definition_problems(metrics.definitions):
        yield ConfigIssue("coach_metrics", ("definitions", index, field), message)


FILES = [ConfigFileSpec("coach_metrics", "coach/metrics.yaml", MetricsFile, loop="coach")]
CHECKS: list[Check] = [check_definitions]
