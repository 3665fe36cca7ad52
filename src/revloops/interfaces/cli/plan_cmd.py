"""`revloops plan`: what a config change does over the current data, loop by loop (Rich, markdown or JSON).

Exit 0 when both sides validate, 1 when either has problems (each named at its file and line), 3 when the
plan goes past a ``--fail-on`` limit.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from revloops.app.models import ChangePlan, PlanCount, PlanSection
from revloops.interfaces.cli.common import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    application,
    console,
    emit_json,
    err_console,
    handles_errors,
    operator,
    progress_bar,
)

BREACH = 3
SHOWN = 10  # rows of each table in the terminal and in a comment's visible part


def _side(value: str | None) -> str:
    return value if value is not None else "(none)"


def _counts_table(title: str, rows: list[PlanCount], limit: int = SHOWN) -> Table:
    table = Table("from", "to", "records", title=title, title_justify="left")
    for r in rows[:limit]:
        table.add_row(_side(r.old), _side(r.new), f"{r.count:,}")
    if len(rows) > limit:
        table.add_row("...", f"{len(rows) - limit} more", "")
    return table


def _records_table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]], total: int) -> Table:
    table = Table(*header, title=f"{title} (first {min(len(rows), SHOWN)} of {total:,})", title_justify="left")
    for row in rows[:SHOWN]:
        table.add_row(*row)
    return table


def _section_tables(s: PlanSection) -> list[Table]:
    out: list[Table] = []
    if s.route is not None and s.route.moves:
        r = s.route
        out += [_counts_table("by rule", r.by_rule), _counts_table("by owner", r.by_owner)]
        out.append(_records_table("moves", ("lead", "rule", "owner", "why"), [
            (m.record_id, f"{m.old_rule} -> {m.new_rule}", f"{m.old_owner_name} -> {m.new_owner_name}", m.reason)
            for m in r.top], r.moves))
    if s.qualify is not None and s.qualify.changed:
        q = s.qualify
        out.append(_counts_table("bands", q.bands))
        if q.by_rule:
            table = Table("rule", "leads it moves", title="by rule", title_justify="left")
            for rule, n in list(q.by_rule.items())[:SHOWN]:
                table.add_row(rule, f"{n:,}")
            out.append(table)
        out.append(_records_table("leads", ("lead", "company", "score", "band"), [
            (m.lead_id, m.company or "", f"{m.old_total} -> {m.new_total}", f"{m.old_band} -> {m.new_band}")
            for m in q.top], q.changed))
    if s.plays is not None and s.plays.changed:
        p = s.plays
        out.append(_counts_table("changes", p.transitions))
        out.append(_records_table("records", ("record", "name", "from", "to"), [
            (m.record_id, m.name or "", _side(m.old), _side(m.new)) for m in p.top], p.changed))
    if s.deploy is not None and s.deploy.moves:
        d = s.deploy
        out.append(_counts_table("accounts by territory", d.by_territory))
        out.append(_records_table("accounts", ("account", "name", "from", "to"), [
            (m.account_id, m.name or "", _side(m.before), _side(m.after)) for m in d.top], d.moves))
    if s.deploy is not None and (s.deploy.sync_added or s.deploy.sync_dropped):
        table = Table("sync step", title="sync plan changes", title_justify="left")
        for step in s.deploy.sync_added[:SHOWN]:
            table.add_row(f"new  {step}")
        for step in s.deploy.sync_dropped[:SHOWN]:
            table.add_row(f"gone {step}")
        out.append(table)
    if s.design is not None:
        table = Table("figure", "before", "after", "change", title="active scenario", title_justify="left")
        for row in s.design.rows:
            table.add_row(f"{row.section} {row.key}", _num(row.old), _num(row.new), _num(row.delta, signed=True))
        out.append(table)
    return out


def _num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    text = f"{value:,.2f}" if abs(value) < 10 else f"{value:,.0f}"
    return ("+" + text) if signed and value > 0 else text


def render(plan: ChangePlan) -> None:
    """The plan as the terminal shows it."""
    console.print(f"[bold]plan[/] {plan.old} -> {plan.new}", highlight=False)
    if plan.problems:
        console.print("[bold red]the change does not validate[/]")
        for p in plan.problems:
            console.print(f"  {p}", markup=False, highlight=False, soft_wrap=True)
        return
    if not plan.files:
        console.print("no config file changed: nothing to plan")
        return
    for f in plan.files:
        console.print(f"  {f.change:<8} {f.file} ({f.loop})", markup=False, highlight=False)
    for s in plan.sections:
        console.print(f"\n[bold]{s.title}[/]: {s.summary}", highlight=False)
        for table in _section_tables(s):
            console.print(table)
        for item in s.items[:SHOWN * 2]:
            console.print(f"  {item}", markup=False, highlight=False)
    console.print(f"\n{plan.moves:,} changes over {len(plan.sections)} loops (a record may change in more than "
                  f"one); planned in {plan.seconds:.1f} s", highlight=False)
    for b in plan.breaches:
        console.print(f"[bold red]over the limit[/] {b}", highlight=False)


def _md_counts(title: str, rows: list[PlanCount]) -> list[str]:
    if not rows:
        return []
    out = [f"| {title} from | to | records |", "|---|---|---:|"]
    out += [f"| {_md(_side(r.old))} | {_md(_side(r.new))} | {r.count:,} |" for r in rows]
    return out


def _md(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _folded(summary: str, lines: list[str]) -> list[str]:
    if not lines:
        return []
    return ["", f"<details><summary>{summary}</summary>", "", *lines, "", "</details>"]


def markdown(plan: ChangePlan) -> str:
    """The plan as a pull-request comment: short, the counts and the top moves shown, the full lists folded."""
    out = [f"### revloops plan: `{_md(plan.old)}` → `{_md(plan.new)}`", ""]
    if plan.problems:
        out += ["**The change does not validate.**", ""] + [f"- `{_md(p)}`" for p in plan.problems]
        return "\n".join(out) + "\n"
    if not plan.files:
        return "\n".join(out + ["No config file changed: nothing to plan."]) + "\n"
    out += ["| loop | what the change does | records |", "|---|---|---:|"]
    out += [f"| {s.title} | {_md(s.summary)} | {s.moves:,} |" for s in plan.sections]
    out += ["", "Files: " + ", ".join(f"`{f.file}` ({f.change})" for f in plan.files)]
    for b in plan.breaches:
        out += ["", f"> **Over the limit:** {_md(b)}"]
    for s in plan.sections:
        out += ["", f"#### {s.title}", "", _md(s.summary)]
        if s.route is not None and s.route.moves:
            r = s.route
            out += ["", *_md_counts("rule", r.by_rule[:SHOWN]), "", *_md_counts("owner", r.by_owner[:SHOWN])]
            moves = ["| lead | rule | owner | why |", "|---|---|---|---|"]
            moves += [f"| {m.record_id} | {_md(m.old_rule)} → {_md(m.new_rule)} | {_md(m.old_owner_name)} → "
                      f"{_md(m.new_owner_name)} | {m.reason} |" for m in r.top]
            out += _folded(f"first {len(r.top)} of {r.moves:,} moves", moves)
            if len(r.by_rule) > SHOWN or len(r.by_owner) > SHOWN:
                out += _folded("every rule and owner change",
                               [*_md_counts("rule", r.by_rule), "", *_md_counts("owner", r.by_owner)])
        if s.qualify is not None and s.qualify.changed:
            q = s.qualify
            out += ["", *_md_counts("band", q.bands)]
            rules = ["| rule | leads it moves |", "|---|---:|"] + [f"| {_md(k)} | {n:,} |"
                                                                   for k, n in q.by_rule.items()]
            out += _folded("by rule", rules)
            leads = ["| lead | company | score | band |", "|---|---|---|---|"]
            leads += [f"| {m.lead_id} | {_md(m.company)} | {m.old_total} → {m.new_total} | {m.old_band} → "
                      f"{m.new_band} |" for m in q.top]
            out += _folded(f"first {len(q.top)} of {q.changed:,} leads", leads)
        if s.plays is not None and s.plays.changed:
            p = s.plays
            out += ["", *_md_counts("from", p.transitions[:SHOWN])]
            rows = ["| record | name | from | to |", "|---|---|---|---|"]
            rows += [f"| {m.record_id} | {_md(m.name)} | {_md(_side(m.old))} | {_md(_side(m.new))} |" for m in p.top]
            out += _folded(f"first {len(p.top)} of {p.changed:,}", rows)
        if s.deploy is not None:
            d = s.deploy
            if d.moves:
                out += ["", *_md_counts("territory", d.by_territory[:SHOWN])]
                rows = ["| account | name | from | to |", "|---|---|---|---|"]
                rows += [f"| {m.account_id} | {_md(m.name)} | {_md(_side(m.before))} | {_md(_side(m.after))} |"
                         for m in d.top]
                out += _folded(f"first {len(d.top)} of {d.moves:,} accounts", rows)
            steps = [f"- new: `{_md(x)}`" for x in d.sync_added] + [f"- gone: `{_md(x)}`" for x in d.sync_dropped]
            out += _folded(f"sync plan: {len(d.sync_added)} steps added, {len(d.sync_dropped)} dropped", steps)
        if s.design is not None and s.design.rows:
            rows = ["| figure | before | after | change |", "|---|---:|---:|---:|"]
            rows += [f"| {r.section} {_md(r.key)} | {_num(r.old)} | {_num(r.new)} | {_num(r.delta, signed=True)} |"
                     for r in s.design.rows]
            out += ["", *rows]
        if s.items:
            out += _folded(f"{len(s.items)} items", [f"- `{_md(i)}`" for i in s.items])
    if plan.unchanged:
        out += ["", "Unchanged: " + ", ".join(plan.unchanged) + "."]
    return "\n".join(out) + "\n"


@handles_errors
def plan(
    against: Annotated[str, typer.Option("--against", help="The git revision to compare the working tree with "
                                                           "(its merge base with HEAD; default HEAD).")] = "HEAD",
    only: Annotated[list[str] | None, typer.Option("--only", help="Plan only these loops (repeatable).")] = None,
    fail_on: Annotated[list[str] | None, typer.Option(
        "--fail-on", help="Exit 3 when the plan goes past it: moves>N, moves>P% or LOOP.moves>N (repeatable).")] = None,
    as_markdown: Annotated[bool, typer.Option("--markdown", help="Print the plan as a pull-request comment.")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What a config change does over the current data, one section per loop that changed."""
    app = application(config, db)
    with progress_bar() as bar:
        task = bar.add_task("planning", total=None)

        def progress(step: str, done: int) -> None:
            bar.update(task, description=f"{step} {done:,}" if done else step)

        found = app.plan_change(operator(), against=against, only=only, fail_on=fail_on or (), progress=progress)
    if as_json:
        emit_json(found)
    elif as_markdown:
        typer.echo(markdown(found), nl=False)
    else:
        render(found)
    if found.problems:
        raise typer.Exit(1)
    if found.breaches:
        if as_json or as_markdown:
            for b in found.breaches:
                err_console.print(f"over the limit: {b}", markup=False, highlight=False)
        raise typer.Exit(BREACH)
