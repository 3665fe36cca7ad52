"""Milestone plans through the application layer on the embedded CRM: each way Salesforce Action Plans and
NPSP engagement plans are known to go wrong gets a case here, then re-runs, conditional milestones, a deal's
close, onboarding and who sees which task.

The CRM's tasks are the record: every check reads them back from the CRM (by their ``plan:<instance>:``
keys), not from what an action answered.
"""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest

from revloops.app import Caller, open_app
from revloops.app.context import Revloops
from revloops.app.retention import PlanMilestone, PlanResult
from revloops.core.errors import InputError, NotFound
from revloops.core.milestones import task_key
from revloops.core.records import Account, Opportunity, Task, User
from revloops.loops.onboard.flow import handoff_key
from revloops.loops.plays import DONE, SET_ASIDE, WAITING, find_play, reconcile
from revloops.loops.pursue.flow import on_stage, start_pursue
from revloops.ports.crm import Filter, Query

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
OPS = Caller.operator("test")
ENTERPRISE = "enterprise-new-logo"
# Every account of these tests is in California: US federal holidays plus the state's own.
COUNTRY, STATE = "US", "CA"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Revloops]:
    """A private copy of the example config over an empty state database with the embedded CRM."""
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE, config)
    revloops = open_app(config=config, db=f"sqlite:///{tmp_path / 'state.sqlite'}", crm="local",
                        state_dir=tmp_path)
    yield revloops
    revloops.close()


# -- records and reads ---------------------------------------------------------------------------------


def rep(app: Revloops, name: str) -> str:
    email = f"{name}@plans.example"
    return app.platform.crm.create(User(Username=email, Email=email, LastName=name.title()))


def deal(app: Revloops, owner: str, *, employees: int = 5000, amount: float = 200000,
         stage: str = "Prospecting", **fields: Any) -> str:
    """An account in California and an open opportunity on it, both owned by ``owner``; a ``CreatedDate``
    among ``fields`` is kept (the opportunity is created with its audit fields, as one imported from elsewhere)."""
    crm = app.platform.crm
    account = crm.create(Account(Name=f"Account of {owner[-6:]} {employees} {amount}", BillingCountry="United States",
                                 BillingState="CA", NumberOfEmployees=employees, OwnerId=owner))
    return crm.create(Opportunity(Name=f"Deal {amount}", AccountId=account, StageName=stage, Amount=amount,
                                  CloseDate=dt.date.today() + dt.timedelta(days=90), OwnerId=owner, **fields),
                      audit_fields="CreatedDate" in fields)


def tasks_of(app: Revloops, instance_id: str) -> dict[str, dict[str, Any]]:
    """The CRM's tasks of one plan instance, by milestone."""
    prefix = task_key(instance_id, "")
    found = app.platform.crm.query_all(Query("Task", (Filter("Revloops_Key__c", "like", prefix + "%"),)))
    out: dict[str, dict[str, Any]] = {}
    for task in found:
        key = task.Revloops_Key__c  # type: ignore[attr-defined]
        assert key not in {task_key(instance_id, m) for m in out}, f"two tasks for {key}"
        out[key[len(prefix):]] = task.fields()
    return out


def tasks_on(app: Revloops, record_id: str) -> list[dict[str, Any]]:
    """Every task on a record, made by a plan or not."""
    return [t.fields() for t in app.platform.crm.query_all(Query("Task", (Filter("WhatId", "eq", record_id),)))]


def by_id(plan: PlanResult) -> dict[str, PlanMilestone]:
    return {m.milestone: m for m in plan.milestones}


def started(app: Revloops, opp: str) -> PlanResult:
    result = app.pursue_start(OPS, opp)
    assert isinstance(result, PlanResult), result
    return result


def current(app: Revloops, record_id: str, loop: str = "pursue") -> PlanResult:
    [plan] = [p for p in app.plans_for(OPS, record_id) if p.loop == loop]
    return plan


def at(day: dt.date) -> dt.datetime:
    """Midday in California on ``day``."""
    return dt.datetime.combine(day, dt.time(20), dt.UTC)


@functools.cache
def _holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays(COUNTRY, subdiv=STATE, years=year))


def business_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def business_days_after(day: dt.date, n: int) -> dt.date:
    """The date ``n`` Californian business days after ``day`` (from the next business day when it is none)."""
    while not business_day(day):
        day += dt.timedelta(days=1)
    for _ in range(n):
        day += dt.timedelta(days=1)
        while not business_day(day):
            day += dt.timedelta(days=1)
    return day


