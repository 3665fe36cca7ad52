"""`revloops loops`: the ten loops, their six parts and which exist in code now."""

from __future__ import annotations

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


@handles_errors
def loops(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the ten loops with the status of each of their six parts (and which config files are present)."""
    rows = application(config, db).list_loops(operator())
    if as_json:
        emit_json(rows)
        return
    table = Table("chain", "loop", "parts in code (config logic inputs outputs metrics feedback)",
                  title="the ten loops")
    for row in rows:
        marks = " ".join(f"[green]✓{p}[/]" if ok else f"[dim]✗{p}[/]" for p, ok in row.parts.items())
        table.add_row(row.chain, f"[bold]{row.loop}[/]", marks)
    console.print(table)
    console.print("[dim]✓ in code now, ✗ not yet; `revloops loops --json` adds purpose, inputs, outputs[/]")
