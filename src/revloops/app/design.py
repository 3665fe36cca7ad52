"""Design's actions: the capacity scenarios listed, run, compared, explained, promoted and checked."""

from __future__ import annotations

from pathlib import Path

from revloops.app.base import AppBase
from revloops.config.loader import load_config
from revloops.core.identity import Caller
from revloops.core.model import Frozen
from revloops.loops.design import flow
from revloops.loops.design.chart import write_chart
from revloops.loops.design.logic import Explanation
from revloops.loops.design.results import Comparison, PromoteResult, ScenarioRun, ScenarioSummary

DEFAULT_DRAWS = flow.DEFAULT_DRAWS
DEFAULT_SEED = flow.DEFAULT_SEED


class ScenarioRunResult(Frozen):
    """A scenario's run, and the chart written for it (when one was asked for)."""

    run: ScenarioRun
    chart: str | None = None


class ComparisonResult(Frozen):
    """Two scenarios side by side, and the chart of both (when one was asked for)."""

    comparison: Comparison
    chart: str | None = None


class DesignCheck(Frozen):
    """The design config is valid: its version and every scenario (each one's merged plan compiles)."""

    ok: bool = True
    version: str
    scenarios: list[ScenarioSummary]


class DesignActions(AppBase):
    """Capacity planning as code."""

    def list_scenarios(self, caller: Caller) -> list[ScenarioSummary]:
        """Every scenario, which one it extends, and which is active."""
        self.require(caller, "ops")
        return flow.list_scenarios(load_config(self.settings.config))

    def run_scenario(self, caller: Caller, scenario: str | None = None, *, draws: int = DEFAULT_DRAWS,
                     seed: int = DEFAULT_SEED, chart: Path | None = None) -> ScenarioRunResult:
        """Capacity against target by month, quarter, segment, territory and motion; hiring gap; P10/P50/P90."""
        self.require(caller, "ops")
        run = flow.run_scenario(load_config(self.settings.config), scenario, draws=draws, seed=seed)
        written = write_chart([run], chart) if chart else None
        return ScenarioRunResult(run=run, chart=str(written) if written else None)

    def compare_scenarios(self, caller: Caller, a: str, b: str, *, draws: int = DEFAULT_DRAWS,
                          seed: int = DEFAULT_SEED, chart: Path | None = None) -> ComparisonResult:
        """Two scenarios side by side, with B minus A on every figure."""
        self.require(caller, "ops")
        result = flow.compare_scenarios(load_config(self.settings.config), a, b, draws=draws, seed=seed)
        written = write_chart(result.runs, chart) if chart else None
        return ComparisonResult(comparison=result, chart=str(written) if written else None)

    def explain_capacity(self, caller: Caller, scenario: str | None = None, *, period: str | None = None,
                         segment: str | None = None, territory: str | None = None,
                         motion: str | None = None) -> Explanation:
        """Which reps, ramp months and assumptions make a capacity figure."""
        self.require(caller, "ops")
        return flow.explain_figure(load_config(self.settings.config), scenario, period=period, segment=segment,
                                   territory=territory, motion=motion)

    def promote_scenario(self, caller: Caller, scenario: str, *, dry_run: bool = True,
                         commit: bool = False) -> PromoteResult:
        """Make a scenario active by rewriting only the ``active_scenario`` line (shown as a diff; written only
        without ``dry_run``; committed with ``commit``)."""
        self.require(caller, "ops")
        return flow.promote_scenario(self.settings.config, scenario, commit=commit, dry_run=dry_run)

    def validate_design(self, caller: Caller) -> DesignCheck:
        """Check the design config and that every scenario's merged plan compiles; errors name file:line."""
        self.require(caller, "ops")
        cfg = load_config(self.settings.config)
        scenarios = flow.list_scenarios(cfg)
        for s in scenarios:
            flow.load_plan(cfg, s.id)
        return DesignCheck(version=cfg.version, scenarios=scenarios)

    def design_overview(self, caller: Caller, chart: Path | None = None) -> list[ScenarioRunResult]:
        """Every scenario run, the active one first (the demo's view), with one chart of them all."""
        self.require(caller, "ops")
        cfg = load_config(self.settings.config)
        scenarios = flow.list_scenarios(cfg)
        order = [s.id for s in scenarios if s.active] + [s.id for s in scenarios if not s.active]
        runs = [flow.run_scenario(cfg, sid) for sid in order]
        written = write_chart(runs, chart) if chart else None
        return [ScenarioRunResult(run=r, chart=str(written) if written else None) for r in runs]
