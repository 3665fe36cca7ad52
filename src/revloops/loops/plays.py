"""The milestone flow shared by Pursue, Onboard and Expand: pick a play, start its plan instance for a
record, and keep the CRM's tasks in step with the milestone engine (``core/milestones.py``).

The CRM is where people work: a task completed, reopened or re-dated there is read back on every
reconcile (a ``task.completed`` or ``task.reopened`` event, a stage change, or a command), so the plan's
state follows what reps did. Each milestone's task is upserted by its key (``plan:<instance>:<milestone>``),
so a re-run of any step creates nothing twice; a task is never deleted (a skipped milestone's task is set
aside as ``Deferred``; a dependent of a reopened milestone goes back to waiting with its new date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from revloops.core.calendar import timezone_for
from revloops.core.context import build_context, geo_of, head_count, segment_for
from revloops.core.decisions import Decision, digest
from revloops.core.errors import InputError, NotFound, RecordRejected
from revloops.core.milestones import Milestone, MilestonePlan, MilestoneState, Place, schedule, task_key
from revloops.core.rules.conditions import Condition
from revloops.core.rules.single import compile_condition
from revloops.ports.crm import Filter, Query
from revloops.ports.plans import PlanInstance, StoredMilestone

if TYPE_CHECKING:
    from revloops.config.loader import GtmConfig
    from revloops.ports import Ports

DONE = "Completed"
SET_ASIDE = "Deferred"  # a skipped milestone's task: kept, out of the way
WAITING = "Waiting on someone else"  # a task whose predecessor was reopened


class Play(Protocol):
    """What the flow needs of a play or plan: an id, its milestones and an optional condition."""

    @property
    def id(self) -> str: ...

    @property
    def milestones(self) -> list[Milestone]: ...

    @property
    def when(self) -> Any: ...


@dataclass(frozen=True)
class Selection:
    """The play chosen for a record (None when none holds), why, and each candidate's result."""

    play: Any
    explanation: str
    trace: list[dict[str, Any]]


def select(plays: Sequence[Any], ctx: Mapping[str, Any], what: str = "play") -> Selection:
    """The first of ``plays`` (in the order given) whose ``when`` holds on ``ctx``: the same condition engine
    as routing, so ``segment``, ``Amount``, ``account.Type``... mean exactly what they mean in rules."""
    trace: list[dict[str, Any]] = []
    for play in plays:
        cond: Condition | None = play.when
        if cond is None:
            trace.append({"play": play.id, "holds": True, "why": ["always"]})
            return Selection(play, f"{what} {play.id!r}: it applies to every record", trace)
        holds, _, why = compile_condition(cond).evaluate_why(ctx)
        trace.append({"play": play.id, "holds": holds, "why": why or compile_condition(cond).why(ctx)})
        if holds:
            return Selection(play, f"{what} {play.id!r} because " + "; ".join(why), trace)
    return Selection(None, f"no {what} holds for this record", trace)


# -- the record a plan is about ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """A plan's record read from the CRM: its fields, its account's, its evaluation context and its place."""

    sobject: str
    record: dict[str, Any]
    account: dict[str, Any] | None
    ctx: dict[str, Any]
    place: Place

    @property
    def account_id(self) -> str | None:
        """The account the record belongs to (itself for an account)."""
        return (self.account or {}).get("Id")

    def today(self) -> dt.date:
        """The current day where the record is (its country's time zone)."""
        return dt.datetime.now(ZoneInfo(timezone_for(self.place.country, self.place.region))).date()


def read_subject(plat: Ports, sobject: str, record_id: str) -> Subject:
    """Read a record and its account, with the context its plays' conditions see (``segment`` from the
    account's employees and Design's segments; ``account.*``; ``geo.*`` of the account) and its place."""
    record = plat.crm.get(sobject, record_id).fields()
    account: dict[str, Any] | None = record if sobject == "Account" else None
    if account is None and record.get("AccountId"):
        try:
            account = plat.crm.get("Account", record["AccountId"]).fields()
        except NotFound:
            account = None
    ctx, place = subject_context(plat.config, sobject, record, account)
    return Subject(sobject, record, account, ctx, place)


