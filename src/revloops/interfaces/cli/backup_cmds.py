"""`revloops backup PATH` and `revloops restore PATH`: copies of the state and engine databases, and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from revloops.app.models import BackupResult, RestoreResult
from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    application,
    console,
    emit_json,
    handles_errors,
    operator,
)
from revloops.interfaces.cli.engine_cmds import EngineDbOpt


@handles_errors
def backup(
    path: Annotated[Path, typer.Argument(help="A new (or empty) folder for the copies and their manifest.")],
    config: ConfigOpt = None,
    db: DbOpt = None,
    engine_db: EngineDbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Copy the state and engine databases into PATH while workers run (SQLite; for Postgres, the pg_dump commands)."""
    app = application(config, db, engine_db=engine_db)
    result = app.backup(operator(), path)
    if json:
        emit_json(result)
        return
    _print_backup(result)


@handles_errors
def restore(
    path: Annotated[Path, typer.Argument(help="A folder `revloops backup` wrote.")],
    force: Annotated[bool, typer.Option("--force", help="Replace databases that already hold data.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the backup and the targets; change nothing.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
    engine_db: EngineDbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Restore a backup into these settings' databases (stop every worker first); the engine then resumes its runs."""
    app = application(config, db, engine_db=engine_db)
    result = app.restore(operator(), path, dry_run=dry_run, force=force)
    if json:
        emit_json(result)
        return
    _print_restore(result)


def _print_backup(result: BackupResult) -> None:
    manifest = result.manifest
    table = Table("database", "from", "file", "bytes", "schema", title=f"backup in {result.path}")
    for d in manifest.databases:
        table.add_row(d.name, d.source, d.file, f"{d.size_bytes:,}", ", ".join(d.revisions))
    console.print(table)
    console.print(f"taken {manifest.created_at:%Y-%m-%d %H:%M:%S} UTC by revloops {manifest.versions['revloops']}")


def _print_restore(result: RestoreResult) -> None:
    verb = "would restore" if result.dry_run else "restored"
    taken = f"{result.manifest.created_at:%Y-%m-%d %H:%M:%S} UTC"
    table = Table("database", "into", "bytes", "held data", title=f"{verb} the backup of {taken} from {result.path}")
    for d in result.databases:
        table.add_row(d.name, d.target, f"{d.size_bytes:,}", "replaced" if d.replaced else "no")
    console.print(table)
    for executor, runs in result.resuming.items():
        console.print(f"{runs} runs in flight resume when a worker with executor id {executor!r} starts")
    if result.queued:
        console.print(f"{result.queued} queued runs: any worker takes them")
    if result.requeued_events:
        console.print(f"{result.requeued_events} events dispatched after the engine's copy are pending again")
