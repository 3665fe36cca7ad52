"""The inbound chain under provider and CRM faults.

- People Data Labs answering 429/500 to a third of calls and the LLM answering 529 to every call: every
  lead completes, enrichment and drafting stay within their retry limits, the drafts fall back offline and
  the task says why.
- The CRM refusing the route step's write until its retries run out: the run parks in ERROR, visible in
  ``revloops status --json``; once the CRM is back, ``revloops retry <id>`` finishes it with one set of effects.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbos import DBOS
from typer.testing import CliRunner

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.tables import engage_sequences
from revloops.bootstrap import Platform
from revloops.chains.inbound import start_lead
from revloops.core.errors import UpstreamUnavailable
from revloops.engine import setup
from revloops.interfaces.cli.app import app
from revloops.ports.crm import Query
from revloops.testing.fake_anthropic import FakeAnthropic
from revloops.testing.fake_pdl import FakePdl, Faults
from revloops.testing.servers import serve
from tests.integration.test_chain_effects import chain_problems, created_events, lead_ids, seeded_org
from tests.support.workers import wait_for

# The retry limits the chain declares (chains/inbound.py) and the adapters' in-call tries.
PDL_TRIES_PER_CALL = 2  # PdlEnrichment(retries=1)
ENRICH_ATTEMPTS = 4 + 3  # enrich_step, then enrich_degraded_step
LLM_TRIES = 4  # AnthropicLLM(max_attempts=4)
ROUTE_ATTEMPTS = 6  # route_step


@pytest.fixture
def engine_off() -> Iterator[None]:
    """Whatever a test launched in this process is stopped at teardown."""
    yield
    setup.shutdown()


@pytest.mark.timeout(180)
def test_flaky_enrichment_and_an_overloaded_llm_lose_no_lead(tmp_path: Path, engine_off: None) -> None:
    pdl = FakePdl(faults=Faults(ratio=1 / 3, statuses=(429, 500), reset_after=0.05, seed=3))
    llm = FakeAnthropic()
    llm.fail_always(529, retry_after=0.01)
    with serve(pdl.app) as pdl_server, serve(llm.app) as llm_server:
        plat = seeded_org(tmp_path, leads=40, accounts=40, pdl_api_key="test-key",
                          pdl_base_url=f"{pdl_server.url}/v5", anthropic_api_key="test-key",
                          anthropic_base_url=llm_server.url)
        ids = lead_ids(plat)
        setup.launch(plat)
        results = [DBOS.retrieve_workflow(key).get_result() for key in [start_lead(i) for i in ids]]
        enrich_runs = DBOS.list_workflows(name="lead.enrich")

    assert [r["lead_id"] for r in results] == ids  # every lead completed (get_result raises for a failed run)
    # with PDL configured, enrichment ran as one child run per lead on the rate-limited pdl queue
    assert sorted(w.workflow_id for w in enrich_runs) == sorted(f"enrich-{i}" for i in ids)
    assert {w.queue_name for w in enrich_runs} == {"pdl"}
    assert chain_problems(plat, ids) == []

    statuses = Counter(status for (_kind, _key, status) in pdl.log)
    assert statuses[429] + statuses[500] > 0 and statuses[0] > 0, statuses
    per_key = Counter((kind, key) for (kind, key, _status) in pdl.log)
    leads_per_key = _leads_per_lookup(plat, ids)
    over = {k: n for k, n in per_key.items() if n > PDL_TRIES_PER_CALL * ENRICH_ATTEMPTS * leads_per_key[k]}
    assert over == {}, f"PDL asked more often than the retry limits allow: {over}"
    # Some lookup failed both in-call tries, so the engine retried the step: the step retries were exercised.
    assert max(per_key[k] for k in per_key if k[0] == "person") > PDL_TRIES_PER_CALL

    sequences = _sequences(plat)
    assert sequences, "no lead was engaged: the LLM path was never taken"
    assert len(llm.requests) == LLM_TRIES * len(sequences)  # each draft: its tries, then the offline fallback
    for lead_id, (composer, reason) in sequences.items():
        assert composer == "offline" and reason and "529" in reason, (lead_id, composer, reason)
        task = plat.crm.find_one(Query("Task").where("Revloops_Key__c", "eq", f"engage:{lead_id}"))
        assert task is not None and "drafted offline because the LLM was unavailable" in str(task.Description)


def _leads_per_lookup(plat: Platform, ids: list[str]) -> Counter[tuple[str, str]]:
    """How many of the leads look up each PDL key (several leads of one company share a domain)."""
    from revloops.loops.qualify.flow import lookup_keys

    counts: Counter[tuple[str, str]] = Counter()
    for lead_id in ids:
        email, domain = lookup_keys(plat.crm.get("Lead", lead_id).fields())
        if email:
            counts["person", email] += 1
        if domain:
            counts["company", domain] += 1
    return counts


def _sequences(plat: Platform) -> dict[str, tuple[str, str | None]]:
    with plat.engine.connect() as conn:
        rows = conn.execute(sa.select(engage_sequences.c.lead_id, engage_sequences.c.composer,
                                      engage_sequences.c.fallback_reason)).all()
    return {r.lead_id: (r.composer, r.fallback_reason) for r in rows}


class RouteWriteOutage(LocalCRM):
    """The local CRM refusing the route step's write (owner and decision id on the lead) while ``down``.

    It counts what it refused and how often each kind of lead write landed, so a test can tell which steps
    ran again after a retry.
    """

    def __init__(self, crm: LocalCRM) -> None:
        super().__init__(crm.engine)
        self.down = True
        self.refused = 0
        self.writes: Counter[str] = Counter()

    def update(self, sobject: str, record_id: str, changes: Mapping[str, Any], *, audit_fields: bool = False) -> None:
        if sobject == "Lead" and "Routing_Decision_Id__c" in changes:
            if self.down:
                self.refused += 1
                raise UpstreamUnavailable("the CRM answered 503: server unavailable for maintenance")
            self.writes["route"] += 1
        if sobject == "Lead" and "Lead_Score__c" in changes:
            self.writes["score"] += 1
        super().update(sobject, record_id, changes, audit_fields=audit_fields)


def _cli(plat: Platform, *args: str) -> Any:
    env = {"REVLOOPS_DB": plat.settings.db, "REVLOOPS_STATE_DIR": str(plat.settings.state_dir),
           "REVLOOPS_CONFIG": str(plat.settings.config)}
    result = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.timeout(120)
def test_a_route_step_out_of_retries_parks_the_run_and_retry_finishes_it_once(tmp_path: Path,
                                                                              engine_off: None) -> None:
    plat = seeded_org(tmp_path, leads=6, accounts=12)
    crm = RouteWriteOutage(plat.crm)  # type: ignore[arg-type]
    plat.__dict__["crm"] = crm  # the port the steps use, swapped before the engine starts
    lead_id = lead_ids(plat)[0]
    key = f"lead-{lead_id}"
    setup.launch(plat)
    plat.inbox.accept(created_events(plat, [lead_id]), "webhook")  # the engine's inbox tick starts the run

    # the run uses up the route step's retries, and the inbox says so: failed, with the run's error
    wait_for(lambda: plat.inbox.counts().get("failed") == 1 and _state(key) == "ERROR", 60,
             "the run to use up the route step's retries and its event to show it", every=0.25)
    [parked] = plat.inbox.entries(status="failed")
    assert parked.workflow_id == key and "server unavailable for maintenance" in (parked.reason or "")
    assert crm.refused == ROUTE_ATTEMPTS
    status = _cli(plat, "status")
    assert status["counts"]["ERROR"] == 1 and status["by_workflow"]["lead.inbound"] == {"ERROR": 1}
    [failure] = status["failures"]
    assert (failure["workflow_id"], failure["workflow"]) == (key, "lead.inbound")
    assert failure["failed_step"]["name"] == "route_step"
    assert "server unavailable for maintenance" in failure["failed_step"]["error"]
    assert chain_problems(plat, [lead_id]) == [f"{lead_id}: 0 route decisions, expected 1"]

    crm.down = False
    retried = _cli(plat, "retry", key)
    assert retried["from_step"] == failure["failed_step"]["step"]
    wait_for(lambda: _state(key) == "SUCCESS" and plat.inbox.counts() == {"done": 1}, 60, "the retried run")

    assert chain_problems(plat, [lead_id]) == []
    assert crm.refused == ROUTE_ATTEMPTS and crm.writes == Counter({"score": 1, "route": 1})  # no step ran twice
    after = _cli(plat, "status")  # the scheduled CRM poll may have ticked too: look at the chain's runs
    assert after["by_workflow"]["lead.inbound"] == {"SUCCESS": 1}
    assert "ERROR" not in after["counts"] and after["failures"] == []


def _state(workflow_id: str) -> str | None:
    status = DBOS.get_workflow_status(workflow_id)
    return None if status is None else str(status.status)
