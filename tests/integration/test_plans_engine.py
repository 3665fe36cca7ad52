"""Milestone plans on the engine (``chains/plans.py``): CRM events delivered as the webhook delivers them, the runs
they start, and what those runs leave behind, checked by :func:`plan_problems` (``test_chain_effects.py``).

- every event of a batch of converted deals delivered three times (``opportunity.created`` and the lead's
  ``lead.converted`` name the same run): one run, one plan, one set of tasks, one decision per deal;
- a plan task completed in the CRM, then its ``task.completed`` event: the dependents' tasks come from the
  engine's run; reopened, then ``task.reopened``: they wait again, none deleted;
- ``opportunity.closed_won`` delivered twice: one onboarding, at most one handoff task, the deal's play closed
  with its outcome, won;
- a step failing once after its plan was stored (a CRM 503, the decision store gone for a moment), then
  retried: the retry finishes what the first try left (the decision, ``Deal_Play__c``, the account made a
  customer);
- a worker killed (SIGKILL) while 200 deals get their plays: after a restart every plan is complete and
  nothing is doubled.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbos import DBOS, DBOSClient
from fastapi.testclient import TestClient

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.decisions import SqlDecisionStore
from revloops.app import Caller, app_on
from revloops.bootstrap import Platform
from revloops.core.decisions import Decision
from revloops.core.errors import UpstreamUnavailable
from revloops.core.events import CrmEvent, event_id
from revloops.core.records import Account, Lead
from revloops.core.signing import sign
from revloops.engine import setup
from revloops.engine.status import engine_status
from revloops.interfaces.api.app import create_app
from revloops.ports.crm import Filter, Query, SaveResult
from tests.integration.test_chain_effects import (
    DEAL_SIZES,
    STATES,
    deal_events,
    plan_problems,
    seeded_deals,
    seeded_org,
)
from tests.support.workers import WorkerProcs, wait_for

SECRET = "test-secret"
OPS = Caller.operator("test")


@pytest.fixture
def engine_off() -> Iterator[None]:
    """Whatever a test launched in this process is stopped at teardown."""
    yield
    setup.shutdown()


def plan_tasks(plat: Platform, instance_id: str) -> dict[str, dict[str, object]]:
    """The CRM tasks of one plan by milestone id, read by their key prefix ``plan:<instance>:``."""
    prefix = f"plan:{instance_id}:"
    found = plat.crm.query_all(Query("Task", (Filter("Revloops_Key__c", "like", prefix + "%"),)))
    return {str(t.Revloops_Key__c)[len(prefix):]: t.fields() for t in found}


def opened(plat: Platform, instance_id: str) -> set[str]:
    """The milestones of one plan that have opened (open or done), as the plan store says."""
    return {m.milestone_id for m in plat.plans.milestones(instance_id) if m.status in ("open", "done")}


def runs(engine: Any, prefix: str) -> dict[str, str]:
    """Run id -> state of the runs whose ids start with ``prefix`` (``engine``: a client, or DBOS in process)."""
    found = engine.list_workflows(workflow_id_prefix=prefix, load_input=False, load_output=False)
    return {r.workflow_id: str(r.status) for r in found}


# -- every event three times --------------------------------------------------------------------------------


def converted_deals(plat: Platform, n: int) -> list[tuple[str, str]]:
    """``n`` leads converted onto accounts of their own (the embedded CRM converts as Salesforce does);
    answers (lead id, opportunity id) pairs."""
    users = sorted(str(u.Id) for u in plat.crm.query_all(Query("User")) if u.IsActive)
    sizes = [DEAL_SIZES[i % len(DEAL_SIZES)] for i in range(n)]
    accounts = plat.crm.bulk_create([Account(Name=f"Converted Co {i}", BillingCountry="United States",
                                             BillingState=STATES[i % len(STATES)], NumberOfEmployees=employees)
                                     for i, (employees, _) in enumerate(sizes)])
    leads = plat.crm.bulk_create([Lead(LastName=f"Buyer {i}", Company=f"Converted Co {i}", Country="United States",
                                       State=STATES[i % len(STATES)], OwnerId=users[i % len(users)])
                                  for i in range(n)])
    out = []
    for lead, account, (_, amount) in zip(leads, accounts, sizes, strict=True):
        done = plat.crm.convert_lead(str(lead.id), account_id=str(account.id), amount=amount)
        out.append((done.lead_id, done.opportunity_id))
    return out


def conversion_events(plat: Platform, deals: list[tuple[str, str]]) -> list[CrmEvent]:
    """Each deal's ``opportunity.created`` and its lead's ``lead.converted`` (every other one carrying the lead's
    snapshot, as the poller sends it; the rest only its id, as a Flow callout may)."""
    now = dt.datetime.now(dt.UTC)
    out = deal_events(plat, "opportunity.created", [opp for _, opp in deals])
    for i, (lead_id, opp_id) in enumerate(deals):
        snapshot = {"Id": lead_id, "IsConverted": True, "ConvertedOpportunityId": opp_id} if i % 2 == 0 else None
        out.append(CrmEvent(id=event_id("lead.converted", lead_id), type="lead.converted", object="Lead",
                            record_id=lead_id, occurred_at=now, record=snapshot))
    return out


def _deliver(http: TestClient, body: bytes) -> dict[str, int]:
    response = http.post("/api/crm/events", content=body,
                         headers={"X-Revloops-Signature": sign(SECRET, body), "Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.timeout(180)
def test_every_event_three_times_starts_one_plan_one_set_of_tasks_and_one_decision(tmp_path: Path) -> None:
    n = 10
    plat = seeded_org(tmp_path, leads=0, accounts=0, events_secret=SECRET)
    deals = converted_deals(plat, n)
    opps = [opp for _, opp in deals]
    events = conversion_events(plat, deals)
    body = json.dumps({"events": [e.model_dump(mode="json") for e in events]}).encode()
    with TestClient(create_app(app_on(plat), run_engine=True)) as http:
        first = _deliver(http, body)
        second = _deliver(http, body)  # a retried callout while the first is being worked on
        assert (first["accepted"], second["duplicates"]) == (2 * n, 2 * n)
        wait_for(lambda: plat.inbox.counts() == {"done": 2 * n}, 150, "every event to be done", every=0.25)
        third = _deliver(http, body)  # a replay after everything finished
        assert third["duplicates"] == 2 * n
        assert plat.inbox.counts() == {"done": 2 * n}
        found = runs(DBOS, "pursue-")

    assert found == {f"pursue-{opp}": "SUCCESS" for opp in opps}
    lead_of = {lead: opp for lead, opp in deals}
    entries = {e.event.id: (e.deliveries, e.status, e.workflow_id) for e in plat.inbox.entries(limit=3 * n)}
    assert entries == {e.id: (3, "done", f"pursue-{lead_of.get(e.record_id, e.record_id)}") for e in events}
    assert plan_problems(plat, opps) == []
    for opp in opps:
        iid = f"pursue:{opp}"
        assert [i.id for i in plat.plans.instances(record_id=opp)] == [iid]
        assert set(plan_tasks(plat, iid)) == opened(plat, iid) != set()
        assert [d.id for d in plat.decisions.for_record(opp, loop="pursue")] == [f"dec_pursue_pursue_{opp}"]
    assert {i.play_id for i in plat.plans.instances(loop="pursue")} == {
        "enterprise-new-logo", "mid-market-velocity", "smb-fast-close"}


# -- a task completed, then reopened, in the CRM ------------------------------------------------------------


def task_event(plat: Platform, kind: str, task_id: str) -> CrmEvent:
    """The event of a plan task's change with the poller's id (a completion names its time)."""
    task = plat.crm.get("Task", task_id)
    stamp = (task.CompletedDateTime if kind == "task.completed" else None) or task.SystemModstamp
    assert stamp is not None
    return CrmEvent(id=event_id(kind, task_id, stamp.isoformat()), type=kind, object="Task", record_id=task_id,
                    occurred_at=stamp)


@pytest.mark.timeout(120)
def test_a_completed_task_event_opens_its_dependents_and_a_reopened_one_sets_them_waiting(tmp_path: Path) -> None:
    plat, opps = seeded_deals(tmp_path, 3)
    app = app_on(plat)
    app.run_events(OPS, deal_events(plat, "opportunity.created", opps), timeout=60)
    [deal] = [i for i in plat.plans.instances(loop="pursue") if i.play_id == "enterprise-new-logo"]
    assert set(plan_tasks(plat, deal.id)) == {"discovery"}
    discovery = str(plan_tasks(plat, deal.id)["discovery"]["Id"])

    plat.crm.update("Task", discovery, {"Status": "Completed"})  # a rep ticks it off in the CRM
    done = task_event(plat, "task.completed", discovery)
    plat.inbox.accept([done], "webhook")  # delivered twice: one run
    [state] = app.run_events(OPS, [done], timeout=60)
    assert (state.status, state.deliveries) == ("done", 2)
    tasks = plan_tasks(plat, deal.id)
    assert set(tasks) == {"discovery", "technical-validation", "business-case"} == opened(plat, deal.id)
    assert tasks["discovery"]["Status"] == "Completed"
    assert plan_problems(plat, opps) == []

    plat.crm.update("Task", discovery, {"Status": "Not Started"})  # reopened
    [state] = app.run_events(OPS, [task_event(plat, "task.reopened", discovery)], timeout=60)
    assert state.status == "done"
    tasks = plan_tasks(plat, deal.id)
    assert set(tasks) == {"discovery", "technical-validation", "business-case"}  # none deleted
    assert {tasks[m]["Status"] for m in ("technical-validation", "business-case")} == {"Waiting on someone else"}
    assert opened(plat, deal.id) == {"discovery"}
    assert plan_problems(plat, opps) == []

    client = setup.client(plat.settings)
    try:
        task_runs = client.list_workflows(name="plans.task", load_input=False)
    finally:
        client.destroy()
    assert sorted((r.output or {}).get("tasks_created", -1) for r in task_runs) == [0, 2]
    assert {str(r.status) for r in task_runs} == {"SUCCESS"}


# -- a won deal, its event twice ----------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_closed_won_twice_starts_one_onboarding_and_closes_the_play_won(tmp_path: Path) -> None:
    plat, opps = seeded_deals(tmp_path, 2)
    app = app_on(plat)
    app.run_events(OPS, deal_events(plat, "opportunity.created", opps), timeout=60)
    won = opps[1]
    app.set_stage(OPS, won, "Closed Won")
    [closed_won] = deal_events(plat, "opportunity.closed_won", [won])
    [stage] = deal_events(plat, "opportunity.stage_changed", [won])  # the poller sends both for one close
    plat.inbox.accept([closed_won], "webhook")
    states = app.run_events(OPS, [closed_won, stage], timeout=60)
    assert {(s.id, s.status, s.deliveries) for s in states} == {(closed_won.id, "done", 2), (stage.id, "done", 1)}

    assert [i.id for i in plat.plans.instances(loop="onboard")] == [f"onboard:{won}"]
    assert [d.id for d in plat.decisions.for_record(won, loop="onboard")] == [f"dec_onboard_onboard_{won}"]
    handoff = list(plat.crm.query_all(Query("Task", (Filter("Revloops_Key__c", "like", "handoff:%"),))))
    assert [t.Revloops_Key__c for t in handoff] == [f"handoff:{won}"]  # the deal left the checklist empty
    play = plat.plans.get(f"pursue:{won}")
    assert play is not None and play.status == "closed" and (play.outcome or {}).get("result") == "won"
    assert plat.crm.get("Account", str(play.account_id)).Type == "Customer"
    assert plan_problems(plat, opps, "pursue") == []
    assert plan_problems(plat, [won], "onboard") == []
    client = setup.client(plat.settings)
    try:
        assert runs(client, "onboard-") == {f"onboard-{won}": "SUCCESS"}
    finally:
        client.destroy()


# -- a step retried after its plan was stored --------------------------------------------------------------


class OneOutage(LocalCRM):
    """The local CRM answering 503 to its first ``method`` on ``sobject``, then working: the step retries."""

    def __init__(self, crm: LocalCRM, method: str, sobject: str) -> None:
        super().__init__(crm.engine)
        self.method, self.sobject, self.refused = method, sobject, 0

    def _fault(self, method: str, sobject: str) -> None:
        if (method, sobject) == (self.method, self.sobject) and not self.refused:
            self.refused += 1
            raise UpstreamUnavailable(f"the CRM answered 503 to {method} {sobject}")

    def upsert(self, sobject: str, external_id_field: str, external_id: str, fields: Mapping[str, Any]) -> SaveResult:
        self._fault("upsert", sobject)
        return super().upsert(sobject, external_id_field, external_id, fields)

    def update(self, sobject: str, record_id: str, changes: Mapping[str, Any], *, audit_fields: bool = False) -> None:
        self._fault("update", sobject)
        super().update(sobject, record_id, changes, audit_fields=audit_fields)


class OneDecisionOutage(SqlDecisionStore):
    """The decision store failing its first write (a database that went away for a moment), then working."""

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__(engine)
        self.refused = 0

    def record(self, decision: Decision) -> Decision:
        if not self.refused:
            self.refused += 1
            raise UpstreamUnavailable("the state database went away")
        return super().record(decision)


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("loop", "crm_fault", "decision_fault"), [
    ("pursue", ("upsert", "Task"), False),  # the first milestone task: after the decision, before Deal_Play__c
    ("pursue", None, True),  # the decision itself: right after the instance is stored
    ("onboard", ("update", "Account"), False),  # making the account a customer: the first start's last write
], ids=["pursue-task-write", "pursue-decision-write", "onboard-account-write"])
def test_a_step_retried_after_its_plan_was_stored_finishes_what_the_first_try_left(
        tmp_path: Path, loop: str, crm_fault: tuple[str, str] | None, decision_fault: bool, engine_off: None) -> None:
    plat, opps = seeded_deals(tmp_path, 1)
    app = app_on(plat)
    if loop == "onboard":
        app.run_events(OPS, deal_events(plat, "opportunity.created", opps), timeout=60)
        app.set_stage(OPS, opps[0], "Closed Won")
    # the ports the steps use, swapped before the engine starts
    crm = OneOutage(plat.crm, *(crm_fault or ("none", "none")))  # type: ignore[arg-type]
    plat.__dict__["crm"] = crm
    decisions = OneDecisionOutage(plat.engine)
    if decision_fault:
        plat.__dict__["decisions"] = decisions
    kind = "opportunity.closed_won" if loop == "onboard" else "opportunity.created"
    [state] = app.run_events(OPS, deal_events(plat, kind, opps), timeout=60)
    assert state.status == "done"  # the step's retry succeeded
    assert crm.refused + decisions.refused == 1, "the fault was never hit: nothing was tested"
    assert plan_problems(plat, opps, loop) == []


# -- a worker killed mid-batch ------------------------------------------------------------------------------

N = 200


@pytest.fixture
def deals(tmp_path: Path) -> tuple[Platform, list[str]]:
    return seeded_deals(tmp_path, N)


@pytest.fixture
def workers(tmp_path: Path, deals: tuple[Platform, list[str]]) -> Iterator[WorkerProcs]:
    plat = deals[0]
    env = {"REVLOOPS_DB": plat.settings.db, "REVLOOPS_STATE_DIR": str(tmp_path),
           "REVLOOPS_CONFIG": str(plat.settings.config), "REVLOOPS_CHAIN_CONCURRENCY": "8"}
    procs = WorkerProcs(tmp_path, env)
    yield procs
    procs.stop_all()


def plan_task_count(plat: Platform) -> int:
    """How many tasks the plans made, across the org."""
    return sum(1 for _ in plat.crm.query_all(Query("Task", (Filter("Revloops_Key__c", "like", "plan:%"),))))


def in_flight(client: DBOSClient) -> int:
    """How many deal runs a worker has taken and not finished."""
    return engine_status(client).by_workflow.get("pursue.start", {}).get("PENDING", 0)


@pytest.mark.timeout(300)
def test_a_worker_killed_while_200_deals_get_their_plays_leaves_every_plan_complete_and_none_doubled(
        deals: tuple[Platform, list[str]], workers: WorkerProcs) -> None:
    plat, opps = deals
    assert plat.inbox.accept(deal_events(plat, "opportunity.created", opps), "webhook").accepted == N
    first = workers.start("worker-a")  # its inbox tick starts a run per event
    client = setup.client(plat.settings)
    try:
        # The inbox tick enqueues while the queue drains, so the queue can be empty for a moment: aim the kill
        # at a moment with runs in flight.
        try:
            wait_for(lambda: plan_task_count(plat) >= 30 and in_flight(client) > 0, 150,
                     "the worker to be starting plans", every=0.1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {plan_task_count(plat)} plan tasks, runs {engine_status(client)}, inbox "
                                 f"{plat.inbox.counts()}\n{workers.log('worker-a')}") from None
        workers.kill(first)
        at_crash = engine_status(client).by_workflow.get("pursue.start", {})
        assert at_crash.get("SUCCESS", 0) < N, "the batch finished before the kill; nothing was tested"
        assert at_crash.get("PENDING", 0) > 0, f"no run was in flight at the kill: {at_crash}"

        workers.start("worker-a")  # the same executor id: it recovers the runs it had in flight
        wait_for(lambda: engine_status(client).by_workflow.get("pursue.start", {}).get("SUCCESS", 0) == N, 240,
                 "every deal's run to finish", every=0.5)
        final = engine_status(client)
        assert final.by_workflow["pursue.start"] == {"SUCCESS": N} and final.failures == [], workers.log("worker-a")
        assert runs(client, "pursue-") == {f"pursue-{opp}": "SUCCESS" for opp in opps}
    finally:
        client.destroy()

    # a run recovered after the kill may find its instance stored: it must still finish the decision and Deal_Play__c
    assert plan_problems(plat, opps) == []
    instances = plat.plans.instances(loop="pursue")
    assert sorted(i.record_id for i in instances) == sorted(opps)
    open_milestones = sum(len(opened(plat, i.id)) for i in instances)
    assert plan_task_count(plat) == open_milestones == N  # each play's first milestone, once per deal
    decided = [d for opp in opps for d in plat.decisions.for_record(opp, loop="pursue")]
    assert sorted(d.id for d in decided) == sorted(f"dec_pursue_pursue_{opp}" for opp in opps)
    entries = plat.inbox.entries(limit=N + 10)
    assert {(e.status, e.workflow_id) for e in entries} == {("done", f"pursue-{e.event.record_id}") for e in entries}
