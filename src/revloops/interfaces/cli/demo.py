"""`revloops demo`: the example org end to end on the embedded default (no server, no key, no network)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.rule import Rule

from revloops.bootstrap import Platform, build
from revloops.ports.crm import Query
from revloops.interfaces.cli.common import console, handles_errors

DEFAULT_EXAMPLE = Path("examples/acme/config")


@handles_errors
def demo(
    config: Annotated[Path, typer.Option("--config", help="The example org's config directory.")] = DEFAULT_EXAMPLE,
    state: Annotated[Path, typer.Option("--state", help="A fresh state folder for the demo.")] = Path(".revloops/demo"),
    leads: Annotated[int, typer.Option(help="Seeded leads.")] = 2000,
    accounts: Annotated[int, typer.Option(help="Seeded accounts.")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Seed the example org into fresh local state, validate its config, and run every loop that works."""
    from revloops.interfaces.cli.config_cmds import summary
    from revloops.interfaces.cli.crm_cmds import seed_org

    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    plat = build(config=config, db=f"sqlite:///{state / 'state.sqlite'}", crm="local", state_dir=state)
    console.print(Rule("[bold]Revenue Loops demo · Acme[/]"))
    cfg = plat.config
    info = summary(cfg)
    console.print(Panel(
        "\n".join(f"✓ {f['file']} ({f['loop']}, {f['items']} items)" for f in info["files"]),
        title=f"config valid · version {cfg.version[:24]}", expand=False,
    ))
    counts = seed_org(plat, users=20, accounts=accounts, leads=leads, seed=seed)
    console.print("seeded: " + ", ".join(f"{n} {obj}" for obj, n in counts.items()))
    for section in demo_sections():
        console.print(Rule(section.__doc__ or section.__name__))
        section(plat, state)
    console.print(Rule("[bold green]demo done[/]"))


def design_section(plat: Platform, state: Path) -> None:
    """Design: the three scenarios side by side, and the capacity chart"""
    from revloops.loops.design.flow import render_demo

    render_demo(plat.config, console, state)


def route_section(plat: Platform, state: Path) -> None:
    """Route: every seeded lead through the batch path, then one lead routed live and explained"""
    from revloops.interfaces.cli.explain_cmd import render
    from revloops.interfaces.cli.route_cmds import print_preview
    from revloops.loops.route.flow import preview, resolve

    leads = list(plat.crm.query_all(Query("Lead")))
    print_preview(preview(plat, leads), top=12)
    sample = next((lead for lead in leads if getattr(lead, "Country", None) and getattr(lead, "NumberOfEmployees", 0)),
                  leads[0])
    render(resolve(plat, record_id=sample.Id, apply=True, actor="demo"))


def demo_sections() -> list[Callable[[Platform, Path], None]]:
    """The loops' demo sections, in chain order; each loop adds its own as it lands."""
    return [design_section, route_section]
