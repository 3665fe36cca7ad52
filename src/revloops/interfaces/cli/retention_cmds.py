"""`revloops pursue|onboard|expand|tasks ...`: deal plays, onboarding, health and renewals, milestone tasks."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from revloops.app.models import (
    BacktestResult,
    HealthDetail,
    HealthList,
    NoPlay,
    OnboardingResult,
    Page,
    PipelineRow,
    PlanResult,
    PlayRecord,
    RenewalsResult,
    TaskRow,
    TriggeredResult,
)
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

pursue_app = typer.Typer(help="Pursue: deal plays with staggered milestones, compared by outcome.",
                         no_args_is_help=True)
onboard_app = typer.Typer(help="Onboard: the handoff, the customer team and the onboarding plan.",
                          no_args_is_help=True)
expand_app = typer.Typer(help="Expand: customer health, its back-test, renewals.", no_args_is_help=True)
tasks_app = typer.Typer(help="Milestone tasks of every plan: mine, complete, reopen.", no_args_is_help=True)

AsOfOpt = Annotated[dt.datetime | None, typer.Option("--as-of", formats=["%Y-%m-%d"],
                                                     help="The day to compute for (default today).")]
LimitOpt = Annotated[int, typer.Option("--limit", help="At most this many rows.")]
CursorOpt = Annotated[str | None, typer.Option("--cursor", help="The next page's cursor from a previous answer.")]


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value is not None else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


# -- printing ----------------------------------------------------------------------------------------------


def print_plan(plan: PlanResult | NoPlay) -> None:
    """A plan's milestones with their status, owner and staggered due dates."""
    if isinstance(plan, NoPlay):
        console.print(f"[yellow]{plan.decision.outcome}[/] for {plan.record_id}: {plan.decision.explanation}")
        return
    head = f"[bold]{plan.loop} · {plan.play_id}[/] on {plan.record_id} · started {plan.started_on} · {plan.status}"
    if plan.new:
        head += " · [green]new[/]"
    console.print(head + f" · +{plan.created} tasks, {plan.moved} moved")
    if plan.explanation:
        console.print(f"[dim]{escape(plan.explanation)}[/]")
    if plan.outcome:
        console.print("outcome: " + ", ".join(f"{k} {v}" for k, v in plan.outcome.items()))
    colours = {"open": "cyan", "done": "green", "waiting": "dim", "skipped": "yellow"}
    table = Table("milestone", "status", "due", "counted from", "owner", "task")
    for m in plan.milestones:
        due = f"{m.due:%a %d %b %Y}" if m.due else "-"
        done = f" (done {m.completed_on})" if m.completed_on else ""
        table.add_row(escape(m.subject), f"[{colours.get(m.status, 'white')}]{m.status}[/]{done}", due, m.basis,
                      f"{m.owner_role}: {m.owner_id or '-'}", m.task_id or "")
    console.print(table)


def print_tasks(page: Page[TaskRow]) -> None:
    """Open milestone tasks, soonest first."""
    table = Table("due", "task", "loop · play", "record", "owner", "task id")
    for t in page.items:
        table.add_row(f"{t.due or '-'} {t.bucket or ''}".strip(), escape(t.subject), f"{t.loop} · {t.play_id}", t.record_id, t.owner_id or "-",
                      t.task_id or "")
    console.print(table)
    more = f" · next: --cursor {page.next_cursor}" if page.next_cursor else ""
    console.print(f"{len(page.items)} of {page.total} open tasks{more}")


def print_plays(rows: list[PlayRecord]) -> None:
    """Deal plays side by side."""
    table = Table("play", "started", "open", "won", "lost", "win rate (count)", "win rate (amount)",
                  "cycle (won, days)", "milestones on time")
    for r in rows:
        table.add_row(f"{r.play_id} [dim]{escape(r.name)}[/]", str(r.started), str(r.open), str(r.won), str(r.lost),
                      _pct(r.win_rate), _pct(r.win_rate_amount), "-" if r.cycle_days is None else f"{r.cycle_days:.0f}",
                      _pct(r.on_time))
    console.print(table)