def subject_context(cfg: GtmConfig, sobject: str, record: Mapping[str, Any],
                    account: Mapping[str, Any] | None) -> tuple[dict[str, Any], Place]:
    """The context a plan's conditions see for a record and its account (``segment`` from the account's
    employees and Design's segments; ``account.*``; ``geo.*`` of the account), and where the record is."""
    capacity = cfg.get("capacity")
    employees = head_count((account or {}).get("NumberOfEmployees"))
    segment = segment_for(employees, capacity.segments) if capacity is not None and employees else None
    # an account's own fields are also its ``account.*``, so one play condition reads an account and a deal alike
    ctx = build_context(record, account=account, segment=segment, sobject=sobject)
    geo = geo_of(account, "Account") if account else {}
    ctx.update({k: v for k, v in geo.items() if k not in ctx})
    return ctx, Place(geo.get("geo.country"), geo.get("geo.region"))


# -- starting and reconciling a plan ----------------------------------------------------------------------


@dataclass(frozen=True)
class PlanView:
    """A plan instance with each milestone's state, for callers and interfaces.

    Attributes:
        instance: the stored instance.
        milestones: per milestone (in the plan's order): id, subject, status, owner, due, completed, task.
        created: tasks created by this call; moved: tasks whose date or status this call changed.
        new: whether this call started the instance.
    """

    instance: PlanInstance
    milestones: list[dict[str, Any]]
    created: int = 0
    moved: int = 0
    new: bool = False
    decision: Decision | None = None
    notes: list[str] = field(default_factory=list)


def start(plat: Ports, *, loop: str, play: Play, subject: Subject, instance_id: str, started_on: dt.date,
          owners: Mapping[str, str | None], why: Selection | None = None, facts: Mapping[str, Any] | None = None,
          actor: str = "system", today: dt.date | None = None) -> PlanView:
    """Start ``play`` for a record once (the instance id fixes it), then reconcile: the milestones that wait
    on nothing get their tasks, the rest wait.

    Args:
        plat: the platform.
        loop: ``pursue``, ``onboard`` or ``expand``.
        play: the play or plan chosen.
        subject: the record (``read_subject``).
        instance_id: the instance's stable id (``pursue:<opportunity id>``).
        started_on: the day the offsets of milestones without predecessors count from.
        owners: role → the user who owns its milestones (``owner``: the record's owner).
        why: the selection, logged with the decision.
        facts: extra facts stored with the instance (handoff gaps, team...).
        actor: who asked.
        today: the current day where the record is (default: now, in its time zone).

    Returns:
        The plan's state after reconciling; ``new`` is False when the instance existed (nothing started twice).
    """
    names = {"account": (subject.account or {}).get("Name") or "the account",
             "opportunity": subject.record.get("Name") or subject.record.get("Id") or ""}
    stored_facts = {"owners": dict(owners), "names": names, "place": [subject.place.country, subject.place.region],
                    "why": why.explanation if why else f"{loop} plan {play.id}", **dict(facts or {})}
    instance = PlanInstance(id=instance_id, loop=loop, play_id=play.id, sobject=subject.sobject,
                            record_id=subject.record["Id"], account_id=subject.account_id, started_on=started_on,
                            facts=stored_facts, config_version=plat.config.version)
    stored, new = plat.plans.start(instance)
    decision = record_start(plat, stored, trace=why.trace if why else [], actor=actor)
    view = reconcile(plat, stored, play=play, subject=subject, today=today, fresh=new)
    return PlanView(view.instance, view.milestones, view.created, view.moved, new=new, decision=decision,
                    notes=view.notes)


