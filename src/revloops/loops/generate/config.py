"""Generate's config: ``config/generate/targets.yaml``, the outbound target accounts, the scan cadence and the
signal types the scanner looks for."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field, model_validator

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, ConfigFileSpec, GtmConfig
from revloops.core.model import ConfigModel


class Scan(ConfigModel):
    """The signal scanner's cadence: one target per tick, every ``every_minutes``."""

    every_minutes: int = Field(default=5, ge=1, le=1440)
    per_tick: int = Field(default=1, ge=1, le=100)
    max_searches: int = Field(default=3, ge=1, le=10, description="web searches per scanned account")
    budget_usd_per_day: float = Field(default=5.0, ge=0)


class SignalType(ConfigModel):
    """A kind of signal worth acting on, with how strong it is by default (0-1)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=60)
    label: str = Field(min_length=1)
    strength: float = Field(ge=0, le=1)
    look_for: str = Field(min_length=1, description="what the scanner asks the web about")


class Target(ConfigModel):
    """One outbound target account."""

    name: str = Field(min_length=1)
    domain: str = Field(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")
    territory: str | None = None
    priority: int = Field(default=3, ge=1, le=5)
    signals: list[str] = Field(default_factory=list, description="signal type ids; empty: all")


class TargetsFile(ConfigModel):
    """``config/generate/targets.yaml``."""

    version: int = 1
    scan: Scan = Field(default_factory=Scan)
    signal_types: list[SignalType] = Field(min_length=1)
    targets: list[Target] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> TargetsFile:
        ids = [s.id for s in self.signal_types]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate signal type ids: {sorted({i for i in ids if ids.count(i) > 1})}")
        domains = [t.domain for t in self.targets]
        if len(set(domains)) != len(domains):
            raise ValueError(f"a domain is targeted twice: {sorted({d for d in domains if domains.count(d) > 1})}")
        return self


def check_targets(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A target naming an unknown signal type or a territory that does not exist."""
    targets = cfg.get("targets")
    if targets is None:
        return
    kinds = {s.id for s in targets.signal_types}
    tree = cfg.get("territories")
    territories = {t.developer_name for t in tree.territories} if tree is not None else None
    for i, target in enumerate(targets.targets):
        for j, sig in enumerate(target.signals):
            if sig not in kinds:
                yield ConfigIssue("targets", ("targets", i, "signals", j), f"unknown signal type {sig!r}")
        if target.territory and territories is not None and target.territory not in territories:
            yield ConfigIssue("targets", ("targets", i, "territory"),
                              f"territory {target.territory!r} is not in design/territories.yaml")


FILES = [ConfigFileSpec("targets", "generate/targets.yaml", TargetsFile, loop="generate")]
CHECKS: list[Check] = [check_targets]
