"""Coach's config: ``config/coach/metrics.yaml``, the SLA and the per-rep metrics with their targets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from revloops.config.loader import Check, ConfigFileSpec
from revloops.core.model import ConfigModel

MetricKind = Literal["speed_to_lead", "sla_breaches", "activity", "conversion", "ramp_attainment", "win_rate"]


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


class MetricsFile(ConfigModel):
    """``config/coach/metrics.yaml``."""

    version: int = 1
    sla: Sla
    metrics: list[Metric] = Field(min_length=1)
    productivity_to_design: bool = Field(
        default=True, description="feed actual productivity per motion back to Design's scenarios")

    @model_validator(mode="after")
    def _unique(self) -> MetricsFile:
        ids = [m.id for m in self.metrics]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate metric ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        return self


FILES = [ConfigFileSpec("coach_metrics", "coach/metrics.yaml", MetricsFile, loop="coach")]
CHECKS: list[Check] = []
