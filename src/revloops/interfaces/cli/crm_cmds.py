"""`revloops seed` and `revloops crm load|export|check`: data in and out of the CRM."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from revloops.bootstrap import Platform
from revloops.core.errors import InputError
from revloops.dataio import export_rows, load_file, write_csv
from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    console,
    emit_json,
    handles_errors,
    platform,
)

crm_app = typer.Typer(help="Data in and out of the CRM, and a check of the configured CRM.", no_args_is_help=True)


def progress_bar() -> Progress:
    """The one progress bar style of the CLI (to stderr, so --json output stays clean)."""
    from rich.console import Console

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


def seed_org(plat: Platform, users: int, accounts: int, leads: int, seed: int, show_progress: bool = True) -> dict[str, int]:
    """Seed the local CRM with a synthetic org; named reps of the active roster (when configured) come first."""
    from revloops.loops.generate.roster import named_users_from_config
    from revloops.loops.generate.seed import generate_org, write_org

    if plat.settings.crm != "local":
        raise InputError("seed writes synthetic data and only runs against the local CRM", field="REVLOOPS_CRM")
    named = named_users_from_config(plat.config) if Path(plat.settings.config).is_dir() else []
    org = generate_org(users=users, accounts=accounts, leads=leads, seed=seed, named_users=named)
    if not show_progress:
        return write_org(plat.crm, org)
    with progress_bar() as bar:
        task = bar.add_task("seeding", total=None)

        def tick(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return write_org(plat.crm, org, progress=tick)


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
    counts = seed_org(platform(config, db), users, accounts, leads, seed_, show_progress=not as_json)
    if as_json:
        emit_json(counts)
        return
    table = Table("object", "created", title="seeded")
    for obj, n in counts.items():
        table.add_row(obj, str(n))
    console.print(table)


@crm_app.command("load")
@handles_errors
def load(
    file: Annotated[Path, typer.Argument(help="CSV or JSONL in Salesforce field names.")],
    sobject: Annotated[str, typer.Option("--object", help="Object name, e.g. Lead, Account.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create records from a file; keeps given Ids, makes the rest; one bad row rejects the whole file."""
    n = load_file(platform(config, db).crm, file, sobject)
    if as_json:
        emit_json({"object": sobject, "created": n})
    else:
        console.print(f"created {n} {sobject} record(s)")


@crm_app.command("export")
@handles_errors
def export(
    sobject: Annotated[str, typer.Option("--object", help="Object name, e.g. Lead, Account.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every record of an object as CSV (or JSON with --json) on stdout."""
    rows = export_rows(platform(config, db).crm, sobject)
    if as_json:
        emit_json(list(rows))
    else:
        write_csv(rows, sobject, sys.stdout)


@crm_app.command("check")
@handles_errors
def check(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """What the configured CRM is, whether sign-in works, API usage and the permissions the loops need."""
    from revloops.interfaces.cli.crm_check import crm_check, render_check

    result: dict[str, Any] = crm_check(platform(config, db).settings)
    if as_json:
        emit_json(result)
    else:
        render_check(result, console)


@crm_app.command("poll")
@handles_errors
def poll_cmd(
    since: Annotated[str | None, typer.Option(help="ISO time to read from (default: the durable watermark).")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Read CRM changes by SystemModstamp watermark into the events inbox (each change once)."""
    import datetime as dt

    from revloops.loops.generate.poller import poll

    start = None
    if since:
        try:
            start = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(f"not an ISO time: {since!r}", field="--since") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
    plat = platform(config, db)
    results = poll(plat.crm, plat.inbox, since=start)
    rows: list[dict[str, Any]] = [{"object": r.sobject, "since": r.since.isoformat(), "changed": r.changed, "accepted": r.accepted,
             "duplicates": r.duplicates, "watermark": r.watermark.isoformat() if r.watermark else None}
            for r in results]
    if as_json:
        emit_json(rows)
        return
    table = Table("object", "since", "changed", "new events", "duplicates", "watermark", title="poll")
    for r in rows:
        table.add_row(r["object"], r["since"][:19], str(r["changed"]), str(r["accepted"]), str(r["duplicates"]),
                      (r["watermark"] or "")[:19])
    console.print(table)


@crm_app.command("events")
@handles_errors
def events_cmd(
    status: Annotated[str | None, typer.Option(help="pending, rejected, processing, done or failed.")] = None,
    limit: Annotated[int, typer.Option(help="How many to list.")] = 50,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The CRM events inbox: counts by status and the oldest entries."""
    plat = platform(config, db)
    entries = plat.inbox.entries(status=status, limit=limit)
    rows: list[dict[str, Any]] = [{"id": e.event.id, "type": e.event.type, "record_id": e.event.record_id, "source": e.source,
             "status": e.status, "deliveries": e.deliveries, "reason": e.reason} for e in entries]
    if as_json:
        emit_json({"counts": plat.inbox.counts(), "events": rows})
        return
    console.print("counts: " + ", ".join(f"{k} {v}" for k, v in sorted(plat.inbox.counts().items())))
    table = Table("id", "type", "record", "source", "status", "deliveries", "reason")
    for r in rows:
        table.add_row(r["id"], r["type"], r["record_id"], r["source"], r["status"], str(r["deliveries"]),
                      r["reason"] or "")
    console.print(table)
