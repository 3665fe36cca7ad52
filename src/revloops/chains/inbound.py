"""The inbound chain: a created lead is captured (Generate), enriched and scored (Qualify), owned (Route) and
engaged (Engage), as one durable workflow per lead, started by the lead's ``lead.created`` event.

The workflow's id derives from the lead id (``lead-<id>``), so a duplicate event, webhook or poll, returns the
existing run. Every step is idempotent on its own (each decision has a stable id or a same-inputs check, the
task is upserted by key, the sequence is keyed by lead), because the step running at a crash runs again.
Enrichment that stays unavailable after its retries degrades: the lead is scored and routed on what it has,
and the trace says so. With People Data Labs configured, enrichment is a child run on the rate-limited ``pdl``
queue; with an LLM configured, the sequence's words are drafted in a child run on the ``llm`` queue and
landed by a step of their own, so a CRM retry never pays for a second draft. A CRM outage exhausts the CRM
steps' retries and parks the run as failed; `revloops retry <workflow id>` resumes it from the failed step.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS, WorkflowHandle
from dbos import error as dbos_error

from revloops.bootstrap import Platform
from revloops.chains.dispatch import finish_step
from revloops.core.events import CrmEvent
from revloops.engine.registry import Run, enqueue_once, reacts_to, run_key, scheduled, step, workflow
from revloops.engine.setup import platform

CHAIN_QUEUE = "chain"


# The lead as captured travels between steps as checkpointed data, so each step does not read it again;
# the fields the chain itself writes (score, owner) are passed explicitly.


def _context(plat: Platform, lead: dict[str, Any], enrichment: dict[str, Any] | None,
             score: dict[str, Any] | None) -> dict[str, Any]:
    from revloops.loops.route.flow import route_env

    return route_env(plat).context(lead, "Lead", enrichment=enrichment, score=score)


def _score(score: dict[str, Any]) -> dict[str, Any]:
    return {k: score.get(k) for k in ("total", "fit", "intent")}


@step(attempts=6, interval=0.5)
def capture_step(lead_id: str, actor: str) -> dict[str, Any]:
    """Generate: duplicate check, account match, geography; answers the lead as captured."""
    from revloops.loops.generate.flow import capture_lead

    plat = platform()
    decision, lead = capture_lead(plat, lead_id, actor=actor)
    # Whether People Data Labs and an LLM are configured is decided here, once per run, and checkpointed with
    # the capture, so a recovered run takes the same enrichment and drafting paths whatever the settings are by then.
    return {"outcome": decision.outcome, "duplicate_of": decision.detail.get("duplicate_of"),
            "lead": lead.model_dump(mode="json", exclude_none=True),
            "uses_pdl": plat.settings.pdl_api_key is not None, "uses_llm": plat.llm is not None}


@step(attempts=4, interval=1.0)
def enrich_step(lead: dict[str, Any]) -> dict[str, Any]:
    """Qualify: enrichment; a transient provider failure raises so the step retries with backoff."""
    from revloops.loops.qualify.flow import enrich

    return enrich(platform(), lead, on_unavailable="raise").context()


@step(attempts=3, interval=0.5)
def enrich_degraded_step(lead: dict[str, Any]) -> dict[str, Any]:
    """Qualify: the last try, which records an unavailable provider as an error instead of raising."""
    from revloops.loops.qualify.flow import enrich

    return enrich(platform(), lead, on_unavailable="degrade").context()


@workflow("lead.enrich")
def enrich_workflow(lead: dict[str, Any]) -> dict[str, Any]:
    """Enrichment as a child run on the ``pdl`` queue, so the provider's per-minute limit holds across every
    worker; a provider still failing after its retries degrades to an ``error`` outcome."""
    try:
        return enrich_step(lead)
    except dbos_error.DBOSMaxStepRetriesExceeded:
        return enrich_degraded_step(lead)


@step(attempts=6, interval=0.5)
def score_step(lead: dict[str, Any], enrichment: dict[str, Any], actor: str) -> dict[str, Any]:
    """Qualify: score, written to the lead and the decision log."""
    from revloops.loops.qualify.flow import score_lead

    plat = platform()
    decision = score_lead(plat, lead["Id"], _context(plat, lead, enrichment, {}), actor=actor)
    return {"band": decision.outcome, "total": decision.detail.get("total"), "fit": decision.detail.get("fit"),
            "intent": decision.detail.get("intent")}


@step(attempts=6, interval=0.5)
def route_step(lead: dict[str, Any], enrichment: dict[str, Any], score: dict[str, Any], actor: str) -> dict[str, Any]:
    """Route: the owner, written to the lead; the decision id is fixed so a rerun claims no second slot."""
    from revloops.loops.route.flow import resolve

    decision = resolve(platform(), record=lead, apply=True, actor=actor, enrichment=enrichment,
                       score=_score(score), decision_id=f"dec_route_{lead['Id']}")
    return {"owner_id": decision.outcome, "rule_id": decision.detail.get("rule_id"), "decision_id": decision.id}


@step(attempts=6, interval=0.5)
def engage_step(lead: dict[str, Any], owner_id: str, enrichment: dict[str, Any], score: dict[str, Any],
                actor: str) -> dict[str, Any]:
    """Engage with the offline composer (templates, no I/O): compose and land the sequence and one task."""
    from revloops.loops.engage.composer import OfflineComposer
    from revloops.loops.engage.flow import engage_lead

    plat = platform()
    ctx = _context(plat, {**lead, "OwnerId": owner_id}, enrichment, _score(score))
    decision = engage_lead(plat, lead["Id"], owner_id, ctx, actor=actor, composer=OfflineComposer())
    return {"play": decision.outcome, "decision_id": decision.id}


@step(attempts=6, interval=0.5)
def compose_step(lead: dict[str, Any], owner_id: str, enrichment: dict[str, Any], score: dict[str, Any],
                 actor: str) -> dict[str, Any]:
    """Engage: pick the play and have the LLM write its words; answers the plan to land (writes nothing).

    Its reads (the stored sequence, the owner) come before the LLM call and the composer answers an offline
    draft rather than raise for an LLM failure, so a retry of this step follows a read, never a draft.
    """
    from revloops.loops.engage.flow import compose

    plat = platform()
    ctx = _context(plat, {**lead, "OwnerId": owner_id}, enrichment, _score(score))
    return compose(plat, lead["Id"], owner_id, ctx, actor=actor).model_dump(mode="json")


@workflow("lead.draft")
def draft_workflow(lead: dict[str, Any], owner_id: str, enrichment: dict[str, Any], score: dict[str, Any],
                   actor: str) -> dict[str, Any]:
    """The sequence's words drafted by the LLM, as a child run on the ``llm`` queue (its concurrency bounds
    the LLM calls across every worker); answers the engage plan, checkpointed as its JSON form."""
    return compose_step(lead, owner_id, enrichment, score, actor)


@step(attempts=6, interval=0.5)
def land_step(plan: dict[str, Any]) -> dict[str, Any]:
    """Engage: land a composed plan (the task, the sequence, the decision); a retry lands the same words."""
    from revloops.loops.engage.flow import EngagePlan, land

    decision = land(platform(), EngagePlan.model_validate(plan))
    return {"play": decision.outcome, "decision_id": decision.id}


def _engage(captured: dict[str, Any], owner_id: str, enrichment: dict[str, Any], score: dict[str, Any],
            actor: str) -> dict[str, Any]:
    lead = captured["lead"]
    if not captured.get("uses_llm"):  # the offline composer does no I/O: one step, no child run
        return engage_step(lead, owner_id, enrichment, score, actor)
    draft = enqueue_once("llm", run_key("draft", lead["Id"]), draft_workflow, lead, owner_id, enrichment, score,
                         actor)
    return land_step(draft.get_result())


@workflow("lead.inbound")
def inbound(lead_id: str, event_id: str | None = None) -> dict[str, Any]:
    """Generate → Qualify → Route → Engage for one lead; answers what each loop decided."""
    workflow_id = DBOS.workflow_id or run_key("lead", lead_id)
    actor = f"workflow:{workflow_id}"
    captured = capture_step(lead_id, actor)
    if captured["duplicate_of"]:
        finish_step(event_id, workflow_id, captured["outcome"])
        return {"lead_id": lead_id, "captured": captured["outcome"]}
    lead = captured["lead"]
    if captured["uses_pdl"]:
        enrichment = enqueue_once("pdl", run_key("enrich", lead_id), enrich_workflow, lead).get_result()
    else:  # the offline provider has no limit to honour: no child run, no queue wait
        try:
            enrichment = enrich_step(lead)
        except dbos_error.DBOSMaxStepRetriesExceeded:
            enrichment = enrich_degraded_step(lead)
    score = score_step(lead, enrichment, actor)
    routed = route_step(lead, enrichment, score, actor)
    engaged = None
    if routed["owner_id"].startswith("005"):
        engaged = _engage(captured, routed["owner_id"], enrichment, score, actor)
    summary = f"{score['band']} → {routed['owner_id']}" + (f" → {engaged['play']}" if engaged else "")
    finish_step(event_id, workflow_id, summary)
    return {"lead_id": lead_id, "captured": captured["outcome"], "enrichment": enrichment.get("status"),
            "score": score, "owner_id": routed["owner_id"], "rule_id": routed["rule_id"],
            "play": engaged["play"] if engaged else None}


def warm(plat: Platform) -> None:
    """Load before the first lead what its steps would each load on first use: the loops' modules, the
    routing snapshot (config, accounts, the public-suffix list) and the country and subdivision tables.

    A worker calls it before it takes work, so its first leads do not all pay for it at once.
    """
    from revloops.core.geo import normalise_geo
    from revloops.loops.engage import flow as engage_flow
    from revloops.loops.generate import flow as generate_flow
    from revloops.loops.qualify import flow as qualify_flow
    from revloops.loops.route.flow import route_env

    del engage_flow, generate_flow, qualify_flow  # imported for their import cost only
    normalise_geo("United States", "California")
    normalise_geo("Deutschland", "Bayern")
    if plat.config.get("rules") is not None:
        route_env(plat)


@reacts_to("lead.created", queue=CHAIN_QUEUE)
def on_lead_created(event: CrmEvent) -> Run:
    """A created lead starts its chain: one run per lead, however many events name it."""
    return Run(inbound, run_key("lead", event.record_id), (event.record_id, event.id))


def queue_lead(lead_id: str, event_id: str | None = None) -> WorkflowHandle[dict[str, Any]]:
    """Queue the chain for a lead once (a second call returns the existing run, queued, running or done)."""
    return enqueue_once(CHAIN_QUEUE, run_key("lead", lead_id), inbound, lead_id, event_id)


def start_lead(lead_id: str, event_id: str | None = None) -> str:
    """Queue the chain for a lead once; answers the workflow id (``lead-<lead id>``)."""
    return queue_lead(lead_id, event_id).workflow_id


@scheduled("crm-poll", "*/30 * * * * *", enabled=lambda settings: bool(settings.crm_poll))
def crm_poll(scheduled_at: Any, context: Any) -> None:
    """Every 30 seconds (when ``REVLOOPS_CRM_POLL`` is on): read CRM changes into the inbox.

    Each tick has a fixed id, so with several workers one of them polls; the watermark is durable and the
    events' ids are stable, so an overlap or a repeated tick records nothing twice.
    """
    poll_step()


@step(attempts=5, interval=2.0)
def poll_step() -> int:
    """The poll, as a step: a CRM outage retries with backoff, then parks this tick (the next tick goes on)."""
    from revloops.loops.generate.poller import poll

    plat = platform()
    if not plat.settings.crm_poll:
        return 0
    return sum(r.accepted for r in poll(plat.crm, plat.inbox))
