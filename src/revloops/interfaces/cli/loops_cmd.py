"""`revloops loops`: the ten loops, their six parts and which exist in code now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from revloops.config import layout
from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    console,
    emit_json,
    handles_errors,
    platform,
)
from revloops.loops.registry import LOOPS, PARTS, part_status


def _files(root: Path, loop: str) -> dict[str, bool]:
    """The loop's config files and whether the config directory has them."""
    return {spec.pattern: any(root.glob(spec.pattern)) for spec in layout.FILES if spec.loop == loop}


@handles_errors
def loops(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """List the ten loops with the status of each of their six parts (and which config files are present)."""
    root = Path(platform(config, db).settings.config)
    rows: list[dict[str, Any]] = [
        {"loop": lp.name, "chain": lp.chain, "purpose": lp.purpose, "parts": part_status(lp.name),
         "config_files": _files(root, lp.name), "inputs": lp.inputs, "outputs": lp.outputs,
         "metrics": lp.metrics, "feedback": lp.feedback}
        for lp in LOOPS
    ]
    if as_json:
        emit_json(rows)
        return
    table = Table("chain", "loop", "parts in code (config logic inputs outputs metrics feedback)",
                  title="the ten loops")
    for row in rows:
        marks = " ".join(f"[green]✓{p}[/]" if row["parts"][p] else f"[dim]✗{p}[/]" for p in PARTS)
        table.add_row(row["chain"], f"[bold]{row['loop']}[/]", marks)
    console.print(table)
    console.print("[dim]✓ in code now, ✗ not yet; `revloops loops --json` adds purpose, inputs, outputs[/]")