def record_start(plat: Ports, inst: PlanInstance, *, trace: list[dict[str, Any]] | None = None,
                 actor: str = "system") -> Decision:
    """The decision that a plan started (its id fixed by the instance, so recording it again, as a retried or
    recovered step does, changes nothing)."""
    return plat.decisions.record(Decision(
        id=f"dec_{inst.loop}_{_safe(inst.id)}", loop=inst.loop, sobject=inst.sobject, record_id=inst.record_id,
        outcome=inst.play_id, detail={"instance_id": inst.id, "started_on": inst.started_on.isoformat(),
                                      "owners": dict(inst.facts.get("owners", {}))},
        trace=list(trace or []), explanation=str(inst.facts.get("why") or f"{inst.loop} plan {inst.play_id}"),
        config_version=inst.config_version or plat.config.version,
        inputs_digest=digest({"id": inst.id, "play": inst.play_id}), actor=actor))


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in text)[:120]


def subject_line(m: Milestone, names: Mapping[str, str], owner_name: str | None) -> str:
    """A milestone's task subject with its placeholders filled (the template as written when one is unknown)."""
    values = {**names, "owner": owner_name or "the owner"}
    try:
        return m.subject.format_map(values)[:255]
    except (KeyError, IndexError, ValueError):
        return m.subject[:255]


def local_day(stamp: dt.datetime, place: Place) -> dt.date:
    """The day a CRM timestamp (UTC when naive) falls on where the record is."""
    zone = ZoneInfo(timezone_for(place.country, place.region))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).astimezone(zone).date()


def _completed_on(task: Mapping[str, Any], place: Place) -> dt.date:
    stamp = task.get("CompletedDateTime") or task.get("LastModifiedDate")
    if isinstance(stamp, dt.datetime):
        return local_day(stamp, place)
    activity = task.get("ActivityDate")
    return activity if isinstance(activity, dt.date) else dt.date.today()


def plan_tasks(plat: Ports, instance_id: str) -> dict[str, dict[str, Any]]:
    """The CRM tasks of one plan instance, by milestone id (read by their keys: no other plan's)."""
    prefix = task_key(instance_id, "")
    # a range on the key (its unique index), where a LIKE would read every task
    query = Query("Task", (Filter("Revloops_Key__c", "gte", prefix), Filter("Revloops_Key__c", "lt", prefix + "\uffff")))
    out: dict[str, dict[str, Any]] = {}
    for task in plat.crm.query_all(query):
        key = task.Revloops_Key__c or ""  # type: ignore[attr-defined]
        if key.startswith(prefix):
            out[key[len(prefix):]] = task.fields()
    return out