def offset(app: Revloops, loop: str, play_id: str, milestone: str) -> int:
    play = find_play(app.platform, loop, play_id)
    return next(m.offset_days for m in play.milestones if m.id == milestone)


# -- what Action Plans and NPSP get wrong --------------------------------------------------------------


def test_only_milestones_that_wait_on_nothing_get_tasks_at_start(app: Revloops) -> None:
    opp = deal(app, rep(app, "ana"))
    plan = started(app, opp)
    assert plan.new and plan.play_id == ENTERPRISE
    play = find_play(app.platform, "pursue", ENTERPRISE)
    roots = {m.id for m in play.milestones if not m.after and m.when is None}
    assert set(tasks_of(app, plan.instance_id)) == roots
    assert len(tasks_on(app, opp)) == len(roots) == plan.created
    for m in plan.milestones:
        if m.milestone in roots:
            assert m.status == "open" and m.task_id is not None
        else:
            assert m.status in ("waiting", "skipped") and m.task_id is None
    assert app.platform.crm.get("Opportunity", opp).Deal_Play__c == ENTERPRISE  # type: ignore[attr-defined]


def test_a_deal_play_counts_from_the_day_the_deal_was_created_where_its_account_is(app: Revloops) -> None:
    friday_evening = dt.datetime(2026, 3, 6, 18, 30, tzinfo=ZoneInfo("America/Los_Angeles"))  # Saturday in UTC
    assert friday_evening.astimezone(dt.UTC).date() == dt.date(2026, 3, 7)
    opp = deal(app, rep(app, "kim"), CreatedDate=friday_evening)  # imported, keeping when it was created
    assert app.platform.crm.get("Opportunity", opp).CreatedDate == friday_evening
    plan = started(app, opp)
    assert plan.started_on == dt.date(2026, 3, 6)
    discovery = by_id(plan)["discovery"]
    assert discovery.due == business_days_after(dt.date(2026, 3, 6), offset(app, "pursue", ENTERPRISE, "discovery"))
    assert tasks_of(app, plan.instance_id)["discovery"]["ActivityDate"] == discovery.due


def test_a_task_no_plan_made_is_neither_completed_nor_reopened(app: Revloops) -> None:
    crm = app.platform.crm
    opp = deal(app, rep(app, "lea"))
    started(app, opp)
    mine = crm.create(Task(Subject="Call the champion back", WhatId=opp, Status="Not Started"))
    done = crm.create(Task(Subject="Sent the deck", WhatId=opp, Status="Completed"))
    with pytest.raises(NotFound):
        app.complete_task(OPS, mine)
    with pytest.raises(NotFound):
        app.reopen_task(OPS, done)
    assert crm.get("Task", mine).Status == "Not Started"  # type: ignore[attr-defined]
    assert crm.get("Task", done).Status == "Completed"  # type: ignore[attr-defined]


def test_reopening_a_task_deletes_no_dependent_and_moves_them_back_to_waiting(app: Revloops) -> None:
    opp = deal(app, rep(app, "ben"))
    plan = started(app, opp)
    discovery = by_id(plan)["discovery"]
    assert discovery.task_id and discovery.due
    late = discovery.due + dt.timedelta(days=9)
    app.complete_task(OPS, discovery.task_id, on=at(late))
    before = tasks_of(app, plan.instance_id)
    dependents = {"technical-validation", "business-case"}
    assert set(before) == {"discovery"} | dependents
    reopened = app.reopen_task(OPS, discovery.task_id)
    after = tasks_of(app, plan.instance_id)
    assert {m: t["Id"] for m, t in after.items()} == {m: t["Id"] for m, t in before.items()}  # none deleted
    assert len(tasks_on(app, opp)) == len(before)
    assert after["discovery"]["Status"] == "Not Started" and by_id(reopened)["discovery"].status == "open"
    for mid in dependents:
        projected = business_days_after(discovery.due, offset(app, "pursue", ENTERPRISE, mid))
        assert after[mid]["Status"] == WAITING
        assert after[mid]["ActivityDate"] == projected != before[mid]["ActivityDate"]
        assert by_id(reopened)[mid].status == "waiting"
    # completed again, a day later: the same tasks open again, dated from the new completion
    again = late + dt.timedelta(days=1)
    app.complete_task(OPS, discovery.task_id, on=at(again))
    final = tasks_of(app, plan.instance_id)
    assert {m: t["Id"] for m, t in final.items()} == {m: t["Id"] for m, t in before.items()}
    for mid in dependents:
        assert final[mid]["Status"] == "Not Started"
        assert final[mid]["ActivityDate"] == business_days_after(again, offset(app, "pursue", ENTERPRISE, mid))


