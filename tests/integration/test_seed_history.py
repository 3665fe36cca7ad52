"""The example org seeded with its history through the application: the route decisions land in the
platform's decision log, and the inbound chain takes only the leads still waiting to be routed, leaving the
history as it was."""

from __future__ import annotations

from pathlib import Path

from revloops.app import Caller, app_on
from revloops.core.records import Lead
from revloops.ports.crm import Query
from tests.integration.test_chain_effects import seeded_org


def test_the_chain_takes_the_waiting_leads_and_leaves_the_history_alone(tmp_path: Path) -> None:
    plat = seeded_org(tmp_path, leads=80, accounts=30, history=True)
    leads = [lead for lead in plat.crm.query_all(Query("Lead")) if isinstance(lead, Lead)]
    waiting = {lead.Id for lead in leads if lead.Routing_Decision_Id__c is None}
    seeded = {d.id: d for d in plat.decisions.recent(loop="route", limit=100_000)}
    assert seeded and all(d.actor == "seed" for d in seeded.values())
    assert {lead.Routing_Decision_Id__c for lead in leads if lead.Routing_Decision_Id__c} <= set(seeded)
    assert 3 <= len(waiting) < len(leads)

    run = app_on(plat).run_chain(Caller.operator("test"), count=3)

    assert len(run.leads) == 3 and set(run.leads) <= waiting
    after = {d.id: d for d in plat.decisions.recent(loop="route", limit=100_000)}
    assert {k: after[k] for k in seeded} == seeded  # the history's decisions, untouched
    fresh = [d for d in after.values() if d.id not in seeded]
    assert sorted(d.record_id for d in fresh) == sorted(run.leads)
    assert all(d.id == f"dec_route_{d.record_id}" for d in fresh)
    assert run.speed.p50 is not None and run.speed.p50 >= 0  # measured on the chain's own routings only
