"""Pursue, Onboard and Expand's actions: deal plays and their record, a deal's plan, onboarding status,
customer health and its back-test, renewals due, and the milestone tasks people work (mine, complete, reopen)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from revloops.app.base import AppBase, Page, page_offset
from revloops.core.decisions import Decision
from revloops.core.errors import InputError, NotFound
from revloops.core.identity import Caller
from revloops.core.model import Frozen
from revloops.loops.plays import PlanView


class PlanMilestone(Frozen):
    """One milestone of a plan: its status (waiting, open, done, skipped), owner, due date and task."""

    milestone: str
    subject: str
    status: str
    owner_id: str | None = None
    owner_role: str = "owner"
    due: dt.date | None = None
    completed_on: dt.date | None = None
    basis: str = "start"
    task_id: str | None = None
    after: list[str] = []


class PlanResult(Frozen):
    """A plan instance and its milestones; ``new`` when this call started it, the tasks it created or moved."""

    instance_id: str
    loop: str
    play_id: str
    record_id: str
    account_id: str | None = None
    started_on: dt.date
    status: str
    outcome: dict[str, Any] | None = None
    milestones: list[PlanMilestone]
    new: bool = False
    created: int = 0
    moved: int = 0
    explanation: str | None = None
    facts: dict[str, Any] = {}
    dry_run: bool = False


class NoPlay(Frozen):
    """No play or plan held for the record: the decision says why."""

    record_id: str
    decision: Decision


class PlayRecord(Frozen):
    """A deal play compared: plans started and open, won and lost, win rate by count and by amount, mean
    cycle of won deals in days, and the share of completed milestones done on time."""

    play_id: str
    name: str
    started: int
    open: int
    won: int
    lost: int
    win_rate: float | None = None
    win_rate_amount: float | None = None
    cycle_days: float | None = None
    on_time: float | None = None


class OnboardingResult(Frozen):
    """One onboarding of an account: its plan, the customer team, the handoff gaps, time to value."""

    plan: PlanResult
    team: dict[str, str | None]
    handoff_gaps: list[str]
    time_to_value_days: int | None = None
    target_days: int | None = None


class HealthRow(Frozen):
    """One customer's health at a date."""

    account_id: str
    account: str | None = None
    owner_id: str | None = None
    score: float
    band: str
    arr: float | None = None
    contract_end: dt.date | None = None


class HealthList(Frozen):
    """Customers' health at a date, worst first: a page of rows, counts per band."""

    as_of: dt.date
    bands: dict[str, int]
    page: Page[HealthRow]


class HealthDetail(Frozen):
    """One account's health explained term by term."""

    account_id: str
    as_of: dt.date
    score: float
    band: str
    new_account: bool
    terms: list[dict[str, Any]]
    explanation: str


class BacktestResult(Frozen):
    """Health scored as of a past date against the churn that followed: AUC (None with the reason when it
    cannot be computed), counts, and churn rate per band."""

    as_of: dt.date
    horizon_days: int
    accounts: int
    churned: int
    auc: float | None = None
    reason: str | None = None
    by_band: list[dict[str, Any]] = []


class RenewalRow(Frozen):
    """A contract ending soon and what exists for its renewal."""

    account_id: str
    account: str
    contract_end: dt.date
    days_left: int
    opens_on: dt.date
    window_open: bool
    arr: float | None = None
    health: float | None = None
    band: str | None = None
    opportunity_id: str | None = None
    plan_id: str | None = None


class RenewalsResult(Frozen):
    """Renewals due within a window; with ``dry_run`` off, the plans opened for those whose window is open."""

    as_of: dt.date
    due_within: int
    renewals: list[RenewalRow]
    opened: list[PlanResult] = []
    dry_run: bool = True


class ConversionResult(Frozen):
    """A converted lead and the account, contact and opportunity of its conversion."""

    lead_id: str
    account_id: str
    contact_id: str
    opportunity_id: str


class StageResult(Frozen):
    """An opportunity moved to a stage."""

    opportunity_id: str
    stage: str
    closed: bool
    won: bool


