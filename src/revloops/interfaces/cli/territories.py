"""``revloops territories``: sync the hierarchy, assign accounts, review pending ones, show coverage."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from revloops.app.models import AssignResult, Coverage, PendingAccount, SyncResult
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

app = typer.Typer(help="Deploy: territories as code, reconciled into the CRM.", no_args_is_help=True)

ApplyOpt = Annotated[bool, typer.Option("--apply", help="Write the plan to the CRM (default: only show it).")]
PlanOpt = Annotated[str | None, typer.Option("--plan", help="Apply only if the plan is still this one (the id a "
                                                          "dry run printed).")]
_COLOURS = {"create": "green", "update": "yellow", "delete": "red"}


def print_sync_plan(plan: SyncResult, limit: int | None = None) -> None:
    """A sync plan, ``terraform plan`` style, with its summary line."""
    shown = plan.changes if limit is None else plan.changes[:limit]
    for change in shown:
        console.print(f"[{_COLOURS[change.op]}]{escape(change.description)}[/]", soft_wrap=True)
    if limit is not None and len(plan.changes) > limit:
        console.print(f"  … and {len(plan.changes) - limit} more")
    c = plan.summary
    if not plan.changes:
        how = " (watermark unchanged since the last apply)" if plan.fast else ""
        console.print(f"No changes. The CRM matches the configuration{how}.")
        return
    console.print(f"[bold]Plan:[/] {c['create']} to create, {c['update']} to update, {c['delete']} to delete. "
                  f"[dim]({plan.plan_id})[/]")


@app.command("sync")
@handles_errors
def sync_cmd(apply: ApplyOpt = False,
             refresh: Annotated[bool, typer.Option("--refresh", help="Read every record even when the "
                                                   "watermark says nothing changed.")] = False,
             plan: PlanOpt = None,
             config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Reconcile the territory model, types, territories and user assignments into the CRM."""
    app = application(config, db)
    if not apply:
        planned = app.sync_territories(operator(), dry_run=True, refresh=refresh)
        emit_json(planned) if as_json else print_sync_plan(planned)
        return
    with progress_bar() as bar:
        task = bar.add_task("applying", total=None)
        result = app.sync_territories(operator(), dry_run=False, refresh=refresh, plan=plan,
                                      progress=lambda done, total: bar.update(task, completed=done, total=total))
    applied = result.applied
    assert applied is not None  # an apply always answers what it did
    if as_json:
        emit_json(result)
    else:
        print_sync_plan(result)
        console.print(f"Applied: {len(applied.results) - len(applied.failed)} succeeded, {len(applied.failed)} failed.")
        for r in applied.failed:
            console.print(f"  [red]✗[/] {r.op} {r.object} {r.key}: {escape(r.error or '')}")
        if applied.interrupted:
            console.print(f"[red]Interrupted:[/] {escape(applied.interrupted)}. Run the apply again to finish.")
    if applied.interrupted or applied.failed:
        raise typer.Exit(1)


