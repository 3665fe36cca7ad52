"""`revloops route resolve|preview`: one record live, or many through the batch path, with diffs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from revloops.config.yamlfile import load_yaml, validate_doc
from revloops.core.errors import ConfigErrors, InputError
from revloops.core.records import SObject
from revloops.dataio import parse_records
from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    console,
    emit_json,
    handles_errors,
    platform,
)
from revloops.interfaces.cli.explain_cmd import render
from revloops.ports.crm import Query

route_app = typer.Typer(help="Route: resolve owners live, preview and diff routing.", no_args_is_help=True)
ObjectOpt = Annotated[str, typer.Option("--object", help="Record type.")]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read a JSON record: {exc}", field=str(path)) from None
    if not isinstance(data, dict):
        raise InputError("the file must hold one JSON object (a record in Salesforce field names)", field=str(path))
    return data


@route_app.command("resolve")
@handles_errors
def resolve_cmd(
    record: Annotated[Path | None, typer.Option("--record", help="A JSON record in Salesforce field names.")] = None,
    record_id: Annotated[str | None, typer.Option("--id", help="A record id in the CRM.")] = None,
    sobject: ObjectOpt = "Lead",
    apply: Annotated[bool, typer.Option("--apply", help="Write the owner to the CRM and store the decision.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Route one record with the full trace (a dry run unless --apply)."""
    from revloops.loops.route.flow import resolve

    body = _read_json(record) if record else None
    decision = resolve(platform(config, db), sobject=sobject, record=body, record_id=record_id, apply=apply,
                       actor="cli")
    if as_json:
        emit_json(decision)
    else:
        render(decision)


def _load_records(plat: Any, records: Path | None, from_crm: bool, sobject: str, limit: int | None) -> list[SObject]:
    if records is not None:
        return parse_records(records, sobject)[:limit]
    if from_crm:
        out = []
        for rec in plat.crm.query_all(Query(sobject)):
            out.append(rec)
            if limit is not None and len(out) >= limit:
                break
        return out
    raise InputError("give --records FILE or --from-crm", field="--records")


def _other_rules(path: Path) -> Any:
    from revloops.loops.route.config import RulesFile

    doc = load_yaml(path, str(path))
    model, errors = validate_doc(doc, RulesFile)
    if errors:
        raise ConfigErrors(errors)
    return model


@route_app.command("preview")
@handles_errors
def preview_cmd(
    records: Annotated[Path | None, typer.Option("--records", help="CSV or JSONL records.")] = None,
    from_crm: Annotated[bool, typer.Option("--from-crm", help="Use the CRM's records.")] = False,
    rules: Annotated[Path | None, typer.Option("--rules", help="A proposed rules file to compare.")] = None,
    against: Annotated[str | None, typer.Option("--against", help="A git revision of the config to compare.")] = None,
    sobject: ObjectOpt = "Lead",
    limit: Annotated[int | None, typer.Option(help="At most this many records.")] = None,
    show: Annotated[int, typer.Option(help="Moves to list in the table.")] = 50,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Owner distribution of many records; with --rules/--against every record whose owner or rule changes."""
    from revloops.config.revision import load_config_at
    from revloops.loops.route.flow import diff, preview
    from revloops.loops.route.types import summarise

    plat = platform(config, db)
    recs = _load_records(plat, records, from_crm, sobject, limit)
    if rules is None and against is None:
        result = preview(plat, recs, sobject=sobject)
        if as_json:
            emit_json(result)
            return
        print_preview(result)
        return
    other_cfg = load_config_at(plat.settings.config, against) if against else None
    moves = diff(plat, recs, other_cfg=other_cfg, other_rules=_other_rules(rules) if rules else None,
                 sobject=sobject)
    summary = summarise(moves)
    if as_json:
        emit_json({"records": len(recs), "moves": [m.model_dump() for m in moves], "summary": summary})
        return
    _print_moves(len(recs), moves, summary, show)


def print_preview(result: Any, top: int | None = None) -> None:
    """The distribution by rule and by owner (the ``top`` largest of each, or all)."""
    table = Table("rule", "records", title=f"routing of {result.total} records: by rule")
    for rule, n in list(result.by_rule.items())[:top]:
        table.add_row(rule, str(n))
    console.print(table)
    owners = Table("owner", "id", "records", title="by owner")
    for owner, n in list(result.by_owner.items())[:top]:
        owners.add_row(result.owner_names.get(owner, owner), owner, str(n))
    console.print(owners)


def _print_moves(total: int, moves: list[Any], summary: dict[str, dict[str, int]], show: int) -> None:
    console.print(f"{len(moves)} of {total} records change rule or owner")
    table = Table("record", "old rule", "new rule", "old owner", "new owner")
    for m in moves[:show]:
        table.add_row(m.record_id, m.old_rule or "-", m.new_rule or "-", m.old_owner_name, m.new_owner_name)
    console.print(table)
    if len(moves) > show:
        console.print(f"[dim]... {len(moves) - show} more (use --json for all)[/]")
    rules = Table("rule change", "records", title="moves per rule")
    for key, n in summary["by_rule"].items():
        rules.add_row(key, str(n))
    console.print(rules)
    owners = Table("owner", "net change", title="moves per owner")
    for name, n in summary["by_owner"].items():
        owners.add_row(name, f"{n:+d}")
    console.print(owners)