def test_completing_a_task_of_one_plan_leaves_another_plan_of_the_same_play_alone(app: Revloops) -> None:
    owner = rep(app, "cy")
    first, second = started(app, deal(app, owner)), started(app, deal(app, owner, amount=250000))
    assert first.play_id == second.play_id == ENTERPRISE
    untouched = tasks_of(app, second.instance_id)
    untouched_plan = current(app, second.record_id).milestones
    task = by_id(first)["discovery"].task_id
    assert task is not None
    done = app.complete_task(OPS, task, on=at(dt.date.today()))
    assert by_id(done)["discovery"].status == "done"
    assert len(tasks_of(app, first.instance_id)) == 3  # its dependents were created...
    assert tasks_of(app, second.instance_id) == untouched  # ...and the other plan's tasks did not change at all
    assert current(app, second.record_id).milestones == untouched_plan
    assert by_id(current(app, second.record_id))["discovery"].status == "open"


@pytest.mark.parametrize("late", [True, False], ids=["late", "early"])
def test_a_dependents_date_follows_its_predecessors_actual_completion(app: Revloops, late: bool) -> None:
    opp = deal(app, rep(app, "dee"))
    plan = started(app, opp)
    discovery = by_id(plan)["discovery"]
    assert discovery.task_id and discovery.due
    # early: the day the plan started, two business days before discovery was due
    completed = discovery.due + dt.timedelta(days=9) if late else plan.started_on
    app.complete_task(OPS, discovery.task_id, on=at(completed))
    tasks = tasks_of(app, plan.instance_id)
    for mid in ("technical-validation", "business-case"):
        due = business_days_after(completed, offset(app, "pursue", ENTERPRISE, mid))
        assert tasks[mid]["ActivityDate"] == due
        assert tasks[mid]["ActivityDate"] != business_days_after(discovery.due, offset(app, "pursue", ENTERPRISE, mid))
    # the proposal counts from the later completion of its two predecessors, not from the last one recorded
    sooner, later = completed + dt.timedelta(days=1), completed + dt.timedelta(days=12)
    app.complete_task(OPS, tasks["technical-validation"]["Id"], on=at(later))
    app.complete_task(OPS, tasks["business-case"]["Id"], on=at(sooner))
    proposal = tasks_of(app, plan.instance_id)["proposal"]
    assert proposal["ActivityDate"] == business_days_after(later, offset(app, "pursue", ENTERPRISE, "proposal"))
    assert by_id(current(app, opp))["proposal"].basis == "technical-validation done"


# -- re-runs -------------------------------------------------------------------------------------------


def test_re_running_start_and_reconcile_creates_nothing_twice(app: Revloops) -> None:
    opp = deal(app, rep(app, "eli"))
    first = started(app, opp)
    again = started(app, opp)
    assert again.instance_id == first.instance_id and not again.new and again.created == 0
    assert len(app.platform.plans.instances(record_id=opp)) == 1

    def rerun_everything() -> None:
        started(app, opp)
        start_pursue(app.platform, opp)
        reconcile(app.platform, first.instance_id)
        on_stage(app.platform, opp)
        app.plans_for(OPS, opp)

    rerun_everything()
    assert set(tasks_of(app, first.instance_id)) == {"discovery"} and len(tasks_on(app, opp)) == 1
    task = by_id(first)["discovery"].task_id
    assert task is not None
    app.complete_task(OPS, task, on=at(dt.date.today()))
    created = tasks_of(app, first.instance_id)
    rerun_everything()
    app.complete_task(OPS, task, on=at(dt.date.today()))  # the same completion delivered twice
    assert tasks_of(app, first.instance_id).keys() == created.keys() == {"discovery", "technical-validation",
                                                                         "business-case"}
    assert len(tasks_on(app, opp)) == 3


# -- conditional milestones ----------------------------------------------------------------------------


