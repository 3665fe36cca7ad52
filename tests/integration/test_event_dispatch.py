"""The inbox dispatcher hands each event to the reaction registered for its type, and knows no type itself.

A loop reacts in its own module: here this test module declares a workflow and a reaction to
``opportunity.closed_won`` (in place of Onboard's) and the engine's dispatcher starts it, one run for the events that
name one opportunity; a type nobody reacts to is skipped, saying so. Workflow modules are found, not listed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOS

from revloops.bootstrap import Platform, build
from revloops.chains.dispatch import dispatch_pending, finish_step
from revloops.core.errors import InputError
from revloops.core.events import CrmEvent, event_id
from revloops.engine import setup
from revloops.engine.registry import (
    REACTIONS,
    Run,
    load_workflow_modules,
    reacts_to,
    run_key,
    start_once,
    step,
    workflow,
    workflow_modules,
)
from revloops.ports.inbox import InboxEntry
from tests.support.workers import wait_for

WON = "opportunity.closed_won"
OPPORTUNITY = "006000000000001AAA"
CALLS: Counter[str] = Counter()


@step(attempts=1)
def note_won(opportunity_id: str) -> str:
    CALLS[opportunity_id] += 1
    return f"won {opportunity_id}"


@workflow("test.deal_won")
def deal_won(opportunity_id: str, event_id: str | None) -> str:
    """What a loop's reacting workflow looks like: its steps, then it finishes the events pointing at it."""
    summary = note_won(opportunity_id)
    finish_step(event_id, DBOS.workflow_id or "", summary)
    return summary


def on_deal_won(event: CrmEvent) -> Run:
    return Run(deal_won, run_key("won", event.record_id), (event.record_id, event.id))


@pytest.fixture
def plat(tmp_path: Path) -> Iterator[Platform]:
    plat = build(db=f"sqlite:///{tmp_path / 'state.sqlite'}", state_dir=tmp_path)
    setup.launch(plat, modules=(__name__,))  # how a worker is told of a module outside the chains package
    yield plat
    setup.shutdown()


@pytest.fixture
def reacting(plat: Platform) -> Iterator[None]:
    """The reaction as a loop's module declares it at import; registered for this test only, in place of
    Onboard's own (put back afterwards), so the other tests of the run see the real one."""
    onboard = REACTIONS.pop(WON, None)
    reacts_to(WON, queue="chain")(on_deal_won)
    yield
    REACTIONS.pop(WON, None)
    if onboard is not None:
        REACTIONS[WON] = onboard


def _event(kind: str, sobject: str, record_id: str, eid: str | None = None) -> CrmEvent:
    return CrmEvent(id=eid or event_id(kind, record_id), type=kind, object=sobject, record_id=record_id,
                    occurred_at=dt.datetime.now(dt.UTC))


def _entries(plat: Platform) -> dict[str, InboxEntry]:
    return {e.event.id: e for e in plat.inbox.entries(limit=100)}


@pytest.mark.timeout(60)
def test_the_dispatcher_starts_a_reaction_declared_in_another_module(plat: Platform, reacting: None) -> None:
    won = _event(WON, "Opportunity", OPPORTUNITY)
    again = _event(WON, "Opportunity", OPPORTUNITY, eid=f"sf-webhook-{OPPORTUNITY}")  # the same change, by webhook
    other = _event("account.changed", "Account", "001000000000001AAA")
    assert plat.inbox.accept([won, again, other], "webhook").accepted == 3
    dispatch_pending(plat)  # the engine's tick does the same about once a second

    wait_for(lambda: plat.inbox.counts() == {"done": 2, "skipped": 1}, 30, "the events to be dispatched")
    entries = _entries(plat)
    key = f"won-{OPPORTUNITY}"
    assert (entries[won.id].status, entries[won.id].workflow_id) == ("done", key)
    assert (entries[again.id].status, entries[again.id].workflow_id) == ("done", key)
    assert entries[other.id].reason == "no loop reacts to account.changed yet"
    assert CALLS[OPPORTUNITY] == 1  # two events, one run
    [run] = DBOS.list_workflows(workflow_id_prefix="won-")
    assert (run.workflow_id, run.name, run.queue_name) == (key, "test.deal_won", "chain")


@pytest.mark.timeout(60)
def test_an_event_naming_a_run_that_already_finished_is_done(plat: Platform, reacting: None) -> None:
    record = "006000000000002AAA"
    handle = start_once(run_key("won", record), deal_won, record, None)  # run outside the inbox
    assert handle.get_result() == f"won {record}"
    late = _event(WON, "Opportunity", record)
    plat.inbox.accept([late], "poller")
    dispatch_pending(plat)
    wait_for(lambda: _entries(plat)[late.id].status == "done", 30, "the late event to be done")
    assert _entries(plat)[late.id].workflow_id == f"won-{record}"
    assert CALLS[record] == 1


def test_a_second_reaction_to_a_type_is_refused_at_declaration() -> None:
    load_workflow_modules()  # the lead chain's module declares its reaction to lead.created

    def another(event: CrmEvent) -> Run:
        return on_deal_won(event)

    with pytest.raises(InputError, match="lead.created already has a reaction"):
        reacts_to("lead.created")(another)
    assert REACTIONS["lead.created"].react.__name__ == "on_lead_created"


def test_workflow_modules_are_found_in_the_chains_package() -> None:
    found = workflow_modules()
    assert {"revloops.chains.inbound", "revloops.chains.probe", "revloops.chains.dispatch"} <= set(found)
    assert list(found) == sorted(found)
    assert __name__ not in found  # extra modules are imported at launch, not digested into the code version
