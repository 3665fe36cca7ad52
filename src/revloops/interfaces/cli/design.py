"""``revloops design``: run, compare, promote and validate capacity scenarios."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from revloops.config.loader import GtmConfig, load_config
from revloops.core.errors import RevloopsError
from revloops.loops.design import flow, render

app = typer.Typer(help="Design: the capacity model and its scenarios (run, compare, promote, validate).",
                  no_args_is_help=True)

T = TypeVar("T")

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="Config directory (default $REVLOOPS_CONFIG, else ./config).", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
DrawsOpt = Annotated[int, typer.Option("--draws", help="Monte Carlo draws.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Monte Carlo seed (same seed, same figures).")]


def _root(config: Path | None) -> Path:
    return config or Path(os.environ.get("REVLOOPS_CONFIG") or "config")


def _guard(action: Callable[[], T]) -> T:
    """Run a command body; our errors become a red message on stderr and exit code 1."""
    try:
        return action()
    except RevloopsError as err:
        Console(stderr=True).print(f"[red]{escape(str(err))}[/red]")
        raise typer.Exit(1) from None


def _load(config: Path | None) -> GtmConfig:
    return load_config(_root(config))


def _emit(value: BaseModel | list[Any] | dict[str, Any]) -> None:
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@app.command()
def run(
    scenario: Annotated[str | None, typer.Argument(help="Scenario id (default: the active scenario).")] = None,
    chart: Annotated[Path | None, typer.Option("--chart", help="Write capacity vs target by month "
                                                               "(.png, .svg or .html).")] = None,
    draws: DrawsOpt = flow.DEFAULT_DRAWS,
    seed: SeedOpt = flow.DEFAULT_SEED,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Capacity against target by quarter, segment, territory and motion; hiring gap; P10/P50/P90."""

    def body() -> None:
        result = flow.run_scenario(_load(config), scenario, draws=draws, seed=seed)
        written = render.write_chart([result], chart) if chart else None
        if as_json:
            _emit({**result.model_dump(mode="json"), "chart": str(written) if written else None})
            return
        console = Console()
        for table in render.run_tables(result):
            console.print(table)
        if written:
            console.print(f"chart: {written}")

    _guard(body)


@app.command()
def compare(
    a: Annotated[str, typer.Argument(help="First scenario id.")],
    b: Annotated[str, typer.Argument(help="Second scenario id.")],
    chart: Annotated[Path | None, typer.Option("--chart", help="Write both against the target.")] = None,
    draws: DrawsOpt = flow.DEFAULT_DRAWS,
    seed: SeedOpt = flow.DEFAULT_SEED,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Two scenarios side by side, with B minus A on every figure."""

    def body() -> None:
        result = flow.compare_scenarios(_load(config), a, b, draws=draws, seed=seed)
        written = render.write_chart(result.runs, chart) if chart else None
        if as_json:
            _emit({"a": result.a, "b": result.b, "rows": [r.model_dump(mode="json") for r in result.rows],
                   "chart": str(written) if written else None})
            return
        Console().print(render.comparison_table(result))
        if written:
            Console().print(f"chart: {written}")

    _guard(body)


@app.command()
def promote(
    scenario: Annotated[str, typer.Argument(help="Scenario id to make active.")],
    commit: Annotated[bool, typer.Option("--commit", help="Commit the change to capacity_config.yaml.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff, change nothing.")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a scenario active: rewrites only the active_scenario line (and commits it with --commit)."""

    def body() -> None:
        result = flow.promote_scenario(_root(config), scenario, commit=commit, dry_run=dry_run)
        if as_json:
            _emit(result)
            return
        console = Console()
        if not result.changed:
            console.print(f"{result.active} is already the active scenario")
            return
        console.print(escape(result.diff), highlight=False)
        verb = "would promote" if result.dry_run else "promoted"
        suffix = f" (commit {result.commit[:12]})" if result.commit else ""
        console.print(f"{verb} {result.active} (was {result.previous}){suffix}")

    _guard(body)


@app.command()
def explain(
    scenario: Annotated[str | None, typer.Argument(help="Scenario id (default: the active scenario).")] = None,
    period: Annotated[str | None, typer.Option("--period", help="2026-05, FY2026-Q2 or FY2026.")] = None,
    segment: Annotated[str | None, typer.Option("--segment")] = None,
    territory: Annotated[str | None, typer.Option("--territory")] = None,
    motion: Annotated[str | None, typer.Option("--motion")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which reps, ramp months and assumptions make a capacity figure."""

    def body() -> None:
        result = flow.explain_figure(_load(config), scenario, period=period, segment=segment,
                                     territory=territory, motion=motion)
        if as_json:
            _emit(result)
        else:
            Console().print(render.explanation_table(result))

    _guard(body)


@app.command()
def validate(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Check the design config (and every scenario's merged plan); errors name file:line."""

    def body() -> None:
        cfg = _load(config)
        scenarios = flow.list_scenarios(cfg)
        for s in scenarios:
            flow.load_plan(cfg, s.id)
        if as_json:
            _emit({"ok": True, "version": cfg.version, "scenarios": [s.model_dump() for s in scenarios]})
            return
        active = next((s.id for s in scenarios if s.active), "-")
        Console().print(f"[green]design config is valid[/green]: {len(scenarios)} scenario(s), active {active}")

    _guard(body)