def reconcile(plat: Ports, instance: PlanInstance | str, *, play: Play | None = None,
              subject: Subject | None = None, today: dt.date | None = None, fresh: bool = False) -> PlanView:
    """Make the CRM's tasks of one plan agree with the milestone engine's schedule.

    Reads the plan's tasks (completed, reopened, re-dated by people), evaluates conditional milestones on the
    record as it is now, computes the schedule, then creates the tasks of milestones that became open, moves
    the dates of those whose basis changed, sets aside skipped ones and stores every milestone's state.
    """
    inst = plat.plans.get(instance) if isinstance(instance, str) else instance
    if inst is None:
        raise NotFound(f"no plan instance {instance}")
    play = play or find_play(plat, inst.loop, inst.play_id)
    subject = subject or read_subject(plat, inst.sobject, inst.record_id)
    place = subject.place
    today = today or subject.today()
    # a plan this very call stored has no task and no milestone yet: nothing to read back
    tasks = {} if fresh else plan_tasks(plat, inst.id)
    stored = {} if fresh else {m.milestone_id: m for m in plat.plans.milestones(inst.id)}
    completed = {mid: _completed_on(t, place) for mid, t in tasks.items() if t.get("Status") == DONE}
    moved = {mid: t["ActivityDate"] for mid, t in tasks.items()
             if t.get("Status") != DONE and mid in stored and isinstance(t.get("ActivityDate"), dt.date)
             and stored[mid].due is not None and t["ActivityDate"] != stored[mid].due}
    skipped = frozenset(m.id for m in play.milestones
                        if m.when is not None and m.id not in completed and not compile_condition(m.when).holds(subject.ctx))
    if inst.status != "active":
        skipped = skipped | frozenset(m.id for m in play.milestones if m.id not in completed)
    states = schedule(_as_plan(play), inst.started_on, today=today, place=place, completed=completed,
                      skipped=skipped, moved=moved)
    owners: Mapping[str, str | None] = inst.facts.get("owners", {})
    names: Mapping[str, str] = inst.facts.get("names", {})
    rows: list[StoredMilestone] = []
    created = changed = 0
    out: list[dict[str, Any]] = []
    by_id = {m.id: m for m in play.milestones}
    for mid, state in states.items():
        m = by_id[mid]
        owner = owners.get(m.owner_role) or owners.get("owner")
        task = tasks.get(mid)
        task_id = (task or {}).get("Id") or (stored[mid].task_id if mid in stored else None)
        change = _task_change(state, task, inst.status)
        if task is None and state.status in ("open", "done") and inst.status == "active":
            fields = {"Subject": subject_line(m, names, None), "WhatId": inst.record_id, "Status": "Not Started",
                      "Priority": "Normal", "Type": "Other", "ActivityDate": state.due.isoformat() if state.due else None,
                      "Description": f"{inst.loop} play {inst.play_id}, milestone {mid} (due {state.basis})"}
            if owner and owner.startswith("005"):
                fields["OwnerId"] = owner
            task_id = _upsert(plat, task_key(inst.id, mid), fields)
            created += 1
        elif task is not None and change:
            plat.crm.update("Task", task["Id"], change)
            changed += 1
        rows.append(StoredMilestone(inst.id, mid, state.status, owner, state.due, state.completed_on, task_id))
        out.append({"milestone": mid, "subject": subject_line(m, names, None), "status": state.status,
                    "owner_id": owner, "owner_role": m.owner_role, "due": state.due, "completed_on": state.completed_on,
                    "basis": state.basis, "task_id": task_id, "after": list(m.after)})
    plat.plans.put_milestones(rows)
    return PlanView(inst, out, created, changed)


def _task_change(state: MilestoneState, task: Mapping[str, Any] | None, plan_status: str) -> dict[str, Any]:
    """What to change on an existing task so it says what the schedule says (empty: nothing)."""
    if task is None or task.get("Status") == DONE:
        return {}
    if state.status == "skipped":
        return {"Status": SET_ASIDE} if task.get("Status") != SET_ASIDE else {}
    change: dict[str, Any] = {}
    if state.due is not None and task.get("ActivityDate") != state.due:
        change["ActivityDate"] = state.due.isoformat()
    want = WAITING if state.status == "waiting" else "Not Started"
    if task.get("Status") in (SET_ASIDE, WAITING, "Not Started") and task.get("Status") != want:
        change["Status"] = want
    return change


def _upsert(plat: Ports, key: str, fields: Mapping[str, Any]) -> str:
    result = plat.crm.upsert("Task", "Revloops_Key__c", key, {k: v for k, v in fields.items() if v is not None})
    if not result.success or result.id is None:
        err = result.errors[0] if result.errors else None
        raise RecordRejected(f"the milestone task {key} was refused: {err.message if err else '?'}",
                             err.status_code if err else "UNKNOWN", err.fields if err else ())
    return result.id


def _as_plan(play: Play) -> MilestonePlan:
    return play if isinstance(play, MilestonePlan) else MilestonePlan(milestones=list(play.milestones))


#: where each loop keeps its plays in the config: (config key, list attribute)
PLAY_FILES = {"pursue": ("deal_plays", "plays"), "onboard": ("onboard_plans", "plans"), "expand": ("expand_plays", "plays")}


def plays_of(plat: Ports, loop: str) -> list[Any]:
    """A loop's plays in the order they are tried (by priority where plays have one)."""
    return plays_in(plat.config, loop)


def plays_in(cfg: GtmConfig, loop: str) -> list[Any]:
    """A loop's plays in one config, in the order they are tried."""
    key, attr = PLAY_FILES[loop]
    found = cfg.get(key)
    items = list(getattr(found, attr, None) or [])
    return sorted(items, key=lambda p: getattr(p, "priority", 0))


