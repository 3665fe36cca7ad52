"""`revloops worker`, `revloops status`, `revloops retry`: run, watch and unstick the workflow engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    console,
    emit_json,
    handles_errors,
    platform,
)

if TYPE_CHECKING:
    from dbos import DBOSClient

EngineDbOpt = Annotated[
    str | None,
    typer.Option("--engine-db", envvar="REVLOOPS_ENGINE_DB", show_default=False,
                 help="Engine system database URL (default engine.sqlite in the state dir, or the Postgres state DB)."),
]


@handles_errors
def worker(
    executor_id: Annotated[str | None, typer.Option("--executor-id", envvar="REVLOOPS_EXECUTOR_ID",
                                                    help="This worker's name; distinct per process.")] = None,
    queue: Annotated[list[str] | None, typer.Option("--queue", help="Take work only from this queue.")] = None,
    module: Annotated[list[str] | None, typer.Option("--module", help="Also import this workflow module.")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    engine_db: EngineDbOpt = None,
) -> None:
    """Run workflow workers only (no API) until SIGTERM or Ctrl-C."""
    from revloops.engine.worker import serve_forever

    plat = platform(config, db)
    if engine_db:
        plat.settings.engine_db = engine_db
    name = executor_id or plat.settings.executor_id
    console.print(f"worker {name} on {_redact(plat.settings.engine_db_url)}")
    serve_forever(plat, executor_id=name, queues=queue or None, modules=tuple(module or ()))


@handles_errors
def status(
    failures: Annotated[int, typer.Option(help="How many recent failures to show.")] = 10,
    config: ConfigOpt = None,
    db: DbOpt = None,
    engine_db: EngineDbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Workflow runs by state, per workflow, and the latest failures with their errors."""
    from revloops.engine.status import engine_status

    with engine_client(config, db, engine_db) as cl:
        result = engine_status(cl, failures=failures)
    if json:
        emit_json(result)
        return
    table = Table("workflow", *result.counts.keys(), title=f"{result.total} runs")
    for name, counts in result.by_workflow.items():
        table.add_row(name, *(str(counts.get(s, 0)) for s in result.counts))
    console.print(table)
    for f in result.failures:
        where = f" at step {f.failed_step.step} ({f.failed_step.name})" if f.failed_step else ""
        console.print(f"[red]{f.state}[/] {f.workflow_id} [{f.workflow}]{where}: ", end="")
        console.print(f.failed_step.error if f.failed_step else f.error, markup=False, highlight=False)


@handles_errors
def retry(
    workflow_id: Annotated[str, typer.Argument(help="The run to resume (see `revloops status`).")],
    config: ConfigOpt = None,
    db: DbOpt = None,
    engine_db: EngineDbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Resume a failed run from its last completed step (a running worker picks it up)."""
    from revloops.engine.retry import retry as retry_run

    with engine_client(config, db, engine_db) as cl:
        result = retry_run(cl, workflow_id)
    if json:
        emit_json(result)
        return
    step = f" from step {result.from_step}" if result.from_step else ""
    console.print(f"{workflow_id} ({result.previous_state}) re-queued{step}")


@contextmanager
def engine_client(config: Path | None, db: str | None, engine_db: str | None) -> Iterator[DBOSClient]:
    """A client on the engine's system database (migrated), closed afterwards."""
    from revloops.engine.setup import client, migrate

    plat = platform(config, db)
    if engine_db:
        plat.settings.engine_db = engine_db
    migrate(plat.settings)
    cl = client(plat.settings)
    try:
        yield cl
    finally:
        cl.destroy()


def _redact(url: str) -> str:
    """A URL without its password, for logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
