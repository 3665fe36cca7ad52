"""A lead created in the CRM reaches its owner with no webhook: the engine's scheduled poll records the change,
the dispatch tick starts the chain, and the chain captures, scores, routes and engages it."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from revloops.app import Caller, app_on
from revloops.bootstrap import Platform, build
from revloops.chains.inbound import crm_poll
from revloops.core.records import Lead
from revloops.engine import setup
from tests.support.workers import wait_for

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"


@pytest.fixture
def plat(tmp_path: Path) -> Iterator[Platform]:
    shutil.copytree(EXAMPLE, tmp_path / "config")
    plat = build(config=tmp_path / "config", db=f"sqlite:///{tmp_path / 'state.sqlite'}", state_dir=tmp_path,
                 crm_poll=True)
    app_on(plat).seed_org(Caller.operator("seed"), users=4, accounts=40, leads=0, seed=5)
    # the org's history is older than the poll: start the watermark now so only new leads count
    plat.inbox.set_watermark("Lead", dt.datetime.now(dt.UTC))
    setup.launch(plat)
    yield plat
    setup.shutdown()


@pytest.mark.timeout(180)
def test_a_created_lead_is_polled_and_chained_to_an_owner(plat: Platform) -> None:
    lead_id = plat.crm.create(Lead(FirstName="Mira", LastName="Kaur", Company="Northwind", Country="U.S.",
                                   State="California", Email="mira@northwind.example", NumberOfEmployees=450,
                                   Title="VP Operations", LeadSource="Web"))
    crm_poll(dt.datetime.now(dt.UTC), None)  # what the schedule fires every 30 s
    crm_poll(dt.datetime.now(dt.UTC), None)  # a second tick records nothing new
    created = [e for e in plat.inbox.entries(limit=100) if e.event.type == "lead.created"]
    assert [e.event.record_id for e in created] == [lead_id]
    # the seeded won deals' onboarding runs too: wait for this lead's own event, not the first one done
    wait_for(lambda: any(e.event.record_id == lead_id for e in plat.inbox.entries(status="done", limit=1000)), 120,
             "the chain to finish the lead")
    lead = plat.crm.get("Lead", lead_id)
    assert lead.OwnerId and lead.OwnerId.startswith(("005", "00G"))  # type: ignore[attr-defined]
    assert lead.Qualification__c and lead.Routing_Decision_Id__c  # type: ignore[attr-defined]
    loops = sorted(d.loop for d in plat.decisions.for_record(lead_id))
    expected = ["generate", "qualify", "route"] + (["engage"] if lead.OwnerId.startswith("005") else [])  # type: ignore[attr-defined]
    assert loops == sorted(expected)


@pytest.mark.timeout(180)
def test_an_event_for_a_lead_already_run_is_marked_done(plat: Platform) -> None:
    from revloops.chains.dispatch import dispatch_pending
    from revloops.chains.inbound import start_lead
    from revloops.core.events import CrmEvent

    lead_id = plat.crm.create(Lead(LastName="Ode", Company="Contoso", Country="DE", Email="ode@contoso.example"))
    start_lead(lead_id)  # run outside the inbox (the demo, the CLI)
    wait_for(lambda: _finished(lead_id), 120, "the lead's run to finish")
    event = CrmEvent(id=f"sf-webhook-{lead_id}", type="lead.created", object="Lead", record_id=lead_id,
                     occurred_at=dt.datetime.now(dt.UTC))
    plat.inbox.accept([event], "webhook")
    dispatch_pending(plat)
    [entry] = [e for e in plat.inbox.entries(limit=50) if e.event.id == event.id]
    assert entry.status == "done" and entry.workflow_id == f"lead-{lead_id}"


def _finished(lead_id: str) -> bool:
    from dbos import DBOS

    status = DBOS.get_workflow_status(f"lead-{lead_id}")
    return status is not None and status.status == "SUCCESS"
