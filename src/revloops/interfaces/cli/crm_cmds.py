"""`revloops seed` and `revloops crm load|export|check|poll|events`: data in and out of the CRM."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table
from rich.text import Text

from revloops.app.models import CrmCheck
from revloops.core.errors import InputError
from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    application,
    console,
    emit_json,
    err_console,
    handles_errors,
    operator,
    progress_bar,
)

crm_app = typer.Typer(help="Data in and out of the CRM, and a check of the configured CRM.", no_args_is_help=True)
ObjectOpt = Annotated[str, typer.Option("--object", help="Object name, e.g. Lead, Account.")]


@handles_errors
def seed(
    users: Annotated[int, typer.Option(help="Synthetic users beyond the roster's named reps.")] = 20,
    accounts: Annotated[int, typer.Option(help="Accounts to create.")] = 500,
    leads: Annotated[int, typer.Option(help="Leads to create.")] = 2000,
    seed_: Annotated[int, typer.Option("--seed", help="Random seed: the same seed writes the same org.")] = 7,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a realistic synthetic org into the local CRM, deterministic for a seed."""
    app = application(config, db)
    if as_json:
        result = app.seed_org(operator(), users=users, accounts=accounts, leads=leads, seed=seed_)
        emit_json(result.created)
        return
    with progress_bar() as bar:
        task = bar.add_task("seeding", total=None)
        result = app.seed_org(operator(), users=users, accounts=accounts, leads=leads, seed=seed_,
                              progress=lambda done, total: bar.update(task, completed=done, total=total))
    table = Table("object", "created", title="seeded")
    for obj, n in result.created.items():
        table.add_row(obj, str(n))
    console.print(table)


#: rows from which a load shows a progress bar (a smaller file is done before a bar could be read)
LOAD_BAR_FROM = 1000


def _load_bar(bar: Progress, label: str) -> Callable[[int, int], None]:
    """A progress callback that starts ``bar`` only once the file turns out to be large."""
    task: list[TaskID] = []

    def update(done: int, total: int) -> None:
        if total < LOAD_BAR_FROM:
            return
        if not task:
            bar.start()
            task.append(bar.add_task(label, total=total))
        bar.update(task[0], completed=done, total=total)

    return update


@crm_app.command("load")
@handles_errors
def load(
    file: Annotated[Path, typer.Argument(help="CSV or JSONL in Salesforce field names (an export loads as it is).")],
    sobject: ObjectOpt,
    upsert_key: Annotated[str | None, typer.Option(
        "--upsert-key", metavar="FIELD",
        help="Match rows to records on this field (External_Id__c, Username, Email...) instead of Id.")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Upsert records from a file: a row matching a record by Id (or --upsert-key) updates the fields that differ,
    the others are created keeping their Id; columns the CRM does not hold are skipped with one warning; one bad
    value rejects the whole file, naming line and field."""
    app = application(config, db)
    if as_json:
        emit_json(app.load_records(operator(), sobject, file, upsert_key=upsert_key))
        return
    bar = progress_bar()
    try:
        result = app.load_records(operator(), sobject, file, upsert_key=upsert_key,
                                  progress=_load_bar(bar, f"loading {sobject}"))
    finally:
        if bar.live.is_started:  # (a bar stopped unstarted still prints a blank line)
            bar.stop()
    for warning in result.warnings:
        err_console.print(Text(f"warning: {warning}", style="yellow"), soft_wrap=True)
    console.print(f"{result.object}: {result.created} created, {result.updated} updated, {result.unchanged} "
                  f"unchanged (matched on {result.upsert_key})", markup=False, highlight=False)


@crm_app.command("export")
@handles_errors
def export(sobject: ObjectOpt, config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every record of an object as CSV (or JSON with --json) on stdout."""
    app = application(config, db)
    if as_json:
        emit_json(list(app.export_records(operator(), sobject)))
    else:
        app.export_csv(operator(), sobject, sys.stdout)


@crm_app.command("check")
@handles_errors
def check(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """What the configured CRM is, whether sign-in works, API usage and the permissions the loops need; exits 1
    when sign-in or a permission the loops need fails."""
    result = application(config, db).check_crm(operator())
    if as_json:
        emit_json(result)
    else:
        render_check(result, console)
    if not result.ok:  # sign-in or a permission the loops need failed: a script must see it
        raise typer.Exit(1)


def _mark(flag: bool | None, needed: bool) -> str:
    if flag:
        return "[green]yes[/green]"
    return "[red]no[/red]" if needed else "[dim]no[/dim]"


def render_check(report: CrmCheck, out: Console) -> None:
    """Draw a CRM check: a summary, then one row per object."""
    sign_in = report.sign_in
    state = "[green]ok[/green]" if sign_in["ok"] else f"[red]failed[/red]: {sign_in['error']}"
    out.print(f"CRM: [bold]{report.crm}[/bold]  instance: {report.instance or '-'}")
    out.print(f"sign-in ({sign_in.get('method') or '-'}): {state}")
    if report.user:
        out.print(f"user: {report.user.get('preferred_username') or report.user.get('name')} "
                  f"({report.user.get('user_id', '-')})")
    usage = report.api_usage
    if usage:
        out.print(f"API usage: {usage['used']} of {usage['limit']} daily requests ({usage.get('percent', 0)}%)")
    if not report.objects:
        return
    table = Table("object", "read", "create", "update", "missing fields", "ok", title="what the loops need")
    for row in report.objects:
        needs = set(row["needs"])
        table.add_row(row["object"], _mark(row.get("read"), "read" in needs), _mark(row.get("create"), "create" in needs),
                      _mark(row.get("update"), "update" in needs),
                      ", ".join(row["missing_fields"]) or row.get("error", "") or "-",
                      "[green]ok[/green]" if row["ok"] else "[red]missing[/red]")
    out.print(table)
    verdict = "[green]ready[/green]" if report.ok else "[red]not ready[/red]: see the rows marked missing"
    out.print(f"verdict: {verdict}")


@crm_app.command("poll")
@handles_errors
def poll_cmd(
    since: Annotated[str | None, typer.Option(help="ISO time to read from (default: the durable watermark).")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Read CRM changes by SystemModstamp watermark into the events inbox (each change once)."""
    start = None
    if since:
        try:
            start = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"not an ISO time: {since!r}", field="--since") from None
    rows = application(config, db).poll_crm(operator(), since=start)
    if as_json:
        emit_json(rows)
        return
    table = Table("object", "since", "changed", "new events", "duplicates", "watermark", title="poll")
    for r in rows:
        table.add_row(r.object, r.since.isoformat()[:19], str(r.changed), str(r.accepted), str(r.duplicates),
                      r.watermark.isoformat()[:19] if r.watermark else "")
    console.print(table)


@crm_app.command("events")
@handles_errors
def events_cmd(
    status: Annotated[str | None, typer.Option(help="pending, rejected, processing, done, failed or skipped.")] = None,
    limit: Annotated[int, typer.Option(help="How many to list.")] = 50,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The CRM events inbox: counts by status and the oldest entries."""
    view = application(config, db).list_events(operator(), status=status, limit=limit)
    if as_json:
        emit_json(view)
        return
    console.print("counts: " + ", ".join(f"{k} {v}" for k, v in sorted(view.counts.items())))
    table = Table("id", "type", "record", "source", "status", "deliveries", "reason")
    for e in view.events:
        table.add_row(e.id, e.type, e.record_id, e.source, e.status, str(e.deliveries), e.reason or "")
    console.print(table)
