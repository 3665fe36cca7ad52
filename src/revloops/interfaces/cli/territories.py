"""``revloops territories``: sync the hierarchy, assign accounts, review pending ones, show coverage."""

from __future__ import annotations

import dataclasses
import getpass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from revloops.bootstrap import Platform
from revloops.config.revision import load_config_at
from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    console,
    emit_json,
    handles_errors,
    platform,
)
from revloops.loops.deploy import flow
from revloops.loops.deploy.logic import describe
from revloops.loops.deploy.sync import ApplyResult, SyncPlan

app = typer.Typer(help="Deploy: territories as code, reconciled into the CRM.", no_args_is_help=True)

ApplyOpt = Annotated[bool, typer.Option("--apply", help="Write the plan to the CRM (default: only show it).")]
_COLOURS = {"create": "green", "update": "yellow", "delete": "red"}


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def print_sync_plan(plan: SyncPlan, limit: int | None = None) -> None:
    """A sync plan, ``terraform plan`` style, with its summary line."""
    shown = plan.changes if limit is None else plan.changes[:limit]
    for change in shown:
        console.print(f"[{_COLOURS[change.op]}]{escape(describe(change))}[/]", soft_wrap=True)
    if limit is not None and len(plan.changes) > limit:
        console.print(f"  … and {len(plan.changes) - limit} more")
    c = plan.counts
    if not plan.changes:
        how = " (watermark unchanged since the last apply)" if plan.fast else ""
        console.print(f"No changes. The CRM matches the configuration{how}.")
        return
    console.print(f"[bold]Plan:[/] {c['create']} to create, {c['update']} to update, {c['delete']} to delete.")


def _sync_json(plan: SyncPlan, applied: ApplyResult | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "summary": plan.counts, "fast": plan.fast,
        "changes": [{"op": c.op, "object": c.sobject, "key": c.key, "fields": dict(c.fields),
                     "before": dict(c.before), "record_id": c.record_id} for c in plan.changes],
    }
    if applied is not None:
        out["applied"] = {"complete": applied.complete, "interrupted": applied.interrupted,
                          "results": [{"op": r.change.op, "object": r.change.sobject, "key": r.change.key,
                                       "success": r.success, "id": r.record_id, "error": r.error}
                                      for r in applied.results]}
    return out