@app.command("assign")
@handles_errors
def assign_cmd(apply: ApplyOpt = False,
               against: Annotated[str | None, typer.Option("--against", help="A git revision of the config: "
                                                           "list every account that would move.")] = None,
               min_confidence: Annotated[float, typer.Option(help="Least confidence for an account whose "
                                                             "address had to be resolved.")] = 0.8,
               plan: PlanOpt = None,
               config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Match every account to a territory (batch path); park the unclear ones as pending with evidence."""
    result = application(config, db).assign_territories(operator(), dry_run=not apply, against=against,
                                                         min_confidence=min_confidence, plan=plan)
    done = result.applied
    if as_json:
        emit_json(result)
    else:
        print_assign_plan(result)
        if done is not None:
            console.print(f"Applied: {done.created} associations created, {done.deleted} deleted, "
                          f"{done.updated} accounts updated, {done.decisions} decisions logged, "
                          f"{len(done.failures)} failed.")
            if done.interrupted:
                console.print(f"[red]Interrupted:[/] {escape(done.interrupted)}. Run the apply again to finish.")
    if done is not None and (done.interrupted or done.failures):
        raise typer.Exit(1)


def print_assign_plan(plan: AssignResult, limit: int = 20) -> None:
    """Outcome counts, the planned writes and (with --against) the accounts that would move."""
    table = Table("outcome", "accounts")
    for status, n in sorted(plan.counts.items(), key=lambda kv: -kv[1]):
        table.add_row(status, str(n))
    console.print(table)
    for account, terr in plan.sample_creates[:limit]:
        console.print(f"[green]+ ObjectTerritory2Association {account} -> {terr}[/]")
    for account, terr in plan.sample_deletes[:limit]:
        console.print(f"[red]- ObjectTerritory2Association {account} -> {terr}[/]")
    hidden = max(0, plan.creates - limit) + max(0, plan.deletes - limit)
    if hidden:
        console.print(f"  … and {hidden} more")
    console.print(f"[bold]Plan:[/] {plan.creates} associations to create, {plan.deletes} to delete, "
                  f"{plan.status_updates} account statuses to update. [dim]({plan.plan_id})[/]")
    against = plan.against
    if against is not None:
        moves = Table("account", "name", f"territory at {against}", "territory now", f"its AE at {against}",
                      "its AE now", title=f"{len(plan.moves)} accounts would move territory",
                      caption="the territories' AEs, for reference: assign does not change Account.OwnerId")
        for m in plan.moves[:limit * 5]:
            moves.add_row(m.account_id, m.name or "", m.before or "", m.after or "", m.before_owner or "",
                          m.after_owner or "")
        console.print(moves)


@app.command("pending")
@handles_errors
def pending_cmd(status: Annotated[str | None, typer.Option(help="Only this state, e.g. pending:multi_match.")] = None,
                config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Accounts waiting for review, with the evidence for each."""
    found = application(config, db).pending_territories(operator(), status)
    if as_json:
        emit_json(found)
        return
    print_pending(found)


def print_pending(found: list[PendingAccount], limit: int = 50) -> None:
    """The pending accounts as a table: state, what the address said, what the resolver found."""
    table = Table("account", "name", "state", "evidence", title=f"{len(found)} accounts pending review")
    for p in found[:limit]:
        ev = p.evidence
        res = ev.get("resolution") or {}
        bits = [ev.get("why_resolved") or "",
                "no territory rule holds" + (f" (only {ev['rule_id']})" if ev.get("rule_id") else "")
                if p.status == "pending:no_match" else "", f"proposed {ev['proposed']}" if ev.get("proposed") else "",
                f"candidates {', '.join(ev['candidates'])}" if ev.get("candidates") else "",
                f"read as {res.get('country')} ({res.get('confidence')})" if res.get("country") else "",
                "; ".join(res.get("evidence") or [])[:160], " ".join(res.get("urls") or [])]
        table.add_row(p.account_id, p.name or "", p.status, escape(" · ".join(b for b in bits if b)))
    console.print(table)


@app.command("resolve")
@handles_errors
def resolve_cmd(account: Annotated[str, typer.Argument(help="The pending account's id.")],
                territory: Annotated[str | None, typer.Option("--territory", help="Put it in this territory.")] = None,
                approve: Annotated[bool, typer.Option("--approve", help="Accept the proposed territory.")] = False,
                reason: Annotated[str, typer.Option("--reason", help="Why (kept in the decision log).")] = "",
                by: Annotated[str | None, typer.Option("--by", help="Who decides (default: the OS user).")] = None,
                dry_run: Annotated[bool, typer.Option("--dry-run", help="Check it and show the decision; "
                                                                        "write nothing.")] = False,
                config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Settle a pending account; the decision is logged with who and why."""
    decision = application(config, db).resolve_pending_territory(operator(by), account, territory=territory,
                                                                 approve=approve, reason=reason, dry_run=dry_run)
    if as_json:
        emit_json(decision)
    elif dry_run:
        console.print(f"dry run, nothing written: {decision.explanation}", markup=False)
    else:
        console.print(f"{decision.explanation} [dim]({decision.id})[/]")


@app.command("coverage")
@handles_errors
def coverage_cmd(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Per territory: accounts, open pipeline, users by role; and the accounts in no territory."""
    cov = application(config, db).territory_coverage(operator())
    if as_json:
        emit_json(cov)
        return
    print_coverage(cov)


def print_coverage(cov: Coverage) -> None:
    """The coverage table (tree order, indented) and the unassigned line."""
    table = Table("territory", "accounts", "with children", "open pipeline", "with children", "people by role")
    for t in cov.territories:
        people = "; ".join(f"{role}: {', '.join(names)}" for role, names in t.users.items())
        table.add_row("  " * t.depth + t.territory, str(t.accounts), str(t.accounts_rolled_up),
                      f"{t.open_pipeline:,.0f}", f"{t.open_pipeline_rolled_up:,.0f}", people)
    console.print(table)
    detail = ", ".join(f"{k} {v}" for k, v in cov.unassigned_by_status.items())
    console.print(f"{cov.unassigned} of {cov.accounts} accounts in no territory" + (f" ({detail})" if detail else ""))
