"""Engage a routed lead: pick its play, compose and schedule the sequence, store it, land one task.

Two halves, so that a chain can checkpoint between them: ``compose`` reads (the stored sequence, the owner),
picks the play, has the words written (one LLM call when an LLM composes) and answers an ``EngagePlan``,
plain data, writing nothing; ``land`` writes it. ``engage_lead`` does both, for callers that are not a chain.
Landing upserts the task first, by ``Revloops_Key__c = engage:<lead id>``, then stores the sequence with the
task's id (once per lead: the first run wins), then logs the decision, whose id the plan fixes.

Each is safe to run again. Landing a plan again (a retried CRM write, a crash before the sequence was
stored) updates the same task with the same words and composes nothing; composing again after such a crash
(``engage_lead`` run again) puts new words in the same task; composing after the sequence was stored finds
it, and landing that lands its task only if missing and logs the decision; a rerun after success changes
nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from revloops.core.decisions import Decision, digest
from revloops.core.errors import NotFound, RecordRejected
from revloops.core.model import Frozen
from revloops.loops.engage.composer import Composer, Draft, LLMComposer, OfflineComposer
from revloops.loops.engage.config import Play, PlaysFile
from revloops.loops.engage.logic import (
    NO_PLAY,
    EngageSequence,
    build_sequence,
    engage_context,
    facts_for,
    plan_slots,
    select_play,
    task_preview,
    task_subject,
)
from revloops.ports.crm import eq
from revloops.ports.sequences import SequenceStore, StoredSequence

if TYPE_CHECKING:
    from revloops.ports import Ports

_TASK_TYPES = {"email": "Email", "call": "Call", "linkedin": "Other"}


def task_key(lead_id: str) -> str:
    """The task's external id: one engage task per lead."""
    return f"engage:{lead_id}"


def default_composer(plat: Ports) -> Composer:
    """The LLM composer when an LLM is configured (falling back offline), else the offline composer."""
    llm = plat.llm
    return LLMComposer(llm) if llm is not None else OfflineComposer()


class EngagePlan(Frozen):
    """What ``compose`` decided for one lead, for ``land`` to write; its JSON form (``model_dump(mode="json")``)
    is what a chain checkpoints between the two.

    Attributes:
        lead_id: the lead.
        owner_id: its owner when composed.
        decision: the engage decision to log; None when an earlier run had stored the lead's sequence.
        sequence: the composed, scheduled sequence; None when no play holds (only the decision is logged).
        task: the task's fields (with a sequence).
    """

    lead_id: str
    owner_id: str
    decision: Decision | None = None
    sequence: EngageSequence | None = None
    task: dict[str, Any] = Field(default_factory=dict)


def engage_lead(plat: Ports, lead_id: str, owner_id: str, ctx: Mapping[str, Any] | None = None,
                actor: str = "system", *, now: dt.datetime | None = None,
                composer: Composer | None = None) -> Decision:
    """Engage one lead for its owner: :func:`compose`, then :func:`land`.

    Args:
        plat: the platform (CRM, state database, decision log, config, LLM).
        lead_id: the lead (00Q id).
        owner_id: its owner from Route (a 005 user gets the task; a queue or pending owner leaves it unowned).
        ctx: the lead's evaluation context (``build_context``); built from the CRM when None.
        actor: who asked (``workflow:<id>``, ``cli``...).
        now: the start instant (default: the current time).
        composer: who writes the words (default: ``default_composer(plat)``).

    Returns:
        The ``engage`` decision: outcome is the play id, or ``pending:no_play`` when no play holds.
    """
    return land(plat, compose(plat, lead_id, owner_id, ctx, actor, now=now, composer=composer))


def compose(plat: Ports, lead_id: str, owner_id: str, ctx: Mapping[str, Any] | None = None,
            actor: str = "system", *, now: dt.datetime | None = None,
            composer: Composer | None = None) -> EngagePlan:
    """Pick the lead's play and have its words written and scheduled; writes nothing.

    The reads (the stored sequence, the lead without ``ctx``, the owner) come before the composer's call, and
    a composer answers its offline draft rather than raise for an LLM failure: an error raised here comes
    from a read, before any draft was paid for. Arguments as for :func:`engage_lead`.

    Returns:
        The plan to land: no decision when the lead's sequence is stored already.
    """
    if plat.sequences.get(lead_id) is not None:
        return EngagePlan(lead_id=lead_id, owner_id=owner_id)
    plays: PlaysFile = plat.config.require("plays", PlaysFile)
    lead_ctx = engage_context(ctx if ctx is not None else _context(plat, lead_id), plays)
    selection = select_play(plays, lead_ctx)
    inputs = digest({"ctx": lead_ctx, "owner_id": owner_id})
    if selection.play is None:
        decision = Decision(loop="engage", sobject="Lead", record_id=lead_id, outcome=NO_PLAY,
                            trace=selection.trace, explanation=selection.explanation,
                            config_version=plat.config.version, inputs_digest=inputs, actor=actor)
        return EngagePlan(lead_id=lead_id, owner_id=owner_id, decision=decision)
    play = selection.play
    facts = facts_for(lead_ctx, _owner(plat, owner_id), plays, play)
    draft = (composer or default_composer(plat)).compose(play, facts)
    tz, slots = plan_slots(play, plays, lead_ctx, now or dt.datetime.now(dt.UTC))
    seq = build_sequence(play, draft.texts, slots, tz=tz, composer=draft.composer,
                         fallback_reason=draft.fallback_reason)
    task = _task_fields(seq, facts, selection.explanation, draft, lead_id, owner_id)
    decision = Decision(
        loop="engage", sobject="Lead", record_id=lead_id, outcome=play.id,
        detail=_detail(play, seq, draft, task), trace=selection.trace,
        explanation=_explanation(selection.explanation, seq), config_version=plat.config.version,
        inputs_digest=inputs, actor=actor,
    )
    return EngagePlan(lead_id=lead_id, owner_id=owner_id, decision=decision, sequence=seq, task=task)