class HealthWrite(Frozen):
    """Health written to the accounts (or, in a dry run, what would be): how many change, and a sample."""

    as_of: dt.date
    changes: int
    sample: list[dict[str, Any]]
    written: int = 0
    failed: int = 0
    dry_run: bool = True


class TriggeredPlay(Frozen):
    """An expand play a customer's usage or health triggers, and its plan when one is open."""

    account_id: str
    account: str
    play_id: str
    reason: str
    plan_id: str | None = None


class TriggeredResult(Frozen):
    """Plays customers trigger at a date; without ``dry_run``, the plans opened; notes on triggers that wait."""

    as_of: dt.date
    triggered: list[TriggeredPlay]
    opened: list[PlanResult] = []
    notes: list[str] = []
    dry_run: bool = True


class PipelineRow(Frozen):
    """An open opportunity with its next milestone (the soonest open one of its plans)."""

    opportunity_id: str
    name: str | None = None
    stage: str | None = None
    amount: float | None = None
    close_date: dt.date | None = None
    owner_id: str | None = None
    play_id: str | None = None
    next_milestone: str | None = None
    next_due: dt.date | None = None
    next_task_id: str | None = None


Due = Literal["overdue", "today", "week"]


def _bucket(due: dt.date | None, today: dt.date, sunday: dt.date) -> str | None:
    """Where a due date falls for a rep's day: overdue, today, this week, or later."""
    if due is None:
        return None
    if due < today:
        return "overdue"
    if due == today:
        return "today"
    return "week" if due <= sunday else "later"


class TaskRow(Frozen):
    """An open milestone task: what, for which record, due when (``bucket``: overdue, today, week or later), in
    which plan."""

    task_id: str | None
    subject: str
    due: dt.date | None
    owner_id: str | None
    record_id: str
    account_id: str | None
    loop: str
    play_id: str
    instance_id: str
    milestone: str
    bucket: str | None = None


def plan_result(view: PlanView, *, dry_run: bool = False) -> PlanResult:
    """The interface model of a plan view."""
    inst = view.instance
    return PlanResult(
        instance_id=inst.id, loop=inst.loop, play_id=inst.play_id, record_id=inst.record_id,
        account_id=inst.account_id, started_on=inst.started_on, status=inst.status,
        outcome=dict(inst.outcome) if inst.outcome else None,
        milestones=[PlanMilestone(**m) for m in view.milestones], new=view.new, created=view.created,
        moved=view.moved, explanation=view.decision.explanation if view.decision else inst.facts.get("why"),
        facts={k: v for k, v in inst.facts.items() if k not in ("names", "why")}, dry_run=dry_run)


def _day(value: dt.date | None) -> dt.date:
    return value or dt.datetime.now(dt.UTC).date()




def _limit(limit: int) -> int:
    if not 1 <= limit <= 500:
        raise InputError("limit must be 1 to 500", field="limit")
    return limit


