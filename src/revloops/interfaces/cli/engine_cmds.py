"""`revloops worker`, `revloops status`, `revloops retry`: run, watch and unstick the workflow engine."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

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
    app = application(config, db, engine_db=engine_db)
    name = executor_id or app.settings.executor_id
    console.print(f"worker {name} on {app.engine_target}")
    app.run_worker(operator(), executor_id=name, queues=queue or None, modules=tuple(module or ()))


@handles_errors
def status(
    failures: Annotated[int, typer.Option(help="How many recent failures to show.")] = 10,
    config: ConfigOpt = None,
    db: DbOpt = None,
    engine_db: EngineDbOpt = None,
    json: JsonOpt = False,
) -> None:
    """Workflow runs by state, per workflow, and the latest failures with their errors."""
    app = application(config, db, engine_db=engine_db)
    result = app.workflow_status(operator(), failures=failures)
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
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say where it would resume; change nothing.")] = False,
    json: JsonOpt = False,
) -> None:
    """Resume a failed run from its last completed step (a running worker picks it up)."""
    app = application(config, db, engine_db=engine_db)
    result = app.retry_workflow(operator(), workflow_id, dry_run=dry_run)
    if json:
        emit_json(result)
        return
    step = f" from step {result.from_step}" if result.from_step else ""
    done = "would be re-queued (dry run)" if dry_run else "re-queued"
    console.print(f"{workflow_id} ({result.previous_state}) {done}{step}")
