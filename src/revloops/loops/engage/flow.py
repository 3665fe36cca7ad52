"""Engage a routed lead: pick its play, compose and schedule the sequence, store it, land one task.

``engage_lead`` is one step of the inbound chain and safe to run again. A fresh lead's task is upserted
first by ``Revloops_Key__c = engage:<lead id>``, then its sequence is stored with the task's id (once per
lead: the first run wins), then the decision, whose fixed id is kept with the sequence. A rerun after a
crash before the sequence was stored composes again and updates the same task; a rerun after it finds
the stored sequence, lands its task only if missing and logs the decision; a rerun after success changes
nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from revloops.core.decisions import Decision, digest
from revloops.core.errors import NotFound, RecordRejected
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
from revloops.loops.engage.store import SequenceStore, StoredSequence
from revloops.ports.crm import eq

if TYPE_CHECKING:
    from revloops.bootstrap import Platform

_TASK_TYPES = {"email": "Email", "call": "Call", "linkedin": "Other"}


def task_key(lead_id: str) -> str:
    """The task's external id: one engage task per lead."""
    return f"engage:{lead_id}"


def default_composer(plat: Platform) -> Composer:
    """The LLM composer when an LLM is configured (falling back offline), else the offline composer."""
    llm = plat.llm
    return LLMComposer(llm) if llm is not None else OfflineComposer()


def engage_lead(plat: Platform, lead_id: str, owner_id: str, ctx: Mapping[str, Any] | None = None,
                actor: str = "system", *, now: dt.datetime | None = None,
                composer: Composer | None = None) -> Decision:
    """Engage one lead for its owner.

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
    store = SequenceStore(plat.engine)
    existing = store.get(lead_id)
    if existing is not None:
        return _finish(plat, store, existing)
    plays: PlaysFile = plat.config.require("plays", PlaysFile)
    lead_ctx = engage_context(ctx if ctx is not None else _context(plat, lead_id), plays)
    selection = select_play(plays, lead_ctx)
    inputs = digest({"ctx": lead_ctx, "owner_id": owner_id})
    if selection.play is None:
        decision = Decision(loop="engage", sobject="Lead", record_id=lead_id, outcome=NO_PLAY,
                            trace=selection.trace, explanation=selection.explanation,
                            config_version=plat.config.version, inputs_digest=inputs, actor=actor)
        return plat.decisions.record(decision)
    play = selection.play
    owner = _owner(plat, owner_id)
    facts = facts_for(lead_ctx, owner, plays, play)
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
    # The task first (upserted by its key, so a rerun after a crash updates it rather than adding one), then
    # the sequence with the task's id, then the decision: a fresh lead takes three writes, none to repair.
    key = task_key(lead_id)
    with plat.writes_together():  # with the embedded CRM, the three are one commit
        stored = store.add(lead_id, owner_id, seq, key, decision, task_id=_land_task(plat, lead_id, key, task))
        if stored.decision.id == decision.id:
            return plat.decisions.record(stored.decision)
    # a concurrent run stored its sequence first: its task stands
    return _finish(plat, store, stored, rewrite=True)


def _land_task(plat: Platform, lead_id: str, key: str, fields: Mapping[str, Any]) -> str:
    """Upsert the lead's engage task; answers its id."""
    result = plat.crm.upsert("Task", "Revloops_Key__c", key, dict(fields))
    if not result.success or result.id is None:
        err = result.errors[0] if result.errors else None
        raise RecordRejected(f"the engage task for {lead_id} was refused: {err.message if err else '?'}",
                             err.status_code if err else "UNKNOWN", err.fields if err else ())
    return result.id


def _finish(plat: Platform, store: SequenceStore, stored: StoredSequence, rewrite: bool = False) -> Decision:
    """A rerun on a stored sequence: land its task when it is missing (or ``rewrite`` it to match the stored
    sequence), then log the decision (idempotent on its id)."""
    found = None if rewrite else plat.crm.find_one(eq("Task", Revloops_Key__c=stored.task_key))
    task_id = found.Id if found is not None and found.Id else _land_task(
        plat, stored.lead_id, stored.task_key, stored.decision.detail["task"])
    if stored.task_id != task_id:
        store.set_task(stored.lead_id, task_id)
    return plat.decisions.record(stored.decision)


def _context(plat: Platform, lead_id: str) -> dict[str, Any]:
    from revloops.core.context import build_context

    lead = plat.crm.get("Lead", lead_id).fields()
    account = None
    if lead.get("Matched_Account__c"):
        try:
            account = plat.crm.get("Account", lead["Matched_Account__c"]).fields()
        except NotFound:
            account = None
    return build_context(lead, account=account, sobject="Lead")


def _owner(plat: Platform, owner_id: str) -> dict[str, Any]:
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