@app.command("sync")
@handles_errors
def sync_cmd(apply: ApplyOpt = False,
             refresh: Annotated[bool, typer.Option("--refresh", help="Read every record even when the "
                                                   "watermark says nothing changed.")] = False,
             config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Reconcile the territory model, types, territories and user assignments into the CRM."""
    plat = platform(config, db)
    if not apply:
        plan = flow.plan_sync(plat.config, plat.crm, plat.decisions, refresh=refresh)
        emit_json(_sync_json(plan, None)) if as_json else print_sync_plan(plan)
        return
    from revloops.interfaces.cli.crm_cmds import progress_bar

    with progress_bar() as bar:
        task = bar.add_task("applying", total=None)
        result = flow.apply_sync(plat.config, plat.crm, plat.decisions, actor=_actor(),
                                 progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        emit_json(_sync_json(result.plan, result))
    else:
        print_sync_plan(result.plan)
        ok = sum(r.success for r in result.results)
        console.print(f"Applied: {ok} succeeded, {len(result.failed)} failed.")
        for r in result.failed:
            console.print(f"  [red]✗[/] {r.change.op} {r.change.sobject} {r.change.key}: {escape(r.error or '')}")
        if result.interrupted:
            console.print(f"[red]Interrupted:[/] {escape(result.interrupted)}. Run the apply again to finish.")
    if result.interrupted or result.failed:
        raise typer.Exit(1)


def _against(plat: Platform, rev: str | None) -> Any:
    return load_config_at(Path(plat.config.root), rev) if rev else None


@app.command("assign")
@handles_errors
def assign_cmd(apply: ApplyOpt = False,
               against: Annotated[str | None, typer.Option("--against", help="A git revision of the config: "
                                                           "list every account that would move.")] = None,
               min_confidence: Annotated[float, typer.Option(help="Least confidence for an account whose "
                                                             "address had to be resolved.")] = 0.8,
               config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Match every account to a territory (batch path); park the unclear ones as pending with evidence."""
    plat = platform(config, db)
    plan = flow.plan_assignments(plat.config, plat.crm, flow.make_resolver(plat.llm), threshold=min_confidence,
                                 against=_against(plat, against))
    result = None
    if apply:
        result = flow.apply_assignments(plan, plat.crm, plat.decisions, config_version=plat.config.version,
                                        actor=_actor())
    if as_json:
        emit_json({"counts": plan.assignments.counts(), "creates": len(plan.creates), "deletes": len(plan.deletes),
                   "status_updates": len(plan.field_updates), "moves": [dataclasses.asdict(m) for m in plan.moves],
                   "applied": dataclasses.asdict(result) if result else None})
    else:
        print_assign_plan(plan, against)
        if result is not None:
            console.print(f"Applied: {result.created} associations created, {result.deleted} deleted, "
                          f"{result.updated} accounts updated, {result.decisions} decisions logged, "
                          f"{len(result.failures)} failed.")
            if result.interrupted:
                console.print(f"[red]Interrupted:[/] {escape(result.interrupted)}. Run the apply again to finish.")
    if result is not None and (result.interrupted or result.failures):
        raise typer.Exit(1)


def print_assign_plan(plan: flow.AssignPlan, against: str | None = None, limit: int = 20) -> None:
    """Outcome counts, the planned writes and (with --against) the accounts that would move."""
    table = Table("outcome", "accounts")
    for status, n in sorted(plan.assignments.counts().items(), key=lambda kv: -kv[1]):
        table.add_row(status, str(n))
    console.print(table)
    for account, terr in plan.creates[:limit]:
        console.print(f"[green]+ ObjectTerritory2Association {account} -> {terr}[/]")
    for _, account, terr in plan.deletes[:limit]:
        console.print(f"[red]- ObjectTerritory2Association {account} -> {terr}[/]")
    hidden = max(0, len(plan.creates) - limit) + max(0, len(plan.deletes) - limit)
    if hidden:
        console.print(f"  … and {hidden} more")
    console.print(f"[bold]Plan:[/] {len(plan.creates)} associations to create, {len(plan.deletes)} to delete, "
                  f"{len(plan.field_updates)} account statuses to update.")
    if against is not None:
        moves = Table("account", "name", f"territory at {against}", "territory now", "owner before", "owner after",
                      title=f"{len(plan.moves)} accounts would move")
        for m in plan.moves[:limit * 5]:
            moves.add_row(m.account_id, m.name or "", m.before or "", m.after or "", m.before_owner or "",
                          m.after_owner or "")
        console.print(moves)


@app.command("pending")
@handles_errors
def pending_cmd(status: Annotated[str | None, typer.Option(help="Only this state, e.g. pending:multi_match.")] = None,
                config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Accounts waiting for review, with the evidence for each."""
    plat = platform(config, db)
    found = flow.pending(plat.crm, status)
    if as_json:
        emit_json([dataclasses.asdict(p) for p in found])
        return
    print_pending(found)


def print_pending(found: list[flow.PendingAccount], limit: int = 50) -> None:
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
                config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Settle a pending account; the decision is logged with who and why."""
    plat = platform(config, db)
    decision = flow.resolve(plat.config, plat.crm, plat.decisions, account, territory=territory, approve=approve,
                            reason=reason, actor=by or _actor())
    if as_json:
        emit_json(decision)
    else:
        console.print(f"{decision.explanation} [dim]({decision.id})[/]")


@app.command("coverage")
@handles_errors
def coverage_cmd(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Per territory: accounts, open pipeline, users by role; and the accounts in no territory."""
    plat = platform(config, db)
    cov = flow.territory_coverage(plat.config, plat.crm)
    if as_json:
        emit_json(cov)
        return
    print_coverage(cov)


def print_coverage(cov: Any) -> None:
    """The coverage table (tree order, indented) and the unassigned line."""
    table = Table("territory", "accounts", "with children", "open pipeline", "with children", "people by role")
    for t in cov.territories:
        people = "; ".join(f"{role}: {', '.join(names)}" for role, names in t.users.items())
        table.add_row("  " * t.depth + t.territory, str(t.accounts), str(t.accounts_rolled_up),
                      f"{t.open_pipeline:,.0f}", f"{t.open_pipeline_rolled_up:,.0f}", people)
    console.print(table)
    detail = ", ".join(f"{k} {v}" for k, v in cov.unassigned_by_status.items())
    console.print(f"{cov.unassigned} of {cov.accounts} accounts in no territory" + (f" ({detail})" if detail else ""))
