"""`revloops test`: run the routing cases in config/tests/*.yaml; exit 1 on a failure, with its trace."""

from __future__ import annotations

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
from revloops.interfaces.cli.explain_cmd import _render_step


@handles_errors
def test(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Run the routing cases (record + expected owner/rule), owners resolved as live routing does."""
    run = application(config, db).test_routing(operator())
    results = run.cases
    failed = [r for r in results if not r.passed]
    if as_json:
        emit_json(run)
    else:
        table = Table("", "file", "case", "rule", "owner")
        for r in results:
            table.add_row("[green]pass[/]" if r.passed else "[red]FAIL[/]", r.file, r.name, r.rule_id or "-",
                          r.owner)
        console.print(table)
        for r in failed:
            console.print(f"\n[red]FAIL[/] {r.file}: {r.name}")
            console.print(f"  expected owner {r.expected_owner or '(any)'} rule {r.expected_rule or '(any)'}; "
                          f"got owner {r.owner} rule {r.rule_id}", markup=False)
            console.print(f"  {r.explanation}", markup=False)
            for step in r.trace:
                _render_step(step)
        if run.directory == "config":
            console.print("[dim]owners resolved against the config's roster and queues: the CRM holds no org yet[/]")
        console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)
