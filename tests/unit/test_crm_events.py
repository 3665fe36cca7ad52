"""CRM events in: signed webhook and poller, one durable inbox, each change once."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from revloops.app import app_on
from revloops.bootstrap import Platform, build
from revloops.core.records import Account, Lead, Opportunity, Task
from revloops.core.signing import sign
from revloops.interfaces.api.app import create_app
from revloops.loops.generate.poller import poll, poll_object

SECRET = "s3cr3t-for-tests"
LEAD_ID = "00Q8d00000000AAEAY"  # a well-formed id (its checksum holds)


@pytest.fixture
def plat(tmp_path: Path) -> Platform:
    return build(db=f"sqlite:///{tmp_path / 's.sqlite'}", events_secret=SECRET, config=tmp_path)


@pytest.fixture
def client(plat: Platform) -> TestClient:
    return TestClient(create_app(app_on(plat)))


def _event(eid: str = "lead.created:" + LEAD_ID, kind: str = "lead.created", obj: str = "Lead") -> dict[str, object]:
    return {"id": eid, "type": kind, "object": obj, "record_id": LEAD_ID, "occurred_at": "2026-11-29T10:00:00Z",
            "record": {"LastName": "Ng", "Company": "Acme"}}


def _post(client: TestClient, body: bytes, header: str | None) -> object:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Revloops-Signature"] = header
    return client.post("/api/crm/events", content=body, headers=headers)


def test_signed_events_are_accepted_once(client: TestClient, plat: Platform) -> None:
    body = json.dumps({"events": [_event()]}).encode()
    first = _post(client, body, sign(SECRET, body))
    assert first.status_code == 202 and first.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    for _ in range(2):  # delivered three times in all
        again = _post(client, body, sign(SECRET, body))
        assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    [entry] = plat.inbox.entries()
    assert entry.status == "pending" and entry.deliveries == 3 and entry.source == "webhook"


@pytest.mark.parametrize("header", [None, "t=1,v1=abc", "garbage", "WRONG"])
def test_bad_or_missing_signature_is_401_and_records_nothing(client: TestClient, plat: Platform,
                                                             header: str | None) -> None:
    body = json.dumps({"events": [_event()]}).encode()
    if header == "WRONG":
        header = sign("another-secret", body)
    assert _post(client, body, header).status_code == 401
    assert plat.inbox.counts() == {}


def test_stale_signature_is_refused(client: TestClient, plat: Platform) -> None:
    body = json.dumps({"events": [_event()]}).encode()
    stale = sign(SECRET, body, timestamp=int(time.time()) - 301)
    resp = _post(client, body, stale)
    assert resp.status_code == 401 and "stale" in resp.json()["message"]
    assert plat.inbox.counts() == {}


def test_signature_covers_the_body(client: TestClient) -> None:
    body = json.dumps({"events": [_event()]}).encode()
    header = sign(SECRET, body)
    tampered = body.replace(b"Acme", b"Evil")
    assert _post(client, tampered, header).status_code == 401


def test_malformed_body_is_422_naming_the_field(client: TestClient, plat: Platform) -> None:
    bad = _event()
    del bad["record_id"]
    body = json.dumps({"events": [bad]}).encode()
    resp = _post(client, body, sign(SECRET, body))
    assert resp.status_code == 422 and resp.json()["field"] == "events.0.record_id"
    body = b"{not json"
    assert _post(client, body, sign(SECRET, body)).status_code == 422
    assert plat.inbox.counts() == {}


def test_unknown_type_is_recorded_as_rejected_with_reason(client: TestClient, plat: Platform) -> None:
    body = json.dumps({"events": [_event("x:1", "lead.exploded"), _event()]}).encode()
    resp = _post(client, body, sign(SECRET, body)).json()
    assert resp["accepted"] == 1 and resp["rejected"][0]["id"] == "x:1"
    assert "unknown event type" in resp["rejected"][0]["reason"]
    assert plat.inbox.counts() == {"pending": 1, "rejected": 1}


def test_poller_reads_changes_once_and_keeps_a_durable_watermark(plat: Platform) -> None:
    crm = plat.crm
    lead_ids = [crm.create(Lead(LastName=f"L{i}", Company="Acme")) for i in range(5)]
    crm.create(Account(Name="Acme"))
    opp = crm.create(Opportunity(Name="Deal", StageName="Prospecting", CloseDate=dt.date(2027, 1, 1)))
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    first = {r.sobject: r for r in poll(crm, plat.inbox, since=since)}
    # the opportunity: created, and its stage
    assert first["Lead"].accepted == 5 and first["Account"].accepted == 1 and first["Opportunity"].accepted == 2
    # the overlap re-reads the same changes: all duplicates, nothing new
    again = {r.sobject: r for r in poll(crm, plat.inbox)}
    assert again["Lead"].accepted == 0 and again["Lead"].duplicates == 5
    crm.update("Opportunity", opp, {"StageName": "Closed Won", "IsWon": True, "IsClosed": True})
    crm.update("Lead", lead_ids[0], {"IsConverted": True})
    later = {r.sobject: r for r in poll(crm, plat.inbox)}
    assert later["Opportunity"].accepted == 2  # stage changed to Closed Won, and closed won
    assert later["Lead"].accepted == 1  # converted
    kinds = sorted(e.event.type for e in plat.inbox.entries(limit=100))
    assert kinds.count("lead.created") == 5 and kinds.count("opportunity.closed_won") == 1
    assert kinds.count("opportunity.created") == 1
    # a fresh process sees the same watermark
    other = build(db=plat.settings.db_url, config=plat.settings.config)
    assert other.inbox.watermark("Lead") == plat.inbox.watermark("Lead") is not None


def test_poller_sees_plan_tasks_completed_and_reopened_and_no_other_task(plat: Platform) -> None:
    crm = plat.crm
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    plan_task = crm.create(Task(Subject="Discovery", Revloops_Key__c="plan:pursue:0068d0000000001AAA:discovery"))
    crm.create(Task(Subject="Call back", Status="Completed", Revloops_Key__c="engage:00Q8d0000000001AAA"))
    poll(crm, plat.inbox, since=since, objects=("Task",))
    assert plat.inbox.entries(limit=10) == []  # a new open task is no change to a plan
    crm.update("Task", plan_task, {"Status": "Completed"})
    poll(crm, plat.inbox, objects=("Task",))
    crm.update("Task", plan_task, {"Status": "Not Started"})
    poll(crm, plat.inbox, objects=("Task",))
    crm.update("Task", plan_task, {"Status": "Completed"})
    poll(crm, plat.inbox, objects=("Task",))
    kinds = [e.event.type for e in plat.inbox.entries(limit=10)]
    # each completion and each reopening is its own event; the engage task (no plan's) is never one
    assert kinds.count("task.completed") == 2 and kinds.count("task.reopened") == 1
    assert {e.event.record_id for e in plat.inbox.entries(limit=10)} == {plan_task}


def test_watermark_never_moves_back(plat: Platform) -> None:
    t = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
    plat.inbox.set_watermark("Lead", t)
    plat.inbox.set_watermark("Lead", t - dt.timedelta(hours=1))
    assert plat.inbox.watermark("Lead") == t
    result = poll_object(plat.crm, plat.inbox, "Lead")
    assert result.since == t - dt.timedelta(minutes=2)