def print_onboarding(rows: list[OnboardingResult]) -> None:
    """Each onboarding: team, handoff gaps, time to value, then its plan."""
    if not rows:
        console.print("no onboarding for this account")
    for r in rows:
        team = ", ".join(f"{role}: {user or '-'}" for role, user in r.team.items())
        gaps = ", ".join(r.handoff_gaps) if r.handoff_gaps else "none"
        ttv = f"{r.time_to_value_days} days" if r.time_to_value_days is not None else "not reached"
        console.print(f"team {team} · handoff gaps: [{'red' if r.handoff_gaps else 'green'}]{gaps}[/] · "
                      f"time to value {ttv} (target {r.target_days} days)")
        print_plan(r.plan)


_BAND = {"red": "red", "yellow": "yellow", "green": "green"}


def print_health(found: HealthList) -> None:
    """Customers' health, worst first, with counts per band."""
    console.print(f"health on {found.as_of}: " + ", ".join(
        f"[{_BAND.get(b, 'white')}]{b} {n}[/]" for b, n in sorted(found.bands.items())))
    table = Table("account", "score", "band", "ARR", "contract end", "owner")
    for r in found.page.items:
        table.add_row(f"{escape(r.account or '')} [dim]{r.account_id}[/]", f"{r.score:.1f}",
                      f"[{_BAND.get(r.band, 'white')}]{r.band}[/]", f"{r.arr:,.0f}" if r.arr else "-",
                      str(r.contract_end or "-"), r.owner_id or "-")
    console.print(table)
    more = f" · next: --cursor {found.page.next_cursor}" if found.page.next_cursor else ""
    console.print(f"{len(found.page.items)} of {found.page.total}{more}")


def print_health_detail(found: HealthDetail) -> None:
    """One account's health, term by term."""
    console.print(f"[bold]{found.account_id}[/] on {found.as_of}: {found.score:.1f} "
                  f"[{_BAND.get(found.band, 'white')}]{found.band}[/]")
    console.print(escape(found.explanation))


def print_backtest(found: BacktestResult) -> None:
    """The back-test's AUC and churn by band."""
    auc = f"{found.auc:.3f}" if found.auc is not None else f"n/a ({found.reason})"
    console.print(f"health on {found.as_of} against churn in the next {found.horizon_days} days: AUC [bold]{auc}[/] "
                  f"over {found.accounts} customers, {found.churned} churned")
    table = Table("band", "accounts", "churned", "churn rate")
    for b in found.by_band:
        table.add_row(str(b.get("band")), str(b.get("accounts")), str(b.get("churned")), _pct(b.get("churn_rate")))
    console.print(table)


def print_renewals(found: RenewalsResult) -> None:
    """Contracts ending soon: window, health, what exists."""
    table = Table("account", "contract end", "days left", "play opens", "ARR", "health", "renewal opp", "plan")
    for r in found.renewals:
        health = f"{r.health:.0f} [{_BAND.get(r.band or '', 'white')}]{r.band}[/]" if r.health is not None else "-"
        opens = f"{r.opens_on}" + (" [green](open)[/]" if r.window_open else "")
        table.add_row(f"{escape(r.account)} [dim]{r.account_id}[/]", str(r.contract_end), str(r.days_left), opens,
                      f"{r.arr:,.0f}" if r.arr else "-", health, r.opportunity_id or "-", r.plan_id or "-")
    console.print(table)
    tail = "dry run: nothing opened (--apply opens the renewals whose window is open)" if found.dry_run \
        else f"opened {len(found.opened)} renewals"
    console.print(f"{len(found.renewals)} contracts end within {found.due_within} days of {found.as_of}; {tail}")


def print_triggered(found: TriggeredResult) -> None:
    """Plays customers' usage or health trigger."""
    table = Table("account", "play", "why", "plan")
    for t in found.triggered:
        table.add_row(f"{escape(t.account)} [dim]{t.account_id}[/]", t.play_id, escape(t.reason), t.plan_id or "-")
    console.print(table)
    for note in found.notes:
        console.print(f"[dim]{escape(note)}[/]")
    tail = "dry run: nothing opened (--apply opens them)" if found.dry_run else f"opened {len(found.opened)} plays"
    console.print(f"{len(found.triggered)} plays triggered on {found.as_of}; {tail}")


