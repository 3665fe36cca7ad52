"""`revloops route resolve|preview`: one record live, or many through the batch path, with diffs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from revloops.app.models import Move, PreviewResult, Proposal, RecordSource
from revloops.core.errors import InputError
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
from revloops.interfaces.cli.explain_cmd import render

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
    body = _read_json(record) if record else None
    decision = application(config, db).resolve_route(operator(), sobject=sobject,  # type: ignore[arg-type]
                                                     record=body, record_id=record_id, dry_run=not apply)
    if as_json:
        emit_json(decision)
    else:
        render(decision)


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
    caps: Annotated[bool, typer.Option("--caps/--no-caps", help="Hold pools' daily caps per day the records "
                                       "were created (default), or lift them.")] = True,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Owner distribution of many records; with --rules/--against every record whose owner or rule changes."""
    if records is None and not from_crm:
        raise InputError("give --records FILE or --from-crm", field="--records")
    source = RecordSource(sobject=sobject, file=records, from_crm=from_crm, limit=limit)
    proposal = Proposal(rules_file=rules, against=against) if rules is not None or against is not None else None
    result = application(config, db).preview_routing(operator(), source, proposal, caps=caps)
    if as_json:
        emit_json(result)
        return
    if result.moves is None:
        print_preview(result)
        return
    _print_moves(result, show)


def print_preview(outcome: PreviewResult, top: int | None = None) -> None:
    """The distribution by rule and by owner (the ``top`` largest of each, or all)."""
    result = outcome.preview
    table = Table("rule", "records", title=f"routing of {result.total} records: by rule")
    caps = (f"daily caps held per day; {result.capped} records pushed past their rule by a cap" if result.caps
            else "daily caps lifted (--no-caps)")
    for rule, n in list(result.by_rule.items())[:top]:
        table.add_row(rule, str(n))
    console.print(table)
    owners = Table("owner", "id", "records", title="by owner")
    for owner, n in list(result.by_owner.items())[:top]:
        owners.add_row(result.owner_names.get(owner, owner), owner, str(n))
    console.print(owners)
    console.print(f"[dim]{caps}[/]")


def _print_moves(result: PreviewResult, show: int) -> None:
    moves: list[Move] = result.moves or []
    summary = result.summary or {"by_rule": {}, "by_owner": {}}
    console.print(f"{result.old} → {result.new}: {len(moves)} of {result.records} records change rule, action or "
                  f"owner; {result.rotation or 0} more only rotate within their pool")
    if result.capped_old or result.capped_new:
        console.print(f"daily caps pushed {result.capped_old} records past their rule before, {result.capped_new} after")
    table = Table("record", "why", "old rule", "new rule", "old owner", "new owner")
    for m in moves[:show]:
        table.add_row(m.record_id, m.reason, m.old_rule or "-", m.new_rule or "-", m.old_owner_name,
                      m.new_owner_name)
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
