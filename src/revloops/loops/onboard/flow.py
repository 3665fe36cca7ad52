"""Onboard: a won deal hands the customer to success. The handoff checklist is read from the opportunity
(the fields ``onboard/plans.yaml`` names); what is missing becomes one flagged task for the AE. The customer
team (each role of the plan) comes from Route's territory handler on the account; the onboarding plan's
milestones start from the close date, with conditional phases (``when`` on the deal: a large deal adds an
executive-sponsor step). A milestone with ``outcome: time_to_value`` is event-defined: completing its task is
the customer reaching value, and its day is what time to value is measured by.

One instance per won opportunity (``onboard:<opportunity id>``), so the event delivered three times starts
one plan and one set of tasks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from revloops.core.decisions import Decision, digest
from revloops.core.errors import InputError
from revloops.loops.plays import (
    PlanView,
    owners_for,
    plays_of,
    read_subject,
    reconcile,
    record_start,
    select,
    start,
)

if TYPE_CHECKING:
    from revloops.loops.onboard.config import PlansFile
    from revloops.ports import Ports

LOOP = "onboard"


def instance_id(opportunity_id: str) -> str:
    """The won deal's onboarding instance id."""
    return f"{LOOP}:{opportunity_id}"


def handoff_key(opportunity_id: str) -> str:
    """The external id of the AE's handoff-gaps task (one per won deal)."""
    return f"handoff:{opportunity_id}"


def handoff_gaps(plans: PlansFile, opportunity: dict[str, Any]) -> list[str]:
    """The checklist items the opportunity leaves empty (labels, in checklist order)."""
    return [item.label for item in plans.handoff if not str(opportunity.get(item.field) or "").strip()]


def start_onboarding(plat: Ports, opportunity_id: str, *, actor: str = "system",
                     today: dt.date | None = None) -> PlanView | Decision:
    """Onboard one won deal (once): checklist gaps as one AE task, the team, the plan's first tasks; the
    account becomes a customer (``Type``, ``Customer_Since__c``, ``Contract_End__c`` when the deal says).

    Returns:
        The plan (``new`` False when it had started before), or the decision when no plan holds.
    """
    from revloops.loops.onboard.config import PlansFile

    subject = read_subject(plat, "Opportunity", opportunity_id)
    if not subject.record.get("IsWon"):
        raise InputError(f"opportunity {opportunity_id} is not won: onboarding starts on closed-won",
                         field="opportunity_id")
    iid = instance_id(opportunity_id)
    plans: PlansFile = plat.config.require("onboard_plans", PlansFile)
    existing = plat.plans.get(iid)
    if existing is not None:  # a retry or recovery finishes what a first try left after storing the plan
        record_start(plat, existing, actor=actor)
        _handoff(plat, opportunity_id, list(existing.facts.get("handoff_gaps", [])), subject.record.get("OwnerId"),
                 today or subject.today(), only_missing=True)
        _make_customer(plat, subject.account, subject.record, existing.started_on)
        return reconcile(plat, existing, subject=subject, today=today)
    why = select(plays_of(plat, LOOP), subject.ctx, "onboarding plan")
    if why.play is None:
        return plat.decisions.record(Decision(
            id=f"dec_{LOOP}_{opportunity_id}", loop=LOOP, sobject="Opportunity", record_id=opportunity_id,
            outcome="pending:no_plan", trace=why.trace, explanation=why.explanation,
            config_version=plat.config.version, inputs_digest=digest(subject.ctx), actor=actor))
    plan = why.play
    gaps = handoff_gaps(plans, subject.record)
    roles = [*plan.team, *(m.owner_role for m in plan.milestones)]
    team = owners_for(plat, subject, roles, key=iid, rules={"CSM": plat.config.get("csm_rules")})
    close = subject.record.get("CloseDate")
    started = close if isinstance(close, dt.date) else (today or subject.today())
    view = start(plat, loop=LOOP, play=plan, subject=subject, instance_id=iid, started_on=started, owners=team,
                 why=why, facts={"handoff_gaps": gaps, "team": {r: team.get(r) for r in plan.team},
                                 "time_to_value_days": plan.time_to_value_days},
                 actor=actor, today=today)
    _handoff(plat, opportunity_id, gaps, subject.record.get("OwnerId"), today or subject.today())
    _make_customer(plat, subject.account, subject.record, started)
    return view


def _handoff(plat: Ports, opportunity_id: str, gaps: list[str], owner: Any, day: dt.date, *,
             only_missing: bool = False) -> None:
    """The AE's one flagged task for the handoff gaps (upserted by its key: once per won deal); with
    ``only_missing`` (a retry) only when it is not there, so a task the AE has worked is left alone."""
    if not gaps:
        return
    if only_missing:
        from revloops.ports.crm import eq

        if plat.crm.find_one(eq("Task", Revloops_Key__c=handoff_key(opportunity_id))) is not None:
            return
    fields = {"Subject": "Handoff gaps: " + ", ".join(gaps)[:200], "WhatId": opportunity_id, "Priority": "High",
              "Status": "Not Started", "Type": "Other", "ActivityDate": day.isoformat(),
              "Description": "Fill these on the opportunity before the customer team takes over: " + ", ".join(gaps)}
    if isinstance(owner, str) and owner.startswith("005"):
        fields["OwnerId"] = owner
    plat.crm.upsert("Task", "Revloops_Key__c", handoff_key(opportunity_id), fields)


def _make_customer(plat: Ports, account: dict[str, Any] | None, opportunity: dict[str, Any], since: dt.date) -> None:
    if not account or not account.get("Id"):
        return
    changes: dict[str, Any] = {}
    if not str(account.get("Type") or "").startswith("Customer"):
        changes["Type"] = "Customer"
    if account.get("Customer_Since__c") is None:
        changes["Customer_Since__c"] = since.isoformat()
    end = opportunity.get("Contract_End__c")
    if isinstance(end, dt.date) and (account.get("Contract_End__c") is None or account["Contract_End__c"] < end):
        changes["Contract_End__c"] = end.isoformat()
    if changes:
        plat.crm.update("Account", account["Id"], changes)


@dataclass(frozen=True)
class OnboardingStatus:
    """One onboarding: the plan, its team, the handoff gaps, and time to value (target and reached)."""

    view: PlanView
    team: dict[str, str | None]
    handoff_gaps: list[str]
    time_to_value_days: int | None
    target_days: int | None


def status(plat: Ports, account_id: str) -> list[OnboardingStatus]:
    """Every onboarding of an account, reconciled now, newest first."""
    out = []
    for inst in reversed(plat.plans.instances(loop=LOOP, account_id=account_id)):
        view = reconcile(plat, inst)
        out.append(OnboardingStatus(view=view, team=dict(inst.facts.get("team", {})),
                                    handoff_gaps=list(inst.facts.get("handoff_gaps", [])),
                                    time_to_value_days=time_to_value(plat, view),
                                    target_days=inst.facts.get("time_to_value_days")))
    return out


def time_to_value(plat: Ports, view: PlanView) -> int | None:
    """Days from close to the first completed event-defined outcome milestone, or None (not reached)."""
    from revloops.loops.plays import find_play

    try:
        plan = find_play(plat, LOOP, view.instance.play_id)
    except InputError:
        return None
    outcome_ids = {m.id for m in plan.milestones if m.outcome}
    reached = [m["completed_on"] for m in view.milestones if m["milestone"] in outcome_ids and m["completed_on"]]
    return (min(reached) - view.instance.started_on).days if reached else None
