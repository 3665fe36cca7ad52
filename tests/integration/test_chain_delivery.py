"""Each lead's event delivered three times through the signed webhook: one run and one set of effects per lead."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dbos import DBOS
from fastapi.testclient import TestClient

from revloops.app import app_on
from revloops.chains.inbound import start_lead
from revloops.core.signing import sign
from revloops.interfaces.api.app import create_app
from tests.integration.test_chain_effects import (
    chain_problems,
    created_events,
    effect_counts,
    lead_ids,
    seeded_org,
)
from tests.support.workers import wait_for

SECRET = "test-secret"
N = 24


def _deliver(http: TestClient, body: bytes) -> dict[str, int]:
    response = http.post("/api/crm/events", content=body,
                         headers={"X-Revloops-Signature": sign(SECRET, body), "Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.timeout(180)
def test_an_event_delivered_three_times_runs_once_with_one_set_of_effects(tmp_path: Path) -> None:
    plat = seeded_org(tmp_path, leads=N, accounts=30, events_secret=SECRET)
    ids = lead_ids(plat)
    events = created_events(plat, ids)
    body = json.dumps({"events": [e.model_dump(mode="json") for e in events]}).encode()
    # The API process runs the engine, whose inbox tick turns pending events into runs.
    with TestClient(create_app(app_on(plat), run_engine=True)) as http:
        first = _deliver(http, body)
        second = _deliver(http, body)  # a retried callout while the first is being worked on
        assert (first["accepted"], first["duplicates"]) == (N, 0)
        assert (second["accepted"], second["duplicates"]) == (0, N)

        wait_for(lambda: plat.inbox.counts() == {"done": N}, 150, "every event to be done", every=0.25)
        third = _deliver(http, body)  # a replay after everything finished
        assert (third["accepted"], third["duplicates"]) == (0, N)
        # A poll racing the webhook, or a replayed dispatch, asks for the same run again: it gets the old one.
        assert [start_lead(i, f"lead.created:{i}") for i in ids] == [f"lead-{i}" for i in ids]
        before = effect_counts(plat)
        assert plat.inbox.counts() == {"done": N}
        runs = DBOS.list_workflows(workflow_id_prefix="lead-", load_input=False, load_output=False)

    assert sorted(r.workflow_id for r in runs) == sorted(f"lead-{i}" for i in ids)
    assert {str(r.status) for r in runs} == {"SUCCESS"}
    entries = {e.event.id: (e.deliveries, e.status, e.workflow_id) for e in plat.inbox.entries(limit=N + 1)}
    assert entries == {e.id: (3, "done", f"lead-{e.record_id}") for e in events}
    assert chain_problems(plat, ids) == []
    assert effect_counts(plat) == before
