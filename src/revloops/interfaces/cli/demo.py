"""`revloops demo`: the example org end to end on the embedded default (no server, no key, no network)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table

from revloops.app import Caller, Revloops
from revloops.interfaces.cli import design_tables
from revloops.interfaces.cli.common import application, console, handles_errors, operator, progress_bar
from revloops.interfaces.cli.explain_cmd import render
from revloops.interfaces.cli.route_cmds import print_preview
from revloops.interfaces.cli.territories import (
    print_assign_plan,
    print_coverage,
    print_pending,
    print_sync_plan,
)

DEFAULT_EXAMPLE = Path("examples/acme/config")
Section = Callable[[Revloops, Caller, Path], None]


@handles_errors
def demo(
    config: Annotated[Path, typer.Option("--config", help="The example org's config directory.")] = DEFAULT_EXAMPLE,
    state: Annotated[Path, typer.Option("--state", help="A fresh state folder for the demo.")] = Path(".revloops/demo"),
    leads: Annotated[int, typer.Option(help="Seeded leads.")] = 2000,
    accounts: Annotated[int, typer.Option(help="Seeded accounts.")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Seed the example org into fresh local state, validate its config, and run every loop that works."""
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    app = application(config, f"sqlite:///{state / 'state.sqlite'}", crm="local", state_dir=state)
    me = operator()
    console.print(Rule("[bold]Revenue Loops demo · Acme[/]"))
    info = app.validate_config(me)
    console.print(Panel(
        "\n".join(f"✓ {f.file} ({f.loop}, {f.items} items)" for f in info.files),
        title=f"config valid · version {info.version[:24]}", expand=False,
    ))
    with progress_bar() as bar:
        task = bar.add_task("seeding", total=None)
        counts = app.seed_org(me, users=20, accounts=accounts, leads=leads, seed=seed,
                              progress=lambda done, total: bar.update(task, completed=done, total=total)).created
    console.print("seeded: " + ", ".join(f"{n} {obj}" for obj, n in counts.items()))
    for section in demo_sections():
        console.print(Rule(section.__doc__ or section.__name__))
        section(app, me, state)
    console.print(Rule("[bold green]demo done[/]"))


def design_section(app: Revloops, me: Caller, state: Path) -> None:
    """Design: the three scenarios side by side, and the capacity chart"""
    results = app.design_overview(me, chart=state / "design_capacity.png")
    runs = [r.run for r in results]
    console.print(design_tables.scenarios_table(runs))
    for other in runs[1:]:
        console.print(design_tables.comparison_table(app.compare_scenarios(me, runs[0].scenario,
                                                                           other.scenario).comparison))
    console.print(f"capacity chart: {results[0].chart}")


def route_section(app: Revloops, me: Caller, state: Path) -> None:
    """Route: every seeded lead through the batch path (a preview: nothing written)"""
    from revloops.app.models import RecordSource

    print_preview(app.preview_routing(me, RecordSource(sobject="Lead", from_crm=True)), top=10)


def chain_section(app: Revloops, me: Caller, state: Path, count: int = 200) -> None:
    """Generate → Qualify → Route → Engage: seeded leads through the durable chain"""
    with progress_bar() as bar:
        task = bar.add_task("chain", total=count)
        run = app.run_chain(me, count, progress=lambda done, total: bar.update(task, completed=done, total=total))
    speed = run.speed
    console.print(f"{len(run.leads)} leads through the chain · speed to owner: p50 {speed.p50:.2f} s, "
                  f"p90 {speed.p90:.2f} s, max {speed.max:.2f} s")
    table = Table("qualification", "leads", "route rule", "leads", "engage play", "leads")
    columns = [list(run.outcomes[loop].items())[:8] for loop in ("qualify", "route", "engage")]
    for i in range(max(len(col) for col in columns)):
        cells: list[str] = []
        for col in columns:
            name, n = col[i] if i < len(col) else ("", "")
            cells += [str(name), str(n)]
        table.add_row(*cells)
    console.print(table)
    sample = next((lid for lid in run.leads if any(d.loop == "engage" for d in run.stories[lid])), run.leads[0])
    console.print(f"[bold]the whole story of lead {sample}[/] (revloops explain {sample}):")
    for decision in reversed(run.stories[sample]):
        render(decision)


def deploy_section(app: Revloops, me: Caller, state: Path) -> None:
    """Deploy: the territory hierarchy synced into the CRM, accounts assigned, coverage and the review queue"""
    print_sync_plan(app.sync_territories(me, dry_run=True), limit=8)
    applied = app.sync_territories(me, dry_run=False).applied
    console.print(f"applied {sum(r.success for r in applied.results) if applied else 0} records; a second plan:")
    print_sync_plan(app.sync_territories(me, dry_run=True))
    app.add_demo_accounts(me)
    print_assign_plan(app.assign_territories(me, dry_run=False), limit=5)
    print_coverage(app.territory_coverage(me))
    print_pending(app.pending_territories(me))


def demo_sections() -> list[Section]:
    """The loops' demo sections, in chain order; each loop adds its own as it lands."""
    return [design_section, deploy_section, route_section, chain_section]
