"""Pursue: a converted lead's opportunity gets a deal play, its milestone tasks staggered by business days,
and the play's outcome when the deal closes, so plays can be compared on win rate and cycle.

One plan instance per opportunity (``pursue:<opportunity id>``): ``lead.converted`` and
``opportunity.created`` for the same deal start it once. A stage change reconciles it (conditional
milestones come and go with the stage); a close records the outcome and sets aside what was left open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from revloops.core.decisions import Decision, digest
from revloops.core.errors import InputError
from revloops.loops.plays import (
    PlanView,
    find_play,
    local_day,
    owners_for,
    plays_of,
    read_subject,
    reconcile,
    record_start,
    select,
    start,
)

if TYPE_CHECKING:
    from revloops.ports import Ports

LOOP = "pursue"


def instance_id(opportunity_id: str) -> str:
    """The deal's plan instance id."""
    return f"{LOOP}:{opportunity_id}"


def start_pursue(plat: Ports, opportunity_id: str, *, actor: str = "system", play_id: str | None = None,
                 today: dt.date | None = None) -> PlanView | Decision:
    """Start the deal play for one opportunity (once): the first play whose condition holds on the deal and
    its account, or ``play_id``; write it to ``Deal_Play__c`` and create the tasks of its first milestones.

    Returns:
        The plan (``new`` False when it had started before), or the decision when no play holds.
    """
    iid = instance_id(opportunity_id)
    subject = read_subject(plat, "Opportunity", opportunity_id)
    existing = plat.plans.get(iid)
    if existing is not None:  # a retry or recovery finishes what a first try left after storing the plan
        record_start(plat, existing, actor=actor)
        if subject.record.get("Deal_Play__c") != existing.play_id:
            plat.crm.update("Opportunity", opportunity_id, {"Deal_Play__c": existing.play_id})
        return reconcile(plat, existing, subject=subject, today=today)
    if subject.record.get("IsClosed"):
        raise InputError(f"opportunity {opportunity_id} is closed: a deal play starts on an open deal",
                         field="opportunity_id")
    plays = plays_of(plat, LOOP)
    if play_id is not None:
        chosen = find_play(plat, LOOP, play_id)
        why = select([chosen], {**subject.ctx}, "deal play")
        why = type(why)(chosen, f"deal play {play_id!r} chosen by hand", why.trace)
    else:
        why = select(plays, subject.ctx, "deal play")
    if why.play is None:
        return plat.decisions.record(Decision(
            id=f"dec_{LOOP}_{opportunity_id}", loop=LOOP, sobject="Opportunity", record_id=opportunity_id,
            outcome="pending:no_play", trace=why.trace, explanation=why.explanation,
            config_version=plat.config.version, inputs_digest=digest(subject.ctx), actor=actor))
    play = why.play
    owners = owners_for(plat, subject, [m.owner_role for m in play.milestones], key=iid)
    created = subject.record.get("CreatedDate")
    # the day it was created where the deal is (a Friday evening in California is Saturday in UTC)
    started = local_day(created, subject.place) if isinstance(created, dt.datetime) else (today or subject.today())
    view = start(plat, loop=LOOP, play=play, subject=subject, instance_id=iid, started_on=started, owners=owners,
                 why=why, facts={"amount": subject.record.get("Amount"), "stage": subject.record.get("StageName")},
                 actor=actor, today=today)
    if subject.record.get("Deal_Play__c") != play.id:
        plat.crm.update("Opportunity", opportunity_id, {"Deal_Play__c": play.id})
    return view


def on_stage(plat: Ports, opportunity_id: str, *, today: dt.date | None = None) -> PlanView | None:
    """A stage change: reconcile the deal's plan (conditional milestones), and on close record its outcome.
    None when the deal has no plan."""
    inst = plat.plans.get(instance_id(opportunity_id))
    if inst is None:
        return None
    subject = read_subject(plat, "Opportunity", opportunity_id)
    if subject.record.get("IsClosed") and inst.status == "active":
        view = reconcile(plat, inst, subject=subject, today=today)
        plat.plans.close(inst.id, outcome_of(view, subject.record))
        inst = plat.plans.get(inst.id) or inst
    return reconcile(plat, inst, subject=subject, today=today)


def outcome_of(view: PlanView, opportunity: dict[str, Any]) -> dict[str, Any]:
    """A closed deal's outcome for its play: won or lost, cycle days, milestones done and on time."""
    close = opportunity.get("CloseDate")
    started = view.instance.started_on
    done = [m for m in view.milestones if m["completed_on"] is not None]
    on_time = [m for m in done if m["due"] is not None and m["completed_on"] <= m["due"]]
    return {"result": "won" if opportunity.get("IsWon") else "lost",
            "cycle_days": (close - started).days if isinstance(close, dt.date) else None,
            "amount": opportunity.get("Amount"), "milestones": len(view.milestones), "done": len(done),
            "on_time": len(on_time)}


@dataclass(frozen=True)
class PlayStats:
    """One deal play's record: plans started, open, won, lost, win rate (by count and by amount), mean cycle
    days of won deals, and the share of completed milestones done on time."""

    play_id: str
    name: str
    started: int
    open: int
    won: int
    lost: int
    win_rate: float | None
    win_rate_amount: float | None
    cycle_days: float | None
    on_time: float | None


def play_stats(plat: Ports) -> list[PlayStats]:
    """Every deal play of the config (and any with plans that left it), compared."""
    names = {p.id: p.name for p in plays_of(plat, LOOP)}
    by_play: dict[str, list[Any]] = {pid: [] for pid in names}
    for inst in plat.plans.instances(loop=LOOP):
        by_play.setdefault(inst.play_id, []).append(inst)
    out = []
    for pid, insts in by_play.items():
        closed = [i.outcome or {} for i in insts if i.status == "closed"]
        won = [o for o in closed if o.get("result") == "won"]
        lost = [o for o in closed if o.get("result") == "lost"]
        amount_won = sum(float(o.get("amount") or 0) for o in won)
        amount_all = amount_won + sum(float(o.get("amount") or 0) for o in lost)
        cycles = [o["cycle_days"] for o in won if o.get("cycle_days") is not None]
        done = sum(int(o.get("done") or 0) for o in closed)
        out.append(PlayStats(
            play_id=pid, name=names.get(pid, f"{pid} (no longer in the config)"), started=len(insts),
            open=sum(1 for i in insts if i.status == "active"), won=len(won), lost=len(lost),
            win_rate=len(won) / len(closed) if closed else None,
            win_rate_amount=amount_won / amount_all if amount_all else None,
            cycle_days=sum(cycles) / len(cycles) if cycles else None,
            on_time=sum(int(o.get("on_time") or 0) for o in closed) / done if done else None))
    return out
