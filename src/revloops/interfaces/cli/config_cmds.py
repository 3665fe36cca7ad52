"""`revloops validate` and `revloops schema`."""

from __future__ import annotations

from pathlib import Path
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


@handles_errors
def validate(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Check the config directory: every file, every cross-reference. Exit 1 listing every problem."""
    info = application(config, db).validate_config(operator())
    if as_json:
        emit_json(info)
        return
    table = Table(title=f"config OK · version {info.version[:20]}")
    for col in ("file", "loop", "items"):
        table.add_column(col)
    for f in info.files:
        table.add_row(f.file, f.loop, str(f.items))
    console.print(table)
    for w in info.warnings:
        console.print(f"[yellow]warning[/] {w}", highlight=False, soft_wrap=True)
    if info.unchecked:
        console.print(f"[dim]{len(info.unchecked)} queue and user references not checked against a CRM: "
                      f"{info.unchecked[0]}{' …' if len(info.unchecked) > 1 else ''}[/]", highlight=False)


@handles_errors
def schema(
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the JSON Schema files (default: "
                                              "<config>/../schemas).")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a JSON Schema for every config file, so editors check the YAML as you type."""
    written = application(config, db).write_schemas(operator(), out)
    if as_json:
        emit_json(written)
        return
    for w in written:
        console.print(f"{w.schema_path}  ← config/{w.file}")
    console.print(
        "[dim]VS Code (YAML extension): map them in settings under \"yaml.schemas\", "
        "or add '# yaml-language-server: $schema=<path>' at the top of a file.[/]"
    )