def land(plat: Ports, plan: EngagePlan) -> Decision:
    """Write a plan: the task, the sequence with the task's id, the decision (see the module's docstring).

    Raises:
        NotFound: the plan found the lead's sequence stored, and it is gone.
        UpstreamUnavailable: the CRM did not answer; landing the same plan again is safe.
    """
    store = plat.sequences
    if plan.decision is None:  # an earlier run stored the sequence: finish that one
        stored = store.get(plan.lead_id)
        if stored is None:
            raise NotFound(f"the engage sequence of {plan.lead_id} was stored, and is gone")
        return _finish(plat, store, stored)
    if plan.sequence is None:
        return plat.decisions.record(plan.decision)
    # The task first (upserted by its key, so landing again updates it rather than adding one), then the
    # sequence with the task's id, then the decision: a fresh lead takes three writes, none to repair.
    key = task_key(plan.lead_id)
    with plat.uow.together():  # with the embedded CRM, the three are one commit
        task_id = _land_task(plat, plan.lead_id, key, plan.task)
        stored = store.add(plan.lead_id, plan.owner_id, plan.sequence.model_dump(mode="json"), key,
                           plan.decision, task_id=task_id)
        if stored.decision.id == plan.decision.id:
            return plat.decisions.record(stored.decision)
    # a concurrent run stored its sequence first: its task stands
    return _finish(plat, store, stored, rewrite=True)


def _land_task(plat: Ports, lead_id: str, key: str, fields: Mapping[str, Any]) -> str:
    """Upsert the lead's engage task; answers its id."""
    result = plat.crm.upsert("Task", "Revloops_Key__c", key, dict(fields))
    if not result.success or result.id is None:
        err = result.errors[0] if result.errors else None
        raise RecordRejected(f"the engage task for {lead_id} was refused: {err.message if err else '?'}",
                             err.status_code if err else "UNKNOWN", err.fields if err else ())
    return result.id


def _finish(plat: Ports, store: SequenceStore, stored: StoredSequence, rewrite: bool = False) -> Decision:
    """A rerun on a stored sequence: land its task when it is missing (or ``rewrite`` it to match the stored
    sequence), then log the decision (idempotent on its id)."""
    found = None if rewrite else plat.crm.find_one(eq("Task", Revloops_Key__c=stored.task_key))
    task_id = found.Id if found is not None and found.Id else _land_task(
        plat, stored.lead_id, stored.task_key, stored.decision.detail["task"])
    if stored.task_id != task_id:
        store.set_task(stored.lead_id, task_id)
    return plat.decisions.record(stored.decision)


def _context(plat: Ports, lead_id: str) -> dict[str, Any]:
    from revloops.core.context import build_context

    lead = plat.crm.get("Lead", lead_id).fields()
    account = None
    if lead.get("Matched_Account__c"):
        try:
            account = plat.crm.get("Account", lead["Matched_Account__c"]).fields()
        except NotFound:
            account = None
    return build_context(lead, account=account, sobject="Lead")


def _owner(plat: Ports, owner_id: str) -> dict[str, Any]:
    if not owner_id.startswith("005"):
        return {}
    try:
        return plat.crm.get("User", owner_id).fields()
    except NotFound:
        return {}


def _task_fields(seq: EngageSequence, facts: Mapping[str, str], why: str, draft: Draft, lead_id: str,
                 owner_id: str) -> dict[str, Any]:
    first = seq.steps[0]
    fields: dict[str, Any] = {
        "Subject": task_subject(seq, facts), "Description": task_preview(seq, why, draft.model),
        "WhoId": lead_id, "ActivityDate": first.date.isoformat(), "Status": "Not Started",
        "Priority": "Normal", "Type": _TASK_TYPES[first.channel],
    }
    if owner_id.startswith("005"):
        fields["OwnerId"] = owner_id  # a Salesforce task is owned by a user, never a queue
    return fields


def _detail(play: Play, seq: EngageSequence, draft: Draft, task: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "play_id": play.id, "play_name": play.name, "composer": seq.composer,
        "fallback_reason": seq.fallback_reason, "model": draft.model, "cost_usd": draft.cost_usd,
        "timezone": seq.timezone, "steps": len(seq.steps), "first_send_at": seq.steps[0].send_at.isoformat(),
        "task": dict(task),
    }


def _explanation(why: str, seq: EngageSequence) -> str:
    first = seq.steps[0]
    line = f"{why}; {len(seq.steps)} steps from {first.date.isoformat()} ({seq.timezone})"
    if seq.fallback_reason:
        line += f"; drafted offline because {seq.fallback_reason}"
    return line
