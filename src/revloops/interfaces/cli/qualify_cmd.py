"""`revloops qualify score --record FILE.json`: a record's score breakdown, without writing anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from revloops.app.models import ScoreResult
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

app = typer.Typer(help="Qualify: enrich and score leads.", no_args_is_help=True)


@app.callback()
def qualify() -> None:
    """Qualify: enrich and score leads."""


def read_record(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The record's fields from a JSON file, and its ``enrichment`` object when the file carries one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path} does not exist", field="--record") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not JSON: {exc.msg}", field="--record", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold one JSON object (a record's fields)", field="--record")
    enrichment = data.pop("enrichment", None)
    if enrichment is not None and not isinstance(enrichment, dict):
        raise InputError("enrichment must be an object", field="enrichment")
    data.pop("attributes", None)
    return data, enrichment


def _render(answer: ScoreResult) -> None:
    result, outcome = answer.score, answer.enrichment
    colour = {"mql": "green", "nurture": "yellow", "disqualified": "red"}[result.band]
    console.print(f"[bold {colour}]{result.band.upper()}[/]  total {result.total}  "
                  f"(fit {result.fit}, intent {result.intent})  "
                  f"[dim]mql >= {result.thresholds.mql}, nurture >= {result.thresholds.nurture}[/]")
    if outcome is not None:
        source = f" from {outcome.provider}" if outcome.provider else ""
        console.print(f"[dim]enrichment: {outcome.status}{source}"
                      f"{' - ' + outcome.note if outcome.note else ''}[/]")
        if outcome.synthetic:
            console.print("[yellow]these firmographics are synthetic: set REVLOOPS_PDL_API_KEY to look them up[/]")
    table = Table("group", "rule", "points", "reason", "because")
    for line in result.breakdown:
        table.add_row(line.group, line.rule_id, f"{line.points:+d}", line.reason, "; ".join(line.evidence))
    console.print(table if result.breakdown else "[dim]no scoring rule held[/]")


@app.command()
@handles_errors
def score(
    record: Annotated[Path, typer.Option("--record", help="A JSON file: one record's fields by API name; an "
                                         "\"enrichment\" object in it is used as is.")],
    enrich: Annotated[bool, typer.Option("--enrich/--no-enrich", help="Ask the enrichment providers.")] = True,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Score one record and show the breakdown: the fit and intent rules that held, their points and reasons."""
    fields, enrichment = read_record(record)
    answer = application(config, db).score_record(operator(), fields, enrichment=enrichment, enrich=enrich)
    if as_json:
        emit_json(answer)
        return
    _render(answer)
