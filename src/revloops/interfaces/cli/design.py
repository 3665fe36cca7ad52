"""``revloops design``: run, compare, promote and validate capacity scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from revloops.app.design import DEFAULT_DRAWS, DEFAULT_SEED
from revloops.interfaces.cli import design_tables as render
from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    application,
    emit_json,
    handles_errors,
    operator,
)

app = typer.Typer(help="Design: the capacity model and its scenarios (run, compare, promote, validate).",
                  no_args_is_help=True)

DrawsOpt = Annotated[int, typer.Option("--draws", help="Monte Carlo draws.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Monte Carlo seed (same seed, same figures).")]


@app.command()
@handles_errors
def run(
    scenario: Annotated[str | None, typer.Argument(help="Scenario id (default: the active scenario).")] = None,
    chart: Annotated[Path | None, typer.Option("--chart", help="Write capacity vs target by month "
                                                               "(.png, .svg or .html).")] = None,
    draws: DrawsOpt = DEFAULT_DRAWS,
    seed: SeedOpt = DEFAULT_SEED,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Capacity against target by quarter, segment, territory and motion; hiring gap; P10/P50/P90."""

    result = application(config, db).run_scenario(operator(), scenario, draws=draws, seed=seed, chart=chart)
    if as_json:
        emit_json({**result.run.model_dump(mode="json"), "chart": result.chart})
        return
    console = Console()
    for table in render.run_tables(result.run):
        console.print(table)
    if result.chart:
        console.print(f"chart: {result.chart}")


@app.command()
@handles_errors
def compare(
    a: Annotated[str, typer.Argument(help="First scenario id.")],
    b: Annotated[str, typer.Argument(help="Second scenario id.")],
    chart: Annotated[Path | None, typer.Option("--chart", help="Write both against the target.")] = None,
    draws: DrawsOpt = DEFAULT_DRAWS,
    seed: SeedOpt = DEFAULT_SEED,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Two scenarios side by side, with B minus A on every figure."""

    out = application(config, db).compare_scenarios(operator(), a, b, draws=draws, seed=seed, chart=chart)
    result = out.comparison
    if as_json:
        emit_json({"a": result.a, "b": result.b, "rows": [r.model_dump(mode="json") for r in result.rows],
                   "chart": out.chart})
        return
    Console().print(render.comparison_table(result))
    if out.chart:
        Console().print(f"chart: {out.chart}")


@app.command()
@handles_errors
def promote(
    scenario: Annotated[str, typer.Argument(help="Scenario id to make active.")],
    commit: Annotated[bool, typer.Option("--commit", help="Commit the change to capacity_config.yaml.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the diff, change nothing.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Make a scenario active: rewrites only the active_scenario line (and commits it with --commit)."""

    result = application(config, db).promote_scenario(operator(), scenario, dry_run=dry_run, commit=commit)
    if as_json:
        emit_json(result)
        return
    console = Console()
    if not result.changed:
        console.print(f"{result.active} is already the active scenario")
        return
    console.print(escape(result.diff), highlight=False)
    verb = "would promote" if result.dry_run else "promoted"
    suffix = f" (commit {result.commit[:12]})" if result.commit else ""
    console.print(f"{verb} {result.active} (was {result.previous}){suffix}")


@app.command()
@handles_errors
def explain(
    scenario: Annotated[str | None, typer.Argument(help="Scenario id (default: the active scenario).")] = None,
    period: Annotated[str | None, typer.Option("--period", help="2026-05, FY2026-Q2 or FY2026.")] = None,
    segment: Annotated[str | None, typer.Option("--segment")] = None,
    territory: Annotated[str | None, typer.Option("--territory")] = None,
    motion: Annotated[str | None, typer.Option("--motion")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Which reps, ramp months and assumptions make a capacity figure."""

    result = application(config, db).explain_capacity(operator(), scenario, period=period, segment=segment,
                                                       territory=territory, motion=motion)
    if as_json:
        emit_json(result)
    else:
        Console().print(render.explanation_table(result))


@app.command()
@handles_errors
def validate(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Check the design config (and every scenario's merged plan); errors name file:line."""
    result = application(config, db).validate_design(operator())
    if as_json:
        emit_json(result)
        return
    active = next((s.id for s in result.scenarios if s.active), "-")
    Console().print(f"[green]design config is valid[/green]: {len(result.scenarios)} scenario(s), active {active}")
