"""Pursue, Onboard and Expand on the engine: the CRM events that start and move milestone plans.

- ``lead.converted`` and ``opportunity.created`` start the deal's play: one run per opportunity
  (``pursue-<opportunity id>``), however many events name it;
- ``opportunity.stage_changed`` reconciles the deal's plan (conditional milestones) and records the play's
  outcome when the deal closed (one run per deal and stage);
- ``opportunity.closed_won`` starts onboarding (``onboard-<opportunity id>``);
- ``task.completed`` and ``task.reopened`` reconcile the one plan the task belongs to (one run per change).

Each run is one step: the step is idempotent (the instance is keyed, every task upserted by its key), so a
step that ran at a crash runs again and creates nothing twice.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from revloops.chains.dispatch import finish_step
from revloops.core.decisions import Decision
from revloops.core.events import CrmEvent
from revloops.engine.registry import Run, reacts_to, run_key, step, workflow
from revloops.engine.setup import platform
from revloops.loops.plays import PlanView

QUEUE = "chain"


def _summary(result: PlanView | Decision | None, what: str) -> dict[str, Any]:
    if result is None:
        return {"outcome": f"no plan for this {what}"}
    if isinstance(result, Decision):
        return {"outcome": result.outcome, "explanation": result.explanation}
    return {"outcome": result.instance.play_id, "instance_id": result.instance.id, "new": result.new,
            "tasks_created": result.created, "tasks_moved": result.moved}


def _line(out: dict[str, Any]) -> str:
    extra = f" (+{out['tasks_created']} tasks, {out['tasks_moved']} moved)" if "tasks_created" in out else ""
    return f"{out['outcome']}{extra}"


@step(attempts=6, interval=0.5)
def pursue_step(opportunity_id: str, actor: str) -> dict[str, Any]:
    """Start (or find) the deal's play and its first tasks."""
    from revloops.loops.pursue.flow import start_pursue

    return _summary(start_pursue(platform(), opportunity_id, actor=actor), "deal")


@workflow("pursue.start")
def pursue_run(opportunity_id: str, event_id: str | None = None) -> dict[str, Any]:
    """A converted lead's (or a new) opportunity gets its deal play."""
    workflow_id = DBOS.workflow_id or run_key("pursue", opportunity_id)
    out = pursue_step(opportunity_id, f"workflow:{workflow_id}")
    finish_step(event_id, workflow_id, _line(out))
    return out


@reacts_to("lead.converted", queue=QUEUE)
def on_lead_converted(event: CrmEvent) -> Run | None:
    """The opportunity a conversion made starts its play (nothing to start without one)."""
    opp = (event.record or {}).get("ConvertedOpportunityId")
    if not opp:
        from revloops.core.errors import NotFound

        try:
            opp = platform().crm.get("Lead", event.record_id).fields().get("ConvertedOpportunityId")
        except NotFound:
            return None
    return Run(pursue_run, run_key("pursue", opp), (opp, event.id)) if opp else None


@reacts_to("opportunity.created", queue=QUEUE)
def on_opportunity_created(event: CrmEvent) -> Run:
    """A new opportunity starts its play: the same run as its lead's conversion."""
    return Run(pursue_run, run_key("pursue", event.record_id), (event.record_id, event.id))


@step(attempts=6, interval=0.5)
def stage_step(opportunity_id: str) -> dict[str, Any]:
    """Reconcile the deal's plan on its new stage; record the outcome when it closed."""
    from revloops.loops.pursue.flow import on_stage

    return _summary(on_stage(platform(), opportunity_id), "deal")


@workflow("pursue.stage")
def stage_run(opportunity_id: str, event_id: str | None = None) -> dict[str, Any]:
    """A deal moved stage."""
    workflow_id = DBOS.workflow_id or run_key("stage", opportunity_id)
    out = stage_step(opportunity_id)
    finish_step(event_id, workflow_id, _line(out))
    return out


@reacts_to("opportunity.stage_changed", queue=QUEUE)
def on_stage_changed(event: CrmEvent) -> Run:
    """One run per deal and change (the event id carries the stage)."""
    return Run(stage_run, run_key("stage", event.id), (event.record_id, event.id))


@step(attempts=6, interval=0.5)
def onboard_step(opportunity_id: str, actor: str) -> dict[str, Any]:
    """Close the deal's play with its outcome, then start onboarding."""
    from revloops.loops.onboard.flow import start_onboarding
    from revloops.loops.pursue.flow import on_stage

    plat = platform()
    on_stage(plat, opportunity_id)
    return _summary(start_onboarding(plat, opportunity_id, actor=actor), "won deal")


@workflow("onboard.start")
def onboard_run(opportunity_id: str, event_id: str | None = None) -> dict[str, Any]:
    """A won deal: the play's outcome, the handoff, the customer team and the onboarding plan."""
    workflow_id = DBOS.workflow_id or run_key("onboard", opportunity_id)
    out = onboard_step(opportunity_id, f"workflow:{workflow_id}")
    finish_step(event_id, workflow_id, _line(out))
    return out


@reacts_to("opportunity.closed_won", queue=QUEUE)
def on_closed_won(event: CrmEvent) -> Run:
    """One onboarding per won deal, however many times the event comes."""
    return Run(onboard_run, run_key("onboard", event.record_id), (event.record_id, event.id))


@step(attempts=6, interval=0.5)
def task_step(task_id: str) -> dict[str, Any]:
    """Reconcile the plan the task belongs to."""
    from revloops.loops.plays import on_task

    return _summary(on_task(platform(), task_id), "task")


@workflow("plans.task")
def task_run(task_id: str, event_id: str | None = None) -> dict[str, Any]:
    """A milestone task was completed or reopened in the CRM."""
    workflow_id = DBOS.workflow_id or run_key("task", task_id)
    out = task_step(task_id)
    finish_step(event_id, workflow_id, _line(out))
    return out


def _on_task(event: CrmEvent) -> Run:
    return Run(task_run, run_key("task", event.id), (event.record_id, event.id))


reacts_to("task.completed", queue=QUEUE)(_on_task)
reacts_to("task.reopened", queue=QUEUE)(_on_task)