class RetentionActions(AppBase):
    """Deal plays, onboarding, health and renewals, and the milestone tasks."""

    # -- Pursue --------------------------------------------------------------------------------------------

    def pursue_plays(self, caller: Caller) -> list[PlayRecord]:
        """Every deal play's record: started, open, won, lost, win rate, cycle, milestones on time."""
        from revloops.loops.pursue.flow import play_stats

        self.require(caller, "manager")
        return [PlayRecord(**vars(s)) for s in play_stats(self.platform)]

    def pursue_start(self, caller: Caller, opportunity_id: str, *, play_id: str | None = None,
                     today: dt.date | None = None) -> PlanResult | NoPlay:
        """Start the deal play for an opportunity (once; a second call answers the plan as it stands)."""
        from revloops.loops.pursue.flow import start_pursue

        self.require(caller, "ops")
        result = start_pursue(self.platform, self._opportunity(caller, opportunity_id), actor=caller.actor,
                              play_id=play_id, today=today)
        return NoPlay(record_id=opportunity_id, decision=result) if isinstance(result, Decision) else plan_result(result)

    def stage_changed(self, caller: Caller, opportunity_id: str, *, today: dt.date | None = None) -> list[PlanResult]:
        """What the engine does on a stage change, now: reconcile the deal's plan (conditional milestones; a
        close records the play's outcome) and, for a won deal, start its onboarding."""
        from revloops.loops.onboard.flow import start_onboarding
        from revloops.loops.pursue.flow import on_stage

        self.require(caller, "ops")
        opp = self._opportunity(caller, opportunity_id)
        out = []
        view = on_stage(self.platform, opp, today=today)
        if view is not None:
            out.append(plan_result(view))
        if self.platform.crm.get("Opportunity", opp).fields().get("IsWon"):
            onboarding = start_onboarding(self.platform, opp, actor=caller.actor, today=today)
            if not isinstance(onboarding, Decision):
                out.append(plan_result(onboarding))
        return out

    def plans_for(self, caller: Caller, record_id: str) -> list[PlanResult]:
        """Every plan of a record (an opportunity or an account), reconciled now."""
        from revloops.loops.plays import reconcile

        if not self.can_see(caller, record_id):
            raise NotFound(f"no record {record_id}")
        plans = self.platform.plans
        found = plans.instances(record_id=record_id) or plans.instances(account_id=record_id)
        return [plan_result(reconcile(self.platform, inst)) for inst in found]

    def _opportunity(self, caller: Caller, opportunity_id: str) -> str:
        if not opportunity_id.startswith("006") or not self.can_see(caller, opportunity_id):
            raise NotFound(f"no opportunity {opportunity_id}")
        return opportunity_id

    # -- Onboard -------------------------------------------------------------------------------------------

    def onboard_start(self, caller: Caller, opportunity_id: str, *, today: dt.date | None = None) -> PlanResult | NoPlay:
        """Onboard a won deal (once): the handoff gaps task, the customer team, the plan's first tasks."""
        from revloops.loops.onboard.flow import start_onboarding

        self.require(caller, "ops")
        result = start_onboarding(self.platform, self._opportunity(caller, opportunity_id), actor=caller.actor,
                                  today=today)
        return NoPlay(record_id=opportunity_id, decision=result) if isinstance(result, Decision) else plan_result(result)

    def onboard_status(self, caller: Caller, account_id: str) -> list[OnboardingResult]:
        """An account's onboardings: plan, team, handoff gaps and time to value (newest first)."""
        from revloops.loops.onboard.flow import status

        if not account_id.startswith("001") or not self.can_see(caller, account_id):
            raise NotFound(f"no account {account_id}")
        return [OnboardingResult(plan=plan_result(s.view), team=s.team, handoff_gaps=s.handoff_gaps,
                                 time_to_value_days=s.time_to_value_days, target_days=s.target_days)
                for s in status(self.platform, account_id)]

    # -- Expand --------------------------------------------------------------------------------------------

    def expand_health(self, caller: Caller, *, as_of: dt.date | None = None, band: str | None = None,
                      limit: int = 50, cursor: str | None = None) -> HealthList:
        """Every customer's health at a date (worst first), with counts per band; a rep or manager sees the
        accounts they (and their team) own."""
        import polars as pl

        from revloops.loops.expand.flow import health_frame

        day = _day(as_of)
        frame = health_frame(self.platform, day)
        owners = self.visible_owners(caller)
        if owners is not None:
            frame = frame.filter(pl.col("OwnerId").is_in(list(owners)))
        counts = {str(k): int(v) for k, v in frame.group_by("band").len().iter_rows()}
        if band is not None:
            frame = frame.filter(pl.col("band") == band)
        frame = frame.sort("score", "Id")
        start, size = page_offset(cursor), _limit(limit)
        rows = [HealthRow(account_id=r["Id"], account=r["Name"], owner_id=r["OwnerId"], score=r["score"],
                          band=r["band"], arr=r["ARR__c"], contract_end=r["Contract_End__c"])
                for r in frame.slice(start, size).iter_rows(named=True)]
        nxt = str(start + size) if start + size < frame.height else None
        return HealthList(as_of=day, bands=counts, page=Page[HealthRow](items=rows, total=frame.height,
                                                                         next_cursor=nxt))

    def write_health(self, caller: Caller, *, as_of: dt.date | None = None, dry_run: bool = True) -> HealthWrite:
        """Put every customer's health on its account (``Health_Score__c``, ``Health_Band__c``) where it
        changed, so the field sees it in the CRM; a dry run counts the changes."""
        from revloops.loops.expand.flow import health_changes

        self.require(caller, "ops")
        day = _day(as_of)
        changes = health_changes(self.platform, day)
        sample = [{"account_id": rid, **fields} for rid, fields in changes[:10]]
        if dry_run:
            return HealthWrite(as_of=day, changes=len(changes), sample=sample)
        results = self.platform.crm.bulk_update("Account", changes)
        ok = sum(1 for r in results if r.success)
        return HealthWrite(as_of=day, changes=len(changes), sample=sample, written=ok, failed=len(results) - ok,
                           dry_run=False)

    def expand_account_health(self, caller: Caller, account_id: str, *, as_of: dt.date | None = None) -> HealthDetail:
        """One account's health, term by term."""
        from revloops.loops.expand.flow import account_health

        if not account_id.startswith("001") or not self.can_see(caller, account_id):
            raise NotFound(f"no account {account_id}")
        day = _day(as_of)
        found = account_health(self.platform, account_id, day)
        return HealthDetail(account_id=account_id, as_of=day, score=found.score, band=found.band,
                            new_account=found.new_account, terms=[t.model_dump(mode="json") for t in found.terms],
                            explanation=found.explanation())

    def expand_backtest(self, caller: Caller, *, as_of: dt.date, horizon_days: int = 180) -> BacktestResult:
        """Health as of a past date against the churn of the following ``horizon_days``: the AUC."""
        from revloops.loops.expand.flow import backtest

        self.require(caller, "leadership")
        if not 1 <= horizon_days <= 1095:
            raise InputError("horizon_days must be 1 to 1095", field="horizon_days")
        found = backtest(self.platform, as_of, horizon_days)
        return BacktestResult(as_of=as_of, horizon_days=horizon_days, accounts=found.accounts,
                              churned=found.churned, auc=found.auc, reason=found.reason,
                              by_band=[b.model_dump(mode="json") for b in found.bands])

    def expand_renewals(self, caller: Caller, *, due_within: int = 90, as_of: dt.date | None = None,
                        dry_run: bool = True) -> RenewalsResult:
        """Contracts ending within ``due_within`` days; without ``dry_run``, open the renewal (opportunity with
        the health breakdown, and the renewal play) of each whose window is open and has none yet."""
        from revloops.loops.expand.flow import open_renewal, renewals

        self.require(caller, "manager" if dry_run else "ops")
        day = _day(as_of)
        due = renewals(self.platform, due_within=due_within, as_of=day)
        owners = self.visible_owners(caller)
        opened: list[PlanResult] = []
        if not dry_run:
            for r in due:
                if r.window_open and r.plan_id is None:
                    opened.append(plan_result(open_renewal(self.platform, r, as_of=day, actor=caller.actor)))
            due = renewals(self.platform, due_within=due_within, as_of=day)
        rows = [RenewalRow(**vars(r)) for r in due
                if owners is None or self._account_owner(r.account_id) in owners]
        return RenewalsResult(as_of=day, due_within=due_within, renewals=rows, opened=opened, dry_run=dry_run)

    def expand_triggered(self, caller: Caller, *, as_of: dt.date | None = None, dry_run: bool = True) -> TriggeredResult:
        """The usage and health-drop plays customers trigger; without ``dry_run``, open those not open yet."""
        from revloops.loops.expand.flow import open_triggered, triggered

        self.require(caller, "manager" if dry_run else "ops")
        day = _day(as_of)
        hits, notes = triggered(self.platform, as_of=day)
        opened: list[PlanResult] = []
        if not dry_run:
            for hit in hits:
                if hit.plan_id is None:
                    opened.append(plan_result(open_triggered(self.platform, hit, as_of=day, actor=caller.actor)))
            hits, notes = triggered(self.platform, as_of=day)
        owners = self.visible_owners(caller)
        rows = [TriggeredPlay(**vars(h)) for h in hits
                if owners is None or self._account_owner(h.account_id) in owners]
        return TriggeredResult(as_of=day, triggered=rows, opened=opened, notes=notes, dry_run=dry_run)

    def my_pipeline(self, caller: Caller, *, limit: int = 50, cursor: str | None = None) -> Page[PipelineRow]:
        """Open opportunities in the caller's scope, closing soonest first, each with its next milestone."""
        from revloops.ports.crm import Query

        query = Query("Opportunity", order_by=(("CloseDate", False), ("Id", False))).where("IsClosed", "eq", False)
        owners = self.visible_owners(caller)
        if owners is not None:
            query = query.where("OwnerId", "in", sorted(owners) or ["(none)"])
        try:
            page = self.platform.crm.query(query, page_size=_limit(limit), page_token=cursor)
        except ValueError:
            raise InputError("not a cursor this list gave out", field="cursor") from None
        rows = []
        for opp in page.records:
            f = opp.fields()
            nxt = None
            for inst in self.platform.plans.instances(record_id=opp.Id or "", status="active"):
                for m in self.platform.plans.milestones(inst.id):
                    if m.status == "open" and (nxt is None or (m.due or dt.date.max) < (nxt[1].due or dt.date.max)):
                        nxt = (inst, m)
            rows.append(PipelineRow(
                opportunity_id=opp.Id or "", name=f.get("Name"), stage=f.get("StageName"), amount=f.get("Amount"),
                close_date=f.get("CloseDate"), owner_id=f.get("OwnerId"), play_id=f.get("Deal_Play__c"),
                next_milestone=self._subject_of(nxt[0].loop, nxt[0].play_id, nxt[1].milestone_id,
                                                nxt[0].facts.get("names", {})) if nxt else None,
                next_due=nxt[1].due if nxt else None, next_task_id=nxt[1].task_id if nxt else None))
        return Page[PipelineRow](items=rows, total=page.total, next_cursor=page.next_token)

    def _account_owner(self, account_id: str) -> str | None:
        try:
            return self.platform.crm.get("Account", account_id).fields().get("OwnerId")
        except NotFound:
            return None

    # -- the records plays follow (the embedded CRM; in Salesforce people do these) -------------------------

    def convert_lead(self, caller: Caller, lead_id: str, *, amount: float | None = None,
                     converted_on: dt.date | None = None) -> ConversionResult:
        """Convert a lead: account, contact and opportunity (Salesforce converts leads itself)."""
        self.require(caller, "ops")
        if not lead_id.startswith("00Q") or not self.can_see(caller, lead_id):
            raise NotFound(f"no lead {lead_id}")
        if amount is not None and amount < 0:
            raise InputError("amount must be 0 or more", field="amount")
        done = self.platform.crm.convert_lead(lead_id, amount=amount, converted_on=converted_on)
        return ConversionResult(lead_id=done.lead_id, account_id=done.account_id, contact_id=done.contact_id,
                                opportunity_id=done.opportunity_id)

    def set_stage(self, caller: Caller, opportunity_id: str, stage: str, *, on: dt.date | None = None) -> StageResult:
        """Move an opportunity to a stage; ``Closed Won`` and ``Closed Lost`` close it (won deals get contract
        dates when they have none: a year from the close)."""
        self.require(caller, "ops")
        opp = self.platform.crm.get("Opportunity", self._opportunity(caller, opportunity_id)).fields()
        if not stage.strip() or len(stage) > 40:
            raise InputError("stage must be a stage name (1 to 40 characters)", field="stage")
        day = on or dt.datetime.now(dt.UTC).date()
        closed, won = stage in ("Closed Won", "Closed Lost"), stage == "Closed Won"
        changes: dict[str, Any] = {"StageName": stage, "IsClosed": closed, "IsWon": won}
        if closed:
            changes["CloseDate"] = day.isoformat()
            changes["Probability"] = 100.0 if won else 0.0
        if won and opp.get("Contract_Start__c") is None:
            changes["Contract_Start__c"] = day.isoformat()
            changes["Contract_End__c"] = (day + dt.timedelta(days=365)).isoformat()
        self.platform.crm.update("Opportunity", opportunity_id, changes)
        return StageResult(opportunity_id=opportunity_id, stage=stage, closed=closed, won=won)

    # -- milestone tasks -----------------------------------------------------------------------------------

    def my_tasks(self, caller: Caller, *, due: Due | None = None, today: dt.date | None = None, limit: int = 50,
                 cursor: str | None = None) -> Page[TaskRow]:
        """Open milestone tasks, soonest due first: a rep's own, a manager's team's, everyone's org-wide; with
        ``due`` only those ``overdue`` (before today), due ``today``, or due this ``week`` (today through the
        coming Sunday). Each row says which of these it is (``later`` past this week)."""
        owners = self.visible_owners(caller)
        day = _day(today)
        sunday = day + dt.timedelta(days=7 - day.isoweekday())
        window = {None: (None, None), "overdue": (None, day), "today": (day, day + dt.timedelta(days=1)),
                  "week": (day, sunday + dt.timedelta(days=1))}
        if due not in window:
            raise InputError("due is overdue, today or week", field="due")
        due_from, due_before = window[due]
        found, total = self.platform.plans.open_milestones(owner_ids=sorted(owners) if owners is not None else None,
                                                           limit=_limit(limit), offset=page_offset(cursor),
                                                           due_from=due_from, due_before=due_before)
        items = []
        for inst, m in found:
            subject = self._subject_of(inst.loop, inst.play_id, m.milestone_id, inst.facts.get("names", {}))
            items.append(TaskRow(task_id=m.task_id, subject=subject, due=m.due, owner_id=m.owner_id,
                                 record_id=inst.record_id, account_id=inst.account_id, loop=inst.loop,
                                 play_id=inst.play_id, instance_id=inst.id, milestone=m.milestone_id,
                                 bucket=_bucket(m.due, day, sunday)))
        start = page_offset(cursor)
        nxt = str(start + len(items)) if start + len(items) < total else None
        return Page[TaskRow](items=items, total=total, next_cursor=nxt)

    def _subject_of(self, loop: str, play_id: str, milestone_id: str, names: dict[str, str]) -> str:
        from revloops.loops.plays import find_play, subject_line

        try:
            play = find_play(self.platform, loop, play_id)
        except InputError:
            return milestone_id
        found = next((m for m in play.milestones if m.id == milestone_id), None)
        return subject_line(found, names, "you") if found is not None else milestone_id

    def complete_task(self, caller: Caller, task_id: str, *, on: dt.datetime | None = None) -> PlanResult:
        """Complete a milestone task (the caller's own, or in scope): its dependents' tasks are created."""
        from revloops.loops.plays import complete_task

        view = complete_task(self.platform, self._task(caller, task_id), on=on)
        if view is None:
            raise NotFound(f"task {task_id} belongs to no plan")
        return plan_result(view)

    def reopen_task(self, caller: Caller, task_id: str) -> PlanResult:
        """Reopen a completed milestone task: its dependents move (none is deleted)."""
        from revloops.loops.plays import reopen_task

        view = reopen_task(self.platform, self._task(caller, task_id))
        if view is None:
            raise NotFound(f"task {task_id} belongs to no plan")
        return plan_result(view)

    def _task(self, caller: Caller, task_id: str) -> str:
        if not task_id.startswith("00T") or not self.can_see(caller, task_id):
            raise NotFound(f"no task {task_id}")
        return task_id
