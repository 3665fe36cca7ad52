"""`revloops test`: run the cases in config/tests/*.yaml (every kind, or those of --kind); exit 1 on a failure,
with its trace."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from revloops.app.models import CaseResult
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

KindOpt = Annotated[list[str] | None, typer.Option(
    "--kind", help="Only the cases of this kind: route, score, assign, play or health (repeatable).",
    show_default=False)]


def _render_trace(result: CaseResult) -> None:
    for step in result.trace:
        if "conditions" in step:  # rules walked: routing, scoring, match rules, plays
            _render_step(step, show_handler=result.kind == "route")
        elif "why" in step:  # deal plays tried
            mark = "[green]✓[/]" if step.get("matched") else "[dim]✗[/]"
            console.print(f" {mark} [bold]{step.get('rule_id')}[/]  ", end="")
            console.print("; ".join(str(w) for w in step.get("why") or []), markup=False, highlight=False)


def _render_failure(result: CaseResult) -> None:
    console.print(f"\n[red]FAIL[/] {escape(result.file)}: {escape(result.name)}", highlight=False)
    console.print(f"  expected {result.expected}; got {result.got}", markup=False, highlight=False)
    for line in result.explanation.splitlines():
        console.print(f"  {line}", markup=False, highlight=False)
    if result.kind != "health":  # the explanation lists a health score's terms already
        _render_trace(result)


def _row(result: CaseResult) -> list[Any]:
    mark = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
    return [mark, escape(result.file), result.kind, escape(result.name), escape(result.got)]


@handles_errors
def test(kind: KindOpt = None, config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Run the config's test cases: routing (owners resolved as live routing does), scoring, territory
    assignment, plays and health."""
    run = application(config, db).test_config(operator(), kinds=kind)
    failed = [r for r in run.cases if not r.passed]
    if as_json:
        emit_json(run)
    else:
        table = Table("", "file", "kind", "case", "got")
        for r in run.cases:
            table.add_row(*_row(r))
        console.print(table)
        for r in failed:
            _render_failure(r)
        if run.directory == "config":
            console.print("[dim]owners resolved against the config's roster and queues: the CRM holds no org yet[/]")
        console.print(f"{run.passed} passed, {run.failed} failed")
    if failed:
        raise typer.Exit(1)
