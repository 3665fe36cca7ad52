"""`revloops explain ID`: a decision by its id, or the latest decisions on a record."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel

from revloops.core.decisions import Decision
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


def render(decision: Decision) -> None:
    """One decision, readable: outcome, explanation, then the trace rule by rule."""
    head = (
        f"[bold]{decision.loop}[/] on {decision.sobject} {decision.record_id} → [bold green]{escape(decision.outcome)}[/]\n"
        f"{escape(decision.explanation)}\n"
        f"[dim]{decision.id or 'dry run: not stored'} · {decision.created_at:%Y-%m-%d %H:%M:%S} UTC · by {decision.actor} · "
        f"config {decision.config_version[:16]} · inputs {decision.inputs_digest[:19]}[/]"
    )
    console.print(Panel(head, expand=False))
    if decision.trace and isinstance(decision.trace[0], dict) and "conditions" in decision.trace[0]:
        for step in decision.trace:
            # other loops select by rules too (plays, match rules): their "handler" only names the pick
            _render_step(step, show_handler=decision.loop == "route")
    elif decision.detail:
        for key, value in decision.detail.items():
            console.print(f"  [bold]{key}[/]: {escape(_short(value, 100))}", highlight=False)


def _short(value: object, width: int = 40) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _render_step(step: dict[str, Any], show_handler: bool = True) -> None:
    """One rule of a trace: its conditions with actual values, and the handler's answer when it matched."""
    mark = "[green]✓[/]" if step.get("matched") else "[dim]✗[/]"
    conds = "; ".join(
        f"{c.get('field')} {c.get('op')} {_short(c.get('expected'))} ← "
        + ("(missing)" if c.get("missing") else _short(repr(c.get("actual"))))
        + (" ✓" if c.get("result") else " ✗")
        for c in step.get("conditions", [])
    )
    console.print(f" {mark} [bold]{step.get('rule_id')}[/]  ", end="")
    console.print(conds or "(always)", markup=False, highlight=False)
    handler = step.get("handler")
    if handler and show_handler:
        detail = handler.get("detail") or {}
        facts = ", ".join(f"{k} {_short(v)}" for k, v in detail.items() if k in ("territory", "pool", "why", "queue"))
        answer = handler.get("owner_id") or f"unresolved: {handler.get('reason')}"
        console.print(f"     → {handler.get('type')} ({facts}) → {answer}", markup=False, highlight=False)


@handles_errors
def explain(
    ident: Annotated[str, typer.Argument(help="A decision id (dec_...) or a record id (the latest decisions on it).")],
    limit: Annotated[int, typer.Option(help="How many decisions for a record id.")] = 10,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Why a record got its owner, score, territory or play."""
    found = application(config, db).explain(operator(), ident, limit=limit)
    if as_json:
        emit_json(found if len(found) > 1 or not ident.startswith("dec_") else found[0])
        return
    for decision in reversed(found):  # oldest first tells the story in order
        render(decision)
