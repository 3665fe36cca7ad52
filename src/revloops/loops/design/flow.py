"""Design's entry points: run a scenario, compare two, promote one, explain a figure, the demo.

The CLI, the API and the MCP tools call these; the returned models are what they print or serialise.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from revloops.config.loader import GtmConfig, load_config
from revloops.core.errors import ConfigError, InputError, Location, NotFound
from revloops.loops.design import logic
from revloops.loops.design.config import CapacityConfig, ScenarioFile, TerritoriesFile
from revloops.loops.design.gap import hiring_gap
from revloops.loops.design.inherit import resolve_scenario
from revloops.loops.design.plan import FloatArray, Plan, compile_plan
from revloops.loops.design.results import (
    Comparison,
    DeltaRow,
    GroupRow,
    MonteCarloSummary,
    Percentiles,
    PromoteResult,
    ScenarioRun,
    ScenarioSummary,
)

DEFAULT_DRAWS = 1000
DEFAULT_SEED = 7


def _design(cfg: GtmConfig) -> tuple[CapacityConfig, TerritoriesFile, Mapping[str, ScenarioFile]]:
    capacity = cfg.require("capacity", CapacityConfig)
    territories = cfg.require("territories", TerritoriesFile)
    return capacity, territories, cfg.get("scenarios") or {}


def list_scenarios(cfg: GtmConfig) -> list[ScenarioSummary]:
    """Every scenario file, which one it extends, and which is active."""
    capacity, _, files = _design(cfg)
    return [ScenarioSummary(id=k, name=v.name or k, description=v.description, extends=v.extends,
                            active=k == capacity.active_scenario) for k, v in sorted(files.items())]


def load_plan(cfg: GtmConfig, scenario_id: str | None = None) -> Plan:
    """The compiled plan of a scenario (the active one by default), inheritance applied."""
    capacity, territories, _ = _design(cfg)
    scenario = resolve_scenario(cfg, scenario_id or capacity.active_scenario)
    return compile_plan(scenario, capacity, territories)


def _row(key: str, capacity: float, target: float | None) -> GroupRow:
    coverage = capacity / target if target else None
    return GroupRow(key=key, capacity=capacity, target=target, coverage=coverage)


def _monte_carlo(plan: Plan, figs: logic.Figures, draws: int, seed: int) -> MonteCarloSummary:
    sim = logic.simulate(plan, logic.make_draws(draws, plan.size, seed))
    total_target = float(figs.month_target.sum())

    def pct(values: FloatArray, target: float) -> Percentiles:
        p10, p50, p90 = logic.percentiles(values)
        return Percentiles(p10=p10, p50=p50, p90=p90, p10_attainment=p10 / target, p50_attainment=p50 / target,
                           p90_attainment=p90 / target)

    by_segment = {seg: pct(sim.by_segment[:, i], float(figs.segment_target[seg].sum()))
                  for i, seg in enumerate(sim.segments) if seg in figs.segment_target}
    return MonteCarloSummary(draws=draws, seed=seed, total=pct(sim.totals, total_target), by_segment=by_segment)


def run_plan(plan: Plan, *, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED, as_of: date | None = None,
             active: bool = False, version: str = "") -> ScenarioRun:
    """Every figure of a compiled plan (see ``run_scenario``)."""
    capacity, territories = plan.capacity, plan.hierarchy
    figs = logic.figures(plan)
    s = plan.scenario
    seg_targets = {k: float(v.sum()) for k, v in figs.segment_target.items()}
    ter_targets = {k: float(v.sum()) for k, v in figs.territory_target.items()}
    return ScenarioRun(
        scenario=s.id, name=s.name, description=s.description, chain=list(s.chain), active=active,
        config_version=version, months=figs.months,
        month_capacity=[float(v) for v in figs.month_capacity], month_target=[float(v) for v in figs.month_target],
        quarters=[_row(k, c, t) for k, c, t in zip(plan.calendar.quarter_labels(),
                                                   logic.period_sums(plan, figs.month_capacity, "quarter"),
                                                   logic.period_sums(plan, figs.month_target, "quarter"),
                                                   strict=True)],
        years=[_row(k, c, t) for k, c, t in zip(plan.calendar.year_labels(),
                                                logic.period_sums(plan, figs.month_capacity, "year"),
                                                logic.period_sums(plan, figs.month_target, "year"), strict=True)],
        segments=[_row(k, float(v.sum()), seg_targets.get(k)) for k, v in figs.by_segment.items()],
        territories=[_row(k, float(v.sum()), ter_targets.get(k)) for k, v in figs.by_territory.items()],
        motions=[_row(k, float(v.sum()), None) for k, v in figs.by_motion.items()],
        total=_row("total", float(figs.month_capacity.sum()), float(figs.month_target.sum())),
        headcount={"named reps": sum(e.kind == "rep" for e in s.roster),
                   "seats to hire": sum(e.kind == "seat" for e in s.roster),
                   "quota carriers": int(sum(plan.prod[r].max() > 0 for r in range(plan.size)))},
        hiring_gap=hiring_gap(plan, capacity, territories, figs, as_of=as_of),
        monte_carlo=_monte_carlo(plan, figs, draws, seed),
    )


def run_scenario(cfg: GtmConfig, scenario_id: str | None = None, *, draws: int = DEFAULT_DRAWS,
                 seed: int = DEFAULT_SEED, as_of: date | None = None) -> ScenarioRun:
    """Capacity against target by month, quarter, year, segment, territory and motion, the hiring gap and
    the Monte Carlo attainment of a scenario (the active one by default).

    Raises:
        NotFound: no such scenario.
        InputError: draws is not positive, or the seed is negative.
    """
    if draws < 1:
        raise InputError("draws must be at least 1", field="draws")
    if seed < 0:
        raise InputError("seed must be 0 or more", field="seed")
    plan = load_plan(cfg, scenario_id)
    capacity = cfg.require("capacity", CapacityConfig)
    return run_plan(plan, draws=draws, seed=seed, as_of=as_of, version=cfg.version,
                    active=plan.scenario.id == capacity.active_scenario)


def _delta(section: str, key: str, a: float | None, b: float | None) -> DeltaRow:
    delta = b - a if a is not None and b is not None else None
    pct = delta / a if delta is not None and a else None
    return DeltaRow(section=section, key=key, a=a, b=b, delta=delta, delta_pct=pct)


def _rows(section: str, a: list[GroupRow], b: list[GroupRow], only_targets: bool = False) -> list[DeltaRow]:
    left, right = {r.key: r for r in a}, {r.key: r for r in b}
    keys = list(left) + [k for k in right if k not in left]
    if only_targets:
        keys = [k for k in keys if (left.get(k) or right[k]).target is not None]
    return [_delta(section, k, left[k].capacity if k in left else None,
                   right[k].capacity if k in right else None) for k in keys]


def compare_runs(a: ScenarioRun, b: ScenarioRun) -> Comparison:
    """Side by side: totals and coverage, quarters, segments, targeted territories, headcount, P10/P50/P90."""
    rows = [_delta("total", "capacity", a.total.capacity, b.total.capacity),
            _delta("total", "target", a.total.target, b.total.target),
            _delta("total", "coverage", a.total.coverage, b.total.coverage)]
    rows += _rows("quarter", a.quarters, b.quarters)
    rows += _rows("segment", a.segments, b.segments)
    rows += _rows("territory", a.territories, b.territories, only_targets=True)
    rows += [_delta("headcount", k, float(a.headcount.get(k, 0)), float(b.headcount.get(k, 0)))
             for k in a.headcount]
    for name in ("p10", "p50", "p90"):
        rows.append(_delta("attainment", name.upper(), getattr(a.monte_carlo.total, f"{name}_attainment"),
                           getattr(b.monte_carlo.total, f"{name}_attainment")))
    return Comparison(a=a.scenario, b=b.scenario, rows=rows, runs=[a, b])


def compare_scenarios(cfg: GtmConfig, a: str, b: str, *, draws: int = DEFAULT_DRAWS,
                      seed: int = DEFAULT_SEED) -> Comparison:
    """Two scenarios side by side, with B minus A on every figure (same seed for both)."""
    return compare_runs(run_scenario(cfg, a, draws=draws, seed=seed), run_scenario(cfg, b, draws=draws, seed=seed))


def explain_figure(cfg: GtmConfig, scenario_id: str | None = None, *, period: str | None = None,
                   **filters: str | None) -> logic.Explanation:
    """Which entries, ramp months and assumptions make a capacity figure.

    Raises:
        InputError: an unknown filter or a period outside the horizon.
    """
    plan = load_plan(cfg, scenario_id)
    wanted = {k: v for k, v in filters.items() if v is not None}
    unknown = set(wanted) - {"segment", "territory", "motion", "role", "id"}
    if unknown:
        raise InputError(f"cannot filter on {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    try:
        return logic.explain(plan, wanted, period)
    except KeyError:
        raise InputError(f"period {period!r} is not in the horizon ({plan.calendar.month_labels()[0]} to "
                         f"{plan.calendar.month_labels()[-1]})", field="period") from None


# promote --------------------------------------------------------------------------------------------------

_ACTIVE_LINE = re.compile(r"^(active_scenario[ \t]*:[ \t]*)(['\"]?)([^'\"#\s]*)\2", re.MULTILINE)


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, timeout=30, check=False)


def _commit(path: Path, previous: str, scenario_id: str) -> str:
    message = f"design: promote scenario {scenario_id} (was {previous})"
    for args in (("add", "--", path.name), ("commit", "-q", "-m", message, "--", path.name)):
        out = _git(path.parent, *args)
        if out.returncode != 0:
            raise InputError(f"git {args[0]} failed: {(out.stderr or out.stdout).strip()}", field="commit")
    return _git(path.parent, "rev-parse", "HEAD").stdout.strip()


def promote_scenario(config_root: Path | str, scenario_id: str, *, commit: bool = False,
                     dry_run: bool = False) -> PromoteResult:
    """Make ``scenario_id`` the active scenario: rewrite only the value on the ``active_scenario`` line
    (comments, quoting and layout kept) and, with ``commit``, commit that one file.

    Raises:
        ConfigErrors: the config does not validate, before or after the change (then nothing is written).
        NotFound: no such scenario.
    """
    cfg = load_config(config_root)
    capacity, _, files = _design(cfg)
    if scenario_id not in files:
        raise NotFound(f"scenario {scenario_id!r} does not exist (scenarios: {', '.join(sorted(files))})")
    resolve_scenario(cfg, scenario_id)
    path = cfg.root / "design" / "capacity_config.yaml"
    text = path.read_text(encoding="utf-8")
    match = _ACTIVE_LINE.search(text)
    if match is None:
        raise ConfigError("no top-level active_scenario line to rewrite", Location(str(path)))
    new = text[: match.start(3)] + scenario_id + text[match.end(3):]
    diff = "".join(difflib.unified_diff(text.splitlines(True), new.splitlines(True),
                                        "a/design/capacity_config.yaml", "b/design/capacity_config.yaml"))
    result = PromoteResult(file=str(path), previous=capacity.active_scenario, active=scenario_id,
                           changed=new != text, diff=diff, dry_run=dry_run)
    if dry_run or not result.changed:
        return result
    _write_atomic(path, new)
    try:
        load_config(config_root)
    except ConfigError:
        _write_atomic(path, text)
        raise
    return result.model_copy(update={"commit": _commit(path, capacity.active_scenario, scenario_id)}) \
        if commit else result


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".capacity_config.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(tmp, path)