def find_play(plat: Ports, loop: str, play_id: str) -> Play:
    """A play by id in the current config; an InputError when the config no longer has it."""
    for play in plays_of(plat, loop):
        if play.id == play_id:
            return play  # type: ignore[no-any-return]
    raise InputError(f"{loop} play {play_id!r} is not in the config (it was removed since the plan started)",
                     field="play_id")


def _instance_of(plat: Ports, task_id: str) -> str | None:
    """The id of the stored plan instance a task belongs to; None for a task no plan made."""
    found = plat.plans.by_task(task_id)
    if found is None:
        try:
            task = plat.crm.get("Task", task_id)
        except NotFound:
            return None
        key = task.Revloops_Key__c or ""  # type: ignore[attr-defined]
        if not key.startswith("plan:"):
            return None
        instance_id = key[len("plan:"):].rsplit(":", 1)[0]
    else:
        instance_id = found.instance_id
    return instance_id if plat.plans.get(instance_id) is not None else None


def on_task(plat: Ports, task_id: str) -> PlanView | None:
    """A task changed in the CRM (completed, reopened): reconcile the plan it belongs to, and only that one.
    None for a task no plan made."""
    instance_id = _instance_of(plat, task_id)
    return None if instance_id is None else reconcile(plat, instance_id)


def complete_task(plat: Ports, task_id: str, *, on: dt.datetime | None = None) -> PlanView | None:
    """Mark a task completed in the CRM, then reconcile its plan (its dependents' tasks are created).

    The CRM stamps the completion time itself (Salesforce's ``CompletedDateTime`` is read-only); ``on``
    back-dates it, which only the embedded CRM accepts (replays, the demo, tests). A task no plan made is
    left as it is (None): the caller is told, and nothing was written.
    """
    instance_id = _instance_of(plat, task_id)
    if instance_id is None:
        return None
    changes: dict[str, Any] = {"Status": DONE}
    if on is not None:
        changes["CompletedDateTime"] = on.isoformat()
    plat.crm.update("Task", task_id, changes)
    return reconcile(plat, instance_id)


def reopen_task(plat: Ports, task_id: str) -> PlanView | None:
    """Reopen a completed task in the CRM, then reconcile its plan (its dependents move, none is deleted).
    A task no plan made is left as it is (None)."""
    instance_id = _instance_of(plat, task_id)
    if instance_id is None:
        return None
    plat.crm.update("Task", task_id, {"Status": "Not Started"})
    return reconcile(plat, instance_id)


def owners_for(plat: Ports, subject: Subject, roles: Sequence[str], *, key: str,
               rules: Mapping[str, Any] | None = None) -> dict[str, str | None]:
    """Who owns each role's milestones: ``owner`` is the record's owner; a role with a rules file in ``rules``
    (Onboard's CSM rules) is whoever those rules route the account to, through Route's engine and handlers;
    any other role is its holder in the account's territory (Route's territory handler: the match rules,
    then the only holder or the next in the territory's round robin). Claims are keyed on ``key``, so a
    re-run takes no second round-robin slot; a role nobody resolves goes to the record's owner."""
    from revloops.core.rules import compile_rules
    from revloops.loops.route.flow import route_env

    owner = subject.record.get("OwnerId")
    out: dict[str, str | None] = {"owner": owner}
    wanted = [r for r in dict.fromkeys(roles) if r != "owner"]
    if not wanted or subject.account is None:
        return {**out, **{r: owner for r in wanted}}
    env = route_env(plat)
    account_ctx = build_context(subject.account, account=subject.account, segment=subject.ctx.get("segment"),
                                sobject="Account")
    handlers = env.handlers(plat.rotation.keyed(key))
    for role in wanted:
        chosen: str | None = None
        if rules and rules.get(role) is not None:
            found = compile_rules(rules[role], "Account").evaluate(account_ctx, handlers, trace=False)
            chosen = found.owner_id if found.owner_id.startswith("005") else None
        else:
            territory, _why, users, claimed = handlers.territory_claim(role, account_ctx)
            chosen = claimed if territory is not None and users else None
        out[role] = chosen or owner
    return out