def print_pipeline(page: Page[PipelineRow]) -> None:
    """Open deals with their next milestone."""
    table = Table("close", "opportunity", "stage", "amount", "play", "next milestone", "due")
    for r in page.items:
        table.add_row(str(r.close_date or "-"), f"{escape(r.name or '')} [dim]{r.opportunity_id}[/]", r.stage or "-",
                      f"{r.amount:,.0f}" if r.amount else "-", r.play_id or "-", escape(r.next_milestone or "-"),
                      str(r.next_due or "-"))
    console.print(table)
    more = f" · next: --cursor {page.next_cursor}" if page.next_cursor else ""
    console.print(f"{len(page.items)} of {page.total} open opportunities{more}")


# -- pursue -------------------------------------------------------------------------------------------------


@pursue_app.command("plays")
@handles_errors
def plays_cmd(config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every deal play compared: started, open, won, lost, win rate by count and amount, cycle, on time."""
    rows = application(config, db).pursue_plays(operator())
    emit_json(rows) if as_json else print_plays(rows)


@pursue_app.command("pipeline")
@handles_errors
def pipeline_cmd(limit: LimitOpt = 50, cursor: CursorOpt = None,
                 config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Open opportunities closing soonest, each with its next milestone."""
    page = application(config, db).my_pipeline(operator(), limit=limit, cursor=cursor)
    emit_json(page) if as_json else print_pipeline(page)


@pursue_app.command("start")
@handles_errors
def start_cmd(opportunity: Annotated[str, typer.Argument(help="The opportunity's id.")],
              play: Annotated[str | None, typer.Option("--play", help="This play instead of the rules' choice.")] = None,
              config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Start the deal play for an opportunity (once; again shows it as it stands)."""
    plan = application(config, db).pursue_start(operator(), opportunity, play_id=play)
    emit_json(plan) if as_json else print_plan(plan)


@pursue_app.command("show")
@handles_errors
def show_cmd(record: Annotated[str, typer.Argument(help="An opportunity or account id.")],
             config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every plan of a record (deal, onboarding, renewal), reconciled with its tasks now."""
    plans = application(config, db).plans_for(operator(), record)
    if as_json:
        emit_json(plans)
        return
    for plan in plans:
        print_plan(plan)
    if not plans:
        console.print(f"no plan on {record}")


@pursue_app.command("convert")
@handles_errors
def convert_cmd(lead: Annotated[str, typer.Argument(help="The lead's id.")],
                amount: Annotated[float | None, typer.Option("--amount", help="The opportunity's amount.")] = None,
                config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Convert a lead in the embedded CRM (account, contact, opportunity); Salesforce converts its own."""
    done = application(config, db).convert_lead(operator(), lead, amount=amount)
    if as_json:
        emit_json(done)
    else:
        console.print(f"{lead} converted: account {done.account_id}, contact {done.contact_id}, "
                      f"opportunity {done.opportunity_id} (`revloops pursue start {done.opportunity_id}`)")


@pursue_app.command("stage")
@handles_errors
def stage_cmd(opportunity: Annotated[str, typer.Argument(help="The opportunity's id.")],
              stage: Annotated[str, typer.Argument(help="The stage name (Closed Won / Closed Lost close it).")],
              config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Move an opportunity to a stage in the embedded CRM, then reconcile its plans (a close records the
    play's outcome; a win starts onboarding)."""
    app = application(config, db)
    me = operator()
    moved = app.set_stage(me, opportunity, stage)
    plans = app.stage_changed(me, opportunity)
    if as_json:
        emit_json({"stage": moved, "plans": plans})
        return
    console.print(f"{opportunity} is now {stage}")
    for plan in plans:
        print_plan(plan)


# -- onboard ------------------------------------------------------------------------------------------------


@onboard_app.command("status")
@handles_errors
def onboard_status_cmd(account: Annotated[str, typer.Argument(help="The account's id.")],
                       config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """An account's onboarding: team, handoff gaps, time to value and the plan's milestones."""
    rows = application(config, db).onboard_status(operator(), account)
    emit_json(rows) if as_json else print_onboarding(rows)


@onboard_app.command("start")
@handles_errors
def onboard_start_cmd(opportunity: Annotated[str, typer.Argument(help="The won opportunity's id.")],
                      config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Onboard a won deal now (the closed-won event does it by itself)."""
    plan = application(config, db).onboard_start(operator(), opportunity)
    emit_json(plan) if as_json else print_plan(plan)


# -- expand -------------------------------------------------------------------------------------------------


@expand_app.command("health")
@handles_errors
def health_cmd(account: Annotated[str | None, typer.Argument(help="One account, explained term by term.")] = None,
               band: Annotated[str | None, typer.Option("--band", help="Only this band.")] = None,
               as_of: AsOfOpt = None, limit: LimitOpt = 20, cursor: CursorOpt = None,
               apply: Annotated[bool, typer.Option("--apply", help="Write each score and band to its account.")] = False,
               config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Customers' health (worst first, counts per band), or one account's explained term by term; --apply
    writes the scores and bands that changed to the accounts."""
    app, me = application(config, db), operator()
    if apply:
        written = app.write_health(me, as_of=_day(as_of), dry_run=False)
        if as_json:
            emit_json(written)
            return
        console.print(f"health on {written.as_of}: {written.changes} accounts changed, {written.written} written, "
                      f"{written.failed} failed")
        return
    if account is not None:
        one = app.expand_account_health(me, account, as_of=_day(as_of))
        emit_json(one) if as_json else print_health_detail(one)
        return
    found = app.expand_health(me, as_of=_day(as_of), band=band, limit=limit, cursor=cursor)
    emit_json(found) if as_json else print_health(found)


@expand_app.command("backtest")
@handles_errors
def backtest_cmd(as_of: Annotated[dt.datetime, typer.Option("--as-of", formats=["%Y-%m-%d"],
                                                            help="Score customers as they were on this day.")],
                 horizon: Annotated[int, typer.Option("--horizon", help="Days of churn after it that count.")] = 180,
                 config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Score past customers as of a date; the AUC of health against the churn that followed."""
    found = application(config, db).expand_backtest(operator(), as_of=as_of.date(), horizon_days=horizon)
    emit_json(found) if as_json else print_backtest(found)


@expand_app.command("renewals")
@handles_errors
def renewals_cmd(due_within: Annotated[int, typer.Option("--due-within", help="Contracts ending within DAYS.")] = 90,
                 as_of: AsOfOpt = None,
                 apply: Annotated[bool, typer.Option("--apply", help="Open the renewals whose window is open.")] = False,
                 config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Contracts ending soon, their health and renewal window; --apply opens the renewal opportunity (with the
    health breakdown) and its play."""
    found = application(config, db).expand_renewals(operator(), due_within=due_within, as_of=_day(as_of),
                                                    dry_run=not apply)
    emit_json(found) if as_json else print_renewals(found)


@expand_app.command("plays")
@handles_errors
def expand_plays_cmd(as_of: AsOfOpt = None,
                     apply: Annotated[bool, typer.Option("--apply", help="Open the plays not open yet.")] = False,
                     config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """The expansion and save plays customers' usage or health trigger; --apply opens them (once per account)."""
    found = application(config, db).expand_triggered(operator(), as_of=_day(as_of), dry_run=not apply)
    emit_json(found) if as_json else print_triggered(found)


# -- tasks --------------------------------------------------------------------------------------------------


@tasks_app.command("mine")
@handles_errors
def mine_cmd(limit: LimitOpt = 50, cursor: CursorOpt = None,
             due: Annotated[str | None, typer.Option("--due", help="overdue, today or week")] = None,
             config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Open milestone tasks, soonest due first (the operator sees every one); --due overdue|today|week."""
    page = application(config, db).my_tasks(operator(), due=due, limit=limit, cursor=cursor)  # type: ignore[arg-type]
    emit_json(page) if as_json else print_tasks(page)


@tasks_app.command("complete")
@handles_errors
def complete_cmd(task: Annotated[str, typer.Argument(help="The task's id.")],
                 config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Complete a milestone task: the milestones after it get their tasks, due from today."""
    plan = application(config, db).complete_task(operator(), task)
    emit_json(plan) if as_json else print_plan(plan)


@tasks_app.command("reopen")
@handles_errors
def reopen_cmd(task: Annotated[str, typer.Argument(help="The task's id.")],
               config: ConfigOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Reopen a completed milestone task: the milestones after it move back to waiting (none is deleted)."""
    plan = application(config, db).reopen_task(operator(), task)
    emit_json(plan) if as_json else print_plan(plan)
