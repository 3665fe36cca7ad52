"""`revloops demo`: the example org end to end on the embedded default (no server, no key, no network)."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.rule import Rule

from revloops.bootstrap import Platform, build
from revloops.interfaces.cli.common import console, handles_errors
from revloops.ports.crm import Query

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
    """Route: every seeded lead through the batch path (a preview: nothing written)"""
    from revloops.interfaces.cli.route_cmds import print_preview
    from revloops.loops.route.flow import preview

    print_preview(preview(plat, list(plat.crm.query_all(Query("Lead")))), top=10)


def chain_section(plat: Platform, state: Path, count: int = 200) -> None:
    """Generate → Qualify → Route → Engage: seeded leads through the durable chain"""
    from rich.table import Table

    from revloops.chains.inbound import dispatch_pending
    from revloops.chains.run import deliver_created, wait_done
    from revloops.engine import setup
    from revloops.interfaces.cli.crm_cmds import progress_bar
    from revloops.interfaces.cli.explain_cmd import render
    from revloops.loops.route.metrics import speed_to_owner

    lead_ids = [lead.Id or "" for lead in plat.crm.query_all(Query("Lead", order_by=(("Id", False),)))][:count]
    deliver_created(plat, lead_ids)
    setup.launch(plat)
    try:
        dispatch_pending(plat)
        with progress_bar() as bar:
            task = bar.add_task("chain", total=len(lead_ids))
            wait_done(plat, lead_ids, progress=lambda done, total: bar.update(task, completed=done))
    finally:
        setup.shutdown()
    arrivals = {e.event.record_id: e.received_at for e in plat.inbox.entries(limit=len(lead_ids) + 100)}
    story = {lid: plat.decisions.for_record(lid, limit=10) for lid in lead_ids}
    decisions = [d for ds in story.values() for d in ds]
    speed = speed_to_owner(arrivals, decisions)
    console.print(f"{len(lead_ids)} leads through the chain · speed to owner: p50 {speed.p50:.2f} s, "
                  f"p90 {speed.p90:.2f} s, max {speed.max:.2f} s")
    counts: dict[str, Counter[str]] = {loop: Counter() for loop in ("qualify", "route", "engage")}
    for d in decisions:
        if d.loop in counts:
            counts[d.loop][d.outcome if d.loop != "route" else str(d.detail.get("rule_id"))] += 1
    table = Table("qualification", "leads", "route rule", "leads", "engage play", "leads")
    columns = [c.most_common(8) for c in counts.values()]
    for i in range(max(len(col) for col in columns)):
        cells: list[str] = []
        for col in columns:
            name, n = col[i] if i < len(col) else ("", "")
            cells += [str(name), str(n)]
        table.add_row(*cells)
    console.print(table)
    sample = next((lid for lid in lead_ids if any(d.loop == "engage" for d in story[lid])), lead_ids[0])
    console.print(f"[bold]the whole story of lead {sample}[/] (revloops explain {sample}):")
    for decision in reversed(story[sample]):
        render(decision)


def deploy_section(plat: Platform, state: Path) -> None:
    """Deploy: the territory hierarchy synced into the CRM, accounts assigned, coverage and the review queue"""
    from revloops.interfaces.cli.territories import (
        print_assign_plan,
        print_coverage,
        print_pending,
        print_sync_plan,
    )
    from revloops.loops.deploy import flow

    print_sync_plan(flow.plan_sync(plat.config, plat.crm, plat.decisions), limit=8)
    applied = flow.apply_sync(plat.config, plat.crm, plat.decisions, actor="demo")
    console.print(f"applied {sum(r.success for r in applied.results)} records; a second plan:")
    print_sync_plan(flow.plan_sync(plat.config, plat.crm, plat.decisions))
    flow.add_awkward_accounts(plat.crm)
    plan = flow.plan_assignments(plat.config, plat.crm, flow.make_resolver(plat.llm))
    print_assign_plan(plan, limit=5)
    flow.apply_assignments(plan, plat.crm, plat.decisions, config_version=plat.config.version, actor="demo")
    print_coverage(flow.territory_coverage(plat.config, plat.crm))
    print_pending(flow.pending(plat.crm))


def demo_sections() -> list[Callable[[Platform, Path], None]]:
    """The loops' demo sections, in chain order; each loop adds its own as it lands."""
    return [design_section, deploy_section, route_section, chain_section]
