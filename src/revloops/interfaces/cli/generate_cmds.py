"""`revloops generate ...`: outbound signals: ticks and scans, the ledger, targets, the scan budget."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from revloops.app.models import BudgetView, Page, SignalMetrics, SignalRow, TargetRow, TickResult
from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    application,
    console,
    emit_json,
    handles_errors,
    operator,
    progress_bar,
)
from revloops.interfaces.cli.explain_cmd import render

app = typer.Typer(help="Generate: outbound signals from target accounts' news.", no_args_is_help=True)
targets_app = typer.Typer(help="The outbound target accounts (generate/targets.yaml).", no_args_is_help=False,
                          invoke_without_command=True)
app.add_typer(targets_app, name="targets")

AtOpt = Annotated[dt.datetime | None, typer.Option("--at", help="The tick's time (default now, UTC).")]
SYNTHETIC = ("[yellow]offline scanner: these signals come from the example org's shipped news corpus, not the "
             "web (set REVLOOPS_ANTHROPIC_API_KEY to scan with Claude and web search)[/]")


def print_budget(b: BudgetView) -> None:
    """The budget line."""
    console.print(f"budget {b.day}: {b.searches}/{b.searches_per_day} searches, {b.tokens:,}/{b.tokens_per_day:,} "
                  f"tokens today; ${b.usd_month:.2f}/${b.usd_per_month:.2f} this month · scanner {b.scanner}")
    if b.synthetic:
        console.print(SYNTHETIC)


def print_ticks(result: TickResult, *, show: int = 12) -> None:
    """What the ticks did."""
    table = Table("scan", "target", "status", "kept", "folded", "dropped", "cost", "outreach / why")
    shown = [s for s in result.scans if s.kept or s.folded or s.status != "done"][:show] or result.scans[:show]
    for s in shown:
        table.add_row(s.at.strftime("%H:%M"), s.domain, s.status + (f" ({s.reason})" if s.reason else ""),
                      str(s.kept), str(s.folded), str(len(s.dropped)),
                      f"{s.searches} searches, ${s.usd:.3f}", escape(s.outreach or s.why or ""))
    console.print(table)
    console.print(f"{result.ticks} ticks, {len(result.scans)} scans: {result.new_signals} new signals, "
                  f"{result.folded} duplicate reports folded into their event, {result.skipped} skipped, "
                  f"{len(result.outreach)} outreach runs")
    for o in result.outreach[:8]:
        console.print(f"  {o['domain']}: signal {o['signal_id']} → lead {o['lead_id']} → owner {o['owner_id']} "
                      f"→ play {o['play'] or '-'} (territory {o['territory'] or 'none'})")
    print_budget(result.budget)
    if result.story:
        console.print(f"[bold]one account's story[/] (revloops explain {result.story[0].record_id}):")
        for decision in reversed(result.story):
            render(decision)


def print_signals(page: Page[SignalRow]) -> None:
    """Signals with their sources."""
    table = Table("event", "target", "type", "headline", "sources", "outreach")
    for s in page.items:
        sources = "; ".join(src.outlet or src.url for src in s.sources)
        table.add_row(str(s.event_date), s.domain, s.type, escape(s.headline), escape(sources), s.outreach or "-")
    console.print(table)
    more = f" · next: --cursor {page.next_cursor}" if page.next_cursor else ""
    console.print(f"{len(page.items)} of {page.total} signals{more}")
    if any(s.synthetic for s in page.items):
        console.print(SYNTHETIC)


def print_targets(rows: list[TargetRow]) -> None:
    """Targets with their queue position."""
    table = Table("target", "priority", "territory", "last scanned", "next due", "score")
    for t in sorted(rows, key=lambda r: (r.next_due, r.domain)):
        table.add_row(f"{escape(t.name)} [dim]{t.domain}[/]", str(t.priority), t.territory or "-",
                      t.last_scanned.strftime("%Y-%m-%d %H:%M") if t.last_scanned else "never",
                      t.next_due.strftime("%Y-%m-%d %H:%M"), f"{t.score:.3f}")
    console.print(table)


@app.command("tick")
@handles_errors
def tick_cmd(at: AtOpt = None, config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """One tick now: scan the next due targets (per_tick), fold their signals, start the outreach they make due."""
    result = application(config, db).run_ticks(operator(), start=at)
    emit_json(result) if as_json else print_ticks(result)


@app.command("scan")
@handles_errors
def scan_cmd(account: Annotated[str, typer.Argument(help="A target's domain or name.")], at: AtOpt = None,
             config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Scan one target account now."""
    result = application(config, db).run_ticks(operator(), start=at, domain=account)
    emit_json(result) if as_json else print_ticks(result)