def test_a_conditional_milestone_comes_with_the_stage_and_is_set_aside_when_it_goes(app: Revloops) -> None:
    opp = deal(app, rep(app, "fay"))
    plan = started(app, opp)
    assert by_id(plan)["security-review"].status == "skipped"
    discovery = by_id(plan)["discovery"].task_id
    assert discovery is not None
    app.complete_task(OPS, discovery, on=at(dt.date.today()))
    app.set_stage(OPS, opp, "Proposal")
    view = on_stage(app.platform, opp)
    assert view is not None
    review = next(m for m in view.milestones if m["milestone"] == "security-review")
    assert review["status"] == "waiting"  # its condition holds now, but technical validation is not done
    assert "security-review" not in tasks_of(app, plan.instance_id)
    validation = tasks_of(app, plan.instance_id)["technical-validation"]
    finished = dt.date.today() + dt.timedelta(days=3)
    app.complete_task(OPS, validation["Id"], on=at(finished))
    task = tasks_of(app, plan.instance_id)["security-review"]
    assert task["Status"] == "Not Started"
    assert task["ActivityDate"] == business_days_after(finished, offset(app, "pursue", ENTERPRISE, "security-review"))
    app.set_stage(OPS, opp, "Qualification")
    on_stage(app.platform, opp)
    aside = tasks_of(app, plan.instance_id)["security-review"]
    assert aside["Id"] == task["Id"] and aside["Status"] == SET_ASIDE
    assert by_id(current(app, opp))["security-review"].status == "skipped"
    app.set_stage(OPS, opp, "Negotiation")
    on_stage(app.platform, opp)
    back = tasks_of(app, plan.instance_id)["security-review"]
    assert back["Id"] == task["Id"] and back["Status"] == "Not Started"
    assert len([t for t in tasks_on(app, opp) if "security-review" in (t.get("Revloops_Key__c") or "")]) == 1
    # once done it stays done, whatever the stage does next
    app.complete_task(OPS, back["Id"], on=at(finished + dt.timedelta(days=5)))
    app.set_stage(OPS, opp, "Qualification")
    on_stage(app.platform, opp)
    assert tasks_of(app, plan.instance_id)["security-review"]["Status"] == DONE
    assert by_id(current(app, opp))["security-review"].status == "done"


def test_a_conditional_milestone_whose_predecessor_is_done_gets_its_task_on_the_stage_change(app: Revloops) -> None:
    opp = deal(app, rep(app, "gus"))
    plan = started(app, opp)
    app.complete_task(OPS, by_id(plan)["discovery"].task_id or "", on=at(dt.date.today()))
    finished = dt.date.today() + dt.timedelta(days=1)
    app.complete_task(OPS, tasks_of(app, plan.instance_id)["technical-validation"]["Id"], on=at(finished))
    assert "security-review" not in tasks_of(app, plan.instance_id)  # still prospecting
    app.set_stage(OPS, opp, "Proposal")
    assert "security-review" not in tasks_of(app, plan.instance_id)  # the stage alone reconciles nothing
    on_stage(app.platform, opp)
    task = tasks_of(app, plan.instance_id)["security-review"]
    assert task["ActivityDate"] == business_days_after(finished, offset(app, "pursue", ENTERPRISE, "security-review"))


# -- the close -----------------------------------------------------------------------------------------


