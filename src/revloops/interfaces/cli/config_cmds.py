"""`revloops validate` and `revloops schema`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from revloops.config import layout
from revloops.config.loader import GtmConfig
from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    console,
    emit_json,
    handles_errors,
    platform,
)


def summary(cfg: GtmConfig) -> dict[str, Any]:
    """What a loaded config directory holds: file, owning loop, and how many items each has."""
    files = []
    for spec in layout.FILES:
        value = cfg.files.get(spec.key)
        if value is None or value == {}:
            continue
        if isinstance(value, dict):
            count = len(value)
        else:
            lists = [v for v in value.__dict__.values() if isinstance(v, list | tuple)]
            count = sum(len(v) for v in lists) if lists else 1
        files.append({"key": spec.key, "file": spec.pattern, "loop": spec.loop, "items": count})
    return {"config": str(cfg.root), "version": cfg.version, "files": files}


@handles_errors
def validate(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Check the config directory: every file, every cross-reference. Exit 1 listing every problem."""
    cfg = platform(config, db).config
    info = summary(cfg)
    if as_json:
        emit_json({"ok": True, **info})
        return
    table = Table(title=f"config OK · version {cfg.version[:20]}")
    for col in ("file", "loop", "items"):
        table.add_column(col)
    for f in info["files"]:
        table.add_row(f["file"], f["loop"], str(f["items"]))
    console.print(table)


@handles_errors
def schema(
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the JSON Schema files (default: "
                                              "<config>/../schemas).")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a JSON Schema for every config file, so editors check the YAML as you type."""
    out = out or Path(platform(config, db).settings.config).resolve().parent / "schemas"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in layout.FILES:
        target = out / f"{spec.key}.schema.json"
        body = spec.model.model_json_schema()
        body["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        body.setdefault("title", spec.pattern)
        target.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        written.append({"file": spec.pattern, "schema": str(target)})
    if as_json:
        emit_json(written)
        return
    for w in written:
        console.print(f"{w['schema']}  ← config/{w['file']}")
    console.print(
        "[dim]VS Code (YAML extension): map them in settings under \"yaml.schemas\", "
        "or add '# yaml-language-server: $schema=<path>' at the top of a file.[/]"
    )
