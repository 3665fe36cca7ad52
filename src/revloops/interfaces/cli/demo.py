"""`revloops demo`: the example org end to end on the embedded default (no server, no key, no network)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table

from revloops.app import Caller, Revloops
from revloops.core.events import CrmEvent, event_id
from revloops.interfaces.cli import design_tables
from revloops.interfaces.cli.common import application, console, handles_errors, operator, progress_bar
from revloops.interfaces.cli.explain_cmd import render
from revloops.interfaces.cli.generate_cmds import print_ticks
from revloops.interfaces.cli.retention_cmds import (
    print_backtest,
    print_health,
    print_health_detail,
    print_onboarding,
    print_plan,
    print_plays,
    print_renewals,
    print_triggered,
)
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
        seeded = app.seed_org(me, users=20, accounts=accounts, leads=leads, seed=seed,
                              progress=lambda done, total: bar.update(task, completed=done, total=total))
    console.print("seeded: " + ", ".join(f"{n} {obj}" for obj, n in seeded.created.items()))
    (state / "seed_as_of").write_text((seeded.as_of or dt.date.today()).isoformat())
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


def signals_section(app: Revloops, me: Caller, state: Path) -> None:
    """Outbound: one simulated day of scan ticks (288, the offline scanner, time compressed)"""
    as_of = dt.date.fromisoformat((state / "seed_as_of").read_text())
    start = dt.datetime.combine(as_of, dt.time(), dt.UTC)
    with progress_bar() as bar:
        task = bar.add_task("ticks", total=288)
        result = app.run_ticks(me, start=start, ticks=288,
                               progress=lambda done, total: bar.update(task, completed=done, total=total))
    print_ticks(result, show=8)


def retention_section(app: Revloops, me: Caller, state: Path) -> None:
    """Pursue → Onboard → Expand: converted leads get deal plays, won deals are onboarded, customers' health"""
    now = dt.datetime.now(dt.UTC)
    owned = [lead for lead in app.my_leads(me, qualification="MQL", limit=200).items
             if (lead.owner_id or "").startswith("005") and lead.status != "Closed - Converted"]  # not yet converted
    conversions = [app.convert_lead(me, lead.id, amount=amount)
                   for lead, amount in zip(owned, (180_000, 60_000, 24_000, 95_000), strict=False)]
    console.print(f"converted {len(conversions)} routed MQLs; their lead.converted events run on the engine:")
    app.run_events(me, [CrmEvent(id=event_id("lead.converted", c.lead_id), type="lead.converted", object="Lead",
                                 record_id=c.lead_id, occurred_at=now,
                                 record={"ConvertedOpportunityId": c.opportunity_id}) for c in conversions])
    plans = [p for c in conversions for p in app.plans_for(me, c.opportunity_id)]
    for plan in plans:
        console.print(f"  {plan.record_id}: deal play [bold]{plan.play_id}[/] ({plan.explanation})")
    if not plans:
        return
    print_plan(plans[0])
    first = next((m for m in plans[0].milestones if m.status == "open" and m.task_id), None)
    if first is not None and first.task_id:
        console.print(f"the rep completes [bold]{first.subject}[/]: what came after it gets its task, "
                      "due counted from today")
        print_plan(app.complete_task(me, first.task_id))
    won = conversions[:2]
    for c in won:
        app.set_stage(me, c.opportunity_id, "Closed Won")
    if len(conversions) > 2:
        app.set_stage(me, conversions[2].opportunity_id, "Closed Lost")
    closing = [CrmEvent(id=event_id("opportunity.closed_won", c.opportunity_id), type="opportunity.closed_won",
                        object="Opportunity", record_id=c.opportunity_id, occurred_at=now) for c in won]
    closing += [CrmEvent(id=event_id("opportunity.stage_changed", c.opportunity_id, "Closed Lost"),
                         type="opportunity.stage_changed", object="Opportunity", record_id=c.opportunity_id,
                         occurred_at=now) for c in conversions[2:3]]
    console.print(f"{len(won)} deals won and one lost; the events close the plays and start onboarding:")
    app.run_events(me, closing)
    print_onboarding(app.onboard_status(me, won[0].account_id))
    print_plays(app.pursue_plays(me))
    as_of = dt.date.fromisoformat((state / "seed_as_of").read_text())
    console.print(Rule(f"Expand: customers' health and renewals on the seed's today, {as_of}"))
    health = app.expand_health(me, as_of=as_of, limit=6)
    print_health(health)
    if health.page.items:
        print_health_detail(app.expand_account_health(me, health.page.items[0].account_id, as_of=as_of))
    print_backtest(app.expand_backtest(me, as_of=as_of - dt.timedelta(days=365), horizon_days=365))
    renewals = app.expand_renewals(me, due_within=30, as_of=as_of, dry_run=False)
    print_renewals(renewals)
    if renewals.opened:
        print_plan(renewals.opened[0])
    print_triggered(app.expand_triggered(me, as_of=as_of, dry_run=False))


def demo_sections() -> list[Section]:
    """The loops' demo sections, in chain order; each loop adds its own as it lands."""
    return [design_section, deploy_section, route_section, chain_section, signals_section, retention_section]