@app.command("simulate")
@handles_errors
def simulate_cmd(ticks: Annotated[int, typer.Option("--ticks", help="Ticks to run (288: one day at 5 minutes).")] = 288,
                 start: Annotated[dt.datetime | None, typer.Option("--start", help="The first tick's time.")] = None,
                 config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Run ticks one after another with time compressed (a simulated day by default)."""
    with progress_bar() as bar:
        task = bar.add_task("ticks", total=ticks)
        result = application(config, db).run_ticks(operator(), start=start, ticks=ticks,
                                                   progress=lambda done, total: bar.update(task, completed=done))
    emit_json(result) if as_json else print_ticks(result)


@app.command("signals")
@handles_errors
def signals_cmd(account: Annotated[str | None, typer.Option("--account", help="A target's domain.")] = None,
                kind: Annotated[str | None, typer.Option("--type", help="One signal type.")] = None,
                since: Annotated[dt.datetime | None, typer.Option("--since", formats=["%Y-%m-%d"],
                                                                  help="Events on or after this day.")] = None,
                limit: Annotated[int, typer.Option("--limit")] = 50,
                cursor: Annotated[str | None, typer.Option("--cursor")] = None,
                config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The signal ledger: each signal with its sources (one per outlet that reported the event)."""
    page = application(config, db).list_signals(operator(), domain=account, type=kind,
                                                since=since.date() if since else None, limit=limit, cursor=cursor)
    emit_json(page) if as_json else print_signals(page)


@app.command("score")
@handles_errors
def score_cmd(account: Annotated[str, typer.Argument(help="A target's domain or name.")],
              config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """A target's decayed signal score, term by term: weight × strength × 0.5^(age / half-life)."""
    found = application(config, db).account_signal_score(operator(), account)
    emit_json(found) if as_json else console.print(escape(found.explanation))


@app.command("budget")
@handles_errors
def budget_cmd(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Today's and this month's scan budget, used and allowed."""
    found = application(config, db).signal_budget(operator())
    emit_json(found) if as_json else print_budget(found)


@app.command("metrics")
@handles_errors
def metrics_cmd(since: Annotated[dt.datetime | None, typer.Option("--since", formats=["%Y-%m-%d"])] = None,
                config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Scans per day, cost and signals per scan, dedupe and no-citation rates, outreach share and outcomes."""
    m: SignalMetrics = application(config, db).signal_metrics(operator(), since=since.date() if since else None)
    if as_json:
        emit_json(m)
        return

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{v:.0%}"

    console.print(f"{m.scans} scans ({m.scans_per_day:.0f} a day): ${m.cost_per_scan_usd:.4f} and "
                  f"{m.searches_per_scan:.1f} searches a scan, {m.signals_per_scan:.2f} signals a scan; "
                  f"duplicates folded {pct(m.dedupe_rate)}, dropped for no citation {pct(m.no_citation_rate)}, "
                  f"signals that led to outreach {pct(m.outreach_share)}; outcomes "
                  + (", ".join(f"{k} {v}" for k, v in m.outreach_outcomes.items()) or "none yet"))


@targets_app.callback()
@handles_errors
def targets_cmd(ctx: typer.Context, config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every target: last scanned, next due, signal score."""
    if ctx.invoked_subcommand is not None:
        return
    rows = application(config, db).signal_targets(operator())
    emit_json(rows) if as_json else print_targets(rows)


@targets_app.command("add")
@handles_errors
def add_cmd(domain: Annotated[str, typer.Argument(help="The account's web domain.")],
            name: Annotated[str, typer.Option("--name", help="The company's name as the news writes it.")],
            priority: Annotated[int, typer.Option("--priority", help="1 (first) to 5.")] = 3,
            territory: Annotated[str | None, typer.Option("--territory")] = None,
            apply: Annotated[bool, typer.Option("--apply", help="Write the change (default: show the diff).")] = False,
            config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Add a target to generate/targets.yaml (validated with the whole config before it stands)."""
    edit = application(config, db).add_target(operator(), name=name, domain=domain, priority=priority,
                                              territory=territory, dry_run=not apply)
    emit_json(edit) if as_json else console.print(escape(edit.diff) + ("written" if edit.written else
                                                                         "dry run: --apply writes it"))


@targets_app.command("remove")
@handles_errors
def remove_cmd(domain: Annotated[str, typer.Argument(help="The target's domain.")],
               apply: Annotated[bool, typer.Option("--apply", help="Write the change.")] = False,
               config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Remove a target from generate/targets.yaml (its signals stay in the ledger)."""
    edit = application(config, db).remove_target(operator(), domain, dry_run=not apply)
    emit_json(edit) if as_json else console.print(escape(edit.diff) + ("written" if edit.written else
                                                                         "dry run: --apply writes it"))
