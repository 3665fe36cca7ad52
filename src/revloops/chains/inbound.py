"""The inbound chain: a created lead is captured (Generate), enriched and scored (Qualify), owned (Route) and
engaged (Engage), as one durable workflow per lead.

The workflow's id derives from the lead id (``lead-<id>``), so a duplicate event, webhook or poll, returns the
existing run. Every step is idempotent on its own (each decision has a stable id or a same-inputs check, the
task is upserted by key, the sequence is keyed by lead), because the step running at a crash runs again.
Enrichment that stays unavailable after its retries degrades: the lead is scored and routed on what it has,
and the trace says so. A CRM outage exhausts the CRM steps' retries and parks the run as failed;
`revloops retry <workflow id>` resumes it from the failed step.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS, WorkflowHandle
from dbos import error as dbos_error

from revloops.bootstrap import Platform
from revloops.engine.registry import enqueue_once, run_key, scheduled, step, tick, workflow
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
    # Whether People Data Labs is configured is decided here, once per run, and checkpointed with the
    # capture, so a recovered run takes the same enrichment path whatever the settings are by then.
    return {"outcome": decision.outcome, "duplicate_of": decision.detail.get("duplicate_of"),
            "lead": lead.model_dump(mode="json", exclude_none=True),
            "uses_pdl": plat.settings.pdl_api_key is not None}


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
    """Engage: the sequence and one task for the owner."""
    from revloops.loops.engage.flow import engage_lead

    plat = platform()
    ctx = _context(plat, {**lead, "OwnerId": owner_id}, enrichment, _score(score))
    decision = engage_lead(plat, lead["Id"], owner_id, ctx, actor=actor)
    return {"play": decision.outcome, "decision_id": decision.id}


@step(attempts=6, interval=0.5)
def finish_step(event_id: str | None, workflow_id: str, summary: str) -> None:
    """Mark done the event that started the run, and any other event the dispatcher pointed at this run."""
    inbox = platform().inbox
    if event_id:
        inbox.mark(event_id, "done", workflow_id=workflow_id, reason=summary)
    inbox.finish_workflow(workflow_id, summary)


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
        engaged = engage_step(lead, routed["owner_id"], enrichment, score, actor)
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


def queue_lead(lead_id: str, event_id: str | None = None) -> WorkflowHandle[dict[str, Any]]:
    """Queue the chain for a lead once (a second call returns the existing run, queued, running or done)."""
    return enqueue_once(CHAIN_QUEUE, run_key("lead", lead_id), inbound, lead_id, event_id)


def start_lead(lead_id: str, event_id: str | None = None) -> str:
    """Queue the chain for a lead once; answers the workflow id (``lead-<lead id>``)."""
    return queue_lead(lead_id, event_id).workflow_id


def dispatch_pending(plat: Platform, limit: int = 1000) -> int:
    """Start the chain for every pending ``lead.created`` event of the inbox; other types wait for their loop.

    Answers how many runs were started (or found already started).
    """
    started = 0
    for entry in plat.inbox.entries(status="pending", limit=limit):
        event = entry.event
        if event.type != "lead.created":
            plat.inbox.mark(event.id, "skipped", reason=f"no loop reacts to {event.type} yet")
            continue
        handle = queue_lead(event.record_id, event.id)
        if not plat.inbox.mark(event.id, "processing", workflow_id=handle.workflow_id, only_from="pending"):
            continue  # another worker's dispatch took it
        started += 1
        # A run that finished before this event was pointed at it will not mark it: do it here. (A run
        # finishing after the mark above marks every event pointing at it in its last step.)
        if handle.get_status().status == "SUCCESS":
            plat.inbox.mark(event.id, "done", reason="the lead's run had already finished", only_from="processing")
    return started


@tick("inbox-dispatch")
def dispatch_tick(plat: Platform) -> int:
    """About once a second in every engine process: start the chain for events that landed in the inbox."""
    return dispatch_pending(plat, limit=500)


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