def test_a_close_records_the_outcome_and_the_plays_record(app: Revloops) -> None:
    owner = rep(app, "hal")
    won, lost, still_open = (started(app, deal(app, owner, amount=a)) for a in (300000, 100000, 150000))
    discovery = by_id(won)["discovery"]
    assert discovery.task_id and discovery.due
    app.complete_task(OPS, discovery.task_id, on=at(discovery.due))  # on time
    case = by_id(current(app, won.record_id))["business-case"]
    assert case.task_id and case.due
    app.complete_task(OPS, case.task_id, on=at(case.due + dt.timedelta(days=3)))  # late

    app.set_stage(OPS, won.record_id, "Closed Won", on=won.started_on + dt.timedelta(days=30))
    on_stage(app.platform, won.record_id)
    app.set_stage(OPS, lost.record_id, "Closed Lost", on=lost.started_on + dt.timedelta(days=12))
    on_stage(app.platform, lost.record_id)
    on_stage(app.platform, won.record_id)  # a second delivery of the close changes nothing

    closed = current(app, won.record_id)
    assert closed.status == "closed"
    assert closed.outcome == {"result": "won", "cycle_days": 30, "amount": 300000.0, "milestones": 5, "done": 2,
                              "on_time": 1}
    assert (current(app, lost.record_id).outcome or {})["result"] == "lost"
    left = tasks_of(app, won.instance_id)
    assert left["discovery"]["Status"] == left["business-case"]["Status"] == DONE
    assert left["technical-validation"]["Status"] == SET_ASIDE  # what was open is set aside, not deleted
    assert current(app, still_open.record_id).status == "active"
    assert not [t for t in app.my_tasks(OPS).items if t.instance_id == won.instance_id]

    records = {r.play_id: r for r in app.pursue_plays(OPS)}
    enterprise = records[ENTERPRISE]
    assert (enterprise.started, enterprise.open, enterprise.won, enterprise.lost) == (3, 1, 1, 1)
    assert enterprise.win_rate == pytest.approx(1 / 2)
    assert enterprise.win_rate_amount == pytest.approx(300000 / (300000 + 100000))
    assert enterprise.cycle_days == pytest.approx(30)
    assert enterprise.on_time == pytest.approx(1 / 2)
    assert all(r.started == 0 and r.win_rate is None for pid, r in records.items() if pid != ENTERPRISE)


# -- onboarding ----------------------------------------------------------------------------------------

FILLED: dict[str, Any] = {"Use_Cases__c": "Inbound routing", "Champion__c": "Dana (RevOps)", "Economic_Buyer__c": "CRO",
          "Success_Metric__c": "Speed to lead under 5 minutes", "Risks__c": "Data quality"}


def won_deal(app: Revloops, *, employees: int = 5000, amount: float = 150000, closed: dt.date | None = None,
             **fields: Any) -> str:
    opp = deal(app, rep(app, f"csm{employees}{int(amount)}"), employees=employees, amount=amount, **fields)
    app.set_stage(OPS, opp, "Closed Won", on=closed or dt.date.today())
    return opp


def onboarded(app: Revloops, opp: str) -> PlanResult:
    result = app.onboard_start(OPS, opp)
    assert isinstance(result, PlanResult), result
    return result


def handoff_tasks(app: Revloops, opp: str) -> list[dict[str, Any]]:
    return [t.fields() for t in app.platform.crm.query_all(
        Query("Task", (Filter("Revloops_Key__c", "eq", handoff_key(opp)),)))]


def test_handoff_gaps_become_one_task_naming_what_is_missing(app: Revloops) -> None:
    given: dict[str, Any] = {k: FILLED[k] for k in ("Use_Cases__c", "Champion__c")}
    opp = won_deal(app, **given)
    onboarded(app, opp)
    again = onboarded(app, opp)
    assert not again.new
    handoff = app.platform.config.get("onboard_plans").handoff
    missing = [i.label for i in handoff if i.field not in given]
    present = [i.label for i in handoff if i.field in given]
    assert missing and present
    [task] = handoff_tasks(app, opp)
    for label in missing:
        assert label in task["Subject"] and label in task["Description"]
    for label in present:
        assert label not in task["Description"]
    assert again.facts["handoff_gaps"] == missing
    [status] = app.onboard_status(OPS, again.account_id or "")
    assert status.handoff_gaps == missing

    complete = won_deal(app, amount=160000, **FILLED)
    assert onboarded(app, complete).facts["handoff_gaps"] == []
    assert handoff_tasks(app, complete) == []


@pytest.mark.parametrize("employees, amount, plan_id, milestone, present", [
    (5000, 150000, "enterprise-onboarding", "exec-sponsor", True),
    (5000, 60000, "enterprise-onboarding", "exec-sponsor", False),
    (50, 60000, "standard-onboarding", "kickoff-call", True),
    (50, 20000, "standard-onboarding", "kickoff-call", False),
])
def test_a_plans_conditional_phase_exists_only_for_a_large_enough_deal(app: Revloops, employees: int, amount: float,
                                                                      plan_id: str, milestone: str,
                                                                      present: bool) -> None:
    opp = won_deal(app, employees=employees, amount=amount, **FILLED)
    plan = onboarded(app, opp)
    assert plan.play_id == plan_id
    state = by_id(plan)[milestone]
    tasks = tasks_of(app, plan.instance_id)
    if present:
        assert state.status == "open" and milestone in tasks
        assert tasks[milestone]["ActivityDate"] == business_days_after(
            plan.started_on, offset(app, "onboard", plan_id, milestone))
    else:
        assert state.status == "skipped" and milestone not in tasks
    roots = {m.milestone for m in plan.milestones if not m.after and m.milestone != milestone}
    assert roots and roots <= set(tasks)  # the unconditional first steps are there either way


