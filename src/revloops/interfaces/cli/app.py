"""The `revloops` command line. Commands parse, call a loop, and print; no business logic lives here."""

from __future__ import annotations

import typer

from revloops.core import logsafe
from revloops.interfaces.cli import (
    backup_cmds,
    config_cmds,
    crm_cmds,
    demo,
    engine_cmds,
    explain_cmd,
    generate_cmds,
    loops_cmd,
    mcp_cmd,
    plan_cmd,
    qualify_cmd,
    retention_cmds,
    route_cmds,
    serve_cmd,
    test_cmd,
    warehouse_cmds,
)
from revloops.interfaces.cli import design as design_cmds
from revloops.interfaces.cli import territories as territories_cmds

app = typer.Typer(
    name="revloops",
    help="Revenue Loops: revenue operations as code. Every decision explainable and replayable.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(config_cmds.validate)
app.command()(config_cmds.schema)
app.command()(test_cmd.test)
app.command()(plan_cmd.plan)
app.command()(explain_cmd.explain)
app.command()(loops_cmd.loops)
app.command()(crm_cmds.seed)
app.command()(demo.demo)
app.command()(serve_cmd.serve)
app.command()(mcp_cmd.mcp)
app.command()(engine_cmds.worker)
app.command()(engine_cmds.status)
app.command()(engine_cmds.retry)
app.command()(backup_cmds.backup)
app.command()(backup_cmds.restore)
app.command()(warehouse_cmds.sql)
app.command()(warehouse_cmds.report)
app.add_typer(crm_cmds.crm_app, name="crm")
app.add_typer(route_cmds.route_app, name="route")
app.add_typer(design_cmds.app, name="design")
app.add_typer(qualify_cmd.app, name="qualify")
app.add_typer(territories_cmds.app, name="territories")
app.add_typer(generate_cmds.app, name="generate")
app.add_typer(retention_cmds.pursue_app, name="pursue")
app.add_typer(retention_cmds.onboard_app, name="onboard")
app.add_typer(retention_cmds.expand_app, name="expand")
app.add_typer(retention_cmds.tasks_app, name="tasks")
app.add_typer(warehouse_cmds.warehouse_app, name="warehouse")
app.add_typer(warehouse_cmds.metrics_app, name="metrics")
app.add_typer(warehouse_cmds.coach_app, name="coach")


def main() -> None:
    """Entry point of the `revloops` script."""
    logsafe.install()
    app()