def test_completing_the_value_milestone_gives_time_to_value(app: Revloops) -> None:
    close = dt.date.today() - dt.timedelta(days=15)  # the plan counts from the close, not from its start
    opp = won_deal(app, closed=close, **FILLED)
    plan = onboarded(app, opp)
    assert plan.play_id == "enterprise-onboarding" and plan.started_on == close
    account = plan.account_id or ""
    [status] = app.onboard_status(OPS, account)
    assert status.time_to_value_days is None and status.target_days == 45
    steps = [("kickoff", 3), ("integration", 11), ("first-value", 20)]
    for mid, day in steps:
        task = tasks_of(app, plan.instance_id)[mid]
        app.complete_task(OPS, task["Id"], on=at(close + dt.timedelta(days=day)))
        if mid != "first-value":
            assert app.onboard_status(OPS, account)[0].time_to_value_days is None
    [status] = app.onboard_status(OPS, account)
    assert status.time_to_value_days == 20
    assert by_id(status.plan)["qbr"].status == "open"  # the plan goes on after value


# -- scope ---------------------------------------------------------------------------------------------


def test_a_rep_sees_and_completes_only_their_own_tasks(app: Revloops) -> None:
    ivy, jon = rep(app, "ivy"), rep(app, "jon")
    mine, theirs = started(app, deal(app, ivy)), started(app, deal(app, jon))
    as_ivy, as_jon = Caller(user_id=ivy, tier="rep", name="ivy"), Caller(user_id=jon, tier="rep", name="jon")
    my_task, their_task = by_id(mine)["discovery"].task_id, by_id(theirs)["discovery"].task_id
    assert my_task and their_task
    listed = app.my_tasks(as_ivy).items
    assert {t.task_id for t in listed} == {my_task} and all(t.owner_id == ivy for t in listed)
    assert {t.task_id for t in app.my_tasks(as_jon).items} == {their_task}
    assert {t.task_id for t in app.my_tasks(OPS).items} == {my_task, their_task}

    with pytest.raises(NotFound):
        app.complete_task(as_ivy, their_task)
    with pytest.raises(NotFound):
        app.reopen_task(as_ivy, their_task)
    assert tasks_of(app, theirs.instance_id)["discovery"]["Status"] == "Not Started"
    assert by_id(current(app, theirs.record_id))["discovery"].status == "open"

    done = app.complete_task(as_ivy, my_task, on=at(dt.date.today()))
    assert by_id(done)["discovery"].status == "done"
    now_mine = {t.milestone for t in app.my_tasks(as_ivy).items}
    assert now_mine == {"technical-validation", "business-case"}
    assert {t.task_id for t in app.my_tasks(as_jon).items} == {their_task}


def test_open_tasks_fall_in_the_due_buckets_a_rep_asks_for(app: Revloops) -> None:
    ivy = rep(app, "ivy")
    started(app, deal(app, ivy))
    started(app, deal(app, ivy, employees=300, amount=40000))
    rows = app.my_tasks(OPS, limit=500)
    assert rows.total <= 500
    dues = sorted({t.due for t in rows.items if t.due is not None})
    assert len(dues) >= 2, "the open tasks share one due date: nothing to tell apart"
    today = dues[len(dues) // 2]
    sunday = today + dt.timedelta(days=7 - today.isoweekday())
    asked = {due: {t.task_id for t in app.my_tasks(OPS, due=due, today=today, limit=500).items}
             for due in ("overdue", "today", "week")}
    for t in app.my_tasks(OPS, today=today, limit=500).items:
        assert t.due is not None
        expected = ("overdue" if t.due < today else "today" if t.due == today
                    else "week" if t.due <= sunday else "later")
        assert t.bucket == expected, (t.due, today)
        for due, ids in asked.items():
            # this week holds today's tasks too
            assert (t.task_id in ids) == (due == expected or (due == "week" and expected == "today"))
    assert asked["today"] and asked["overdue"]
    with pytest.raises(InputError) as bad:
        app.my_tasks(OPS, due="tomorrow")  # type: ignore[arg-type]
    assert bad.value.field == "due"
