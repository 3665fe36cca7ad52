"""Qualify's flow on the embedded CRM: enrich within a budget, score, write the lead and the decision log;
idempotent on the same inputs; a slow or failing provider never loses the lead."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from revloops.bootstrap import Platform
from revloops.core.context import build_context
from revloops.core.errors import UpstreamUnavailable
from revloops.core.records import Lead
from revloops.loops.qualify.flow import enrich, qualify_lead, score_lead
from revloops.loops.qualify.metrics import qualify_metrics
from revloops.ports.enrichment import Answer, CompanyFacts, Enrichment, EnrichmentTimeout, Hints, PersonFacts
from revloops.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"


@pytest.fixture
def plat(tmp_path: Path) -> Platform:
    return Platform(Settings(config=EXAMPLE, db=f"sqlite:///{tmp_path / 'state.sqlite'}", state_dir=tmp_path,
                             pdl_api_key=None, enrichment_waterfall=["offline"]))


def _lead(plat: Platform, **fields: object) -> str:
    base: dict[str, object] = {"LastName": "Chen", "Company": "Northwind Traders"}
    return plat.crm.create(Lead(**{**base, **fields}))


class Slow(Enrichment):
    """A provider that takes ``delay`` seconds, giving up as a real one does when the budget is shorter."""

    name = "slow"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0

    def _wait(self, timeout: float | None) -> None:
        self.calls += 1
        if timeout is not None and timeout < self.delay:
            time.sleep(timeout)
            raise EnrichmentTimeout("too slow", retry_after=1.0)
        time.sleep(self.delay)

    def enrich_person(self, email: str, *, hints: Hints | None = None,
                      timeout: float | None = None) -> Answer[PersonFacts]:
        self._wait(timeout)
        return Answer(PersonFacts(email=email, title="CEO", seniority="cxo"), provider=self.name)

    def enrich_company(self, domain: str, *, hints: Hints | None = None,
                       timeout: float | None = None) -> Answer[CompanyFacts]:
        self._wait(timeout)
        return Answer(CompanyFacts(domain=domain, size="10001+"), provider=self.name)


class Down(Enrichment):
    name = "down"

    def enrich_person(self, email: str, *, hints: Hints | None = None,
                      timeout: float | None = None) -> Answer[PersonFacts]:
        raise UpstreamUnavailable("503 from upstream", retry_after=4.0)

    def enrich_company(self, domain: str, *, hints: Hints | None = None,
                       timeout: float | None = None) -> Answer[CompanyFacts]:
        raise UpstreamUnavailable("503 from upstream", retry_after=4.0)


def test_qualify_writes_the_score_to_the_lead_and_the_decision_log(plat: Platform) -> None:
    lead_id = _lead(plat, Email="ava.chen@northwindtraders.com", Title="Chief Revenue Officer",
                    LeadSource="Demo Request", Country="United States", NumberOfEmployees=2400)
    outcome, decision = qualify_lead(plat, lead_id, actor="test")
    assert outcome.status == "ok" and outcome.provider == "offline"
    lead = plat.crm.get("Lead", lead_id)
    points = [line["points"] for line in decision.detail["breakdown"]]
    assert lead.Lead_Score__c == decision.detail["total"] == sum(points)
    assert lead.Fit_Score__c is not None and lead.Intent_Score__c is not None
    assert lead.Fit_Score__c + lead.Intent_Score__c == lead.Lead_Score__c
    rule_ids = {line["rule_id"] for line in decision.detail["breakdown"]}
    assert {"title-c-level", "size-enterprise", "target-country", "demo-request"} <= rule_ids
    assert decision.outcome == "mql" and lead.Qualification__c == "MQL"
    assert lead.Enrichment_Status__c == "synthetic"  # the offline provider invented what it found
    assert lead.Score_Reasons__c is not None and "(demo-request)" in lead.Score_Reasons__c
    assert plat.decisions.get(decision.id).loop == "qualify"
    assert decision.config_version == plat.config.version and decision.actor == "test"


def test_scoring_twice_on_the_same_inputs_changes_nothing(plat: Platform) -> None:
    lead_id = _lead(plat, Email="liam@contoso.co.uk", Title="Marketing Manager", LeadSource="Web")
    _, first = qualify_lead(plat, lead_id)
    stamp = plat.crm.get("Lead", lead_id).SystemModstamp
    _, again = qualify_lead(plat, lead_id)
    assert again.id == first.id
    assert len(plat.decisions.for_record(lead_id, loop="qualify")) == 1
    assert plat.crm.get("Lead", lead_id).SystemModstamp == stamp
    plat.crm.update("Lead", lead_id, {"LeadSource": "Demo Request"})
    _, changed = qualify_lead(plat, lead_id)
    assert changed.id != first.id and changed.detail["total"] == first.detail["total"] + 35 - 10


def test_a_slow_provider_times_out_and_the_lead_is_scored_on_what_it_has(plat: Platform) -> None:
    slow = Slow(delay=2.0)
    plat.enrichment = slow  # type: ignore[misc]
    lead_id = _lead(plat, Email="x@initech.com", Title="VP Sales", LeadSource="Web", Country="US")
    started = time.monotonic()
    outcome = enrich(plat, plat.crm.get("Lead", lead_id), timeout=0.3)
    assert time.monotonic() - started < 1.9  # it did not wait the provider out
    assert outcome.status == "timeout" and outcome.person is None and outcome.company is None
    assert outcome.note is not None and "0.3s" in outcome.note
    assert slow.calls == 1  # the company lookup was not started without budget
    ctx = build_context(plat.crm.get("Lead", lead_id).fields(), enrichment=outcome.context(), score={})
    decision = score_lead(plat, lead_id, ctx)
    assert decision.detail["enrichment_status"] == "timeout"
    assert plat.crm.get("Lead", lead_id).Enrichment_Status__c == "failed:timeout"
    assert "title-vp" in {line["rule_id"] for line in decision.detail["breakdown"]}


def test_transient_failure_raises_for_the_engine_then_degrades_on_the_last_attempt(plat: Platform) -> None:
    plat.enrichment = Down()  # type: ignore[misc]
    lead = {"Email": "x@initech.com", "LastName": "X", "Company": "Initech"}
    with pytest.raises(UpstreamUnavailable) as info:
        enrich(plat, lead)
    assert info.value.retry_after == 4.0
    outcome = enrich(plat, lead, on_unavailable="degrade")
    assert outcome.status == "error" and len(outcome.errors) == 2


def test_nothing_to_look_up_is_not_found(plat: Platform) -> None:
    outcome = enrich(plat, {"LastName": "X", "Company": "Y", "Email": "someone@gmail.com"}, timeout=1.0)
    # the person is still looked up; a mailbox domain is no company to look up
    assert outcome.company is None
    empty = enrich(plat, {"LastName": "X", "Company": "Y"}, timeout=1.0)
    assert empty.status == "not_found" and empty.note == "no email or company domain to look up"


def test_metrics_count_each_lead_once(plat: Platform) -> None:
    ids = [
        _lead(plat, Email="a@northwindtraders.com", Title="CEO", LeadSource="Demo Request", NumberOfEmployees=3000,
              Country="US"),
        _lead(plat, Email="b@gmail.com", Title="Student", LeadSource="Content", NumberOfEmployees=5),
        _lead(plat, LeadSource="Web", Title="Director of IT"),
    ]
    for lead_id in ids:
        qualify_lead(plat, lead_id)
    plat.crm.update("Lead", ids[2], {"LeadSource": "Demo Request"})
    qualify_lead(plat, ids[2])  # rescored: still one lead
    m = qualify_metrics(plat)
    assert m.leads == 3 and sum(m.bands.values()) == 3
    assert m.mql_rate == pytest.approx(m.bands.get("mql", 0) / 3)
    assert m.enrichment_status == {"ok": 2, "not_found": 1}
    assert m.enrichment_hit_rate == pytest.approx(2 / 3)
    assert m.provider_calls == 0 and m.credits_spent == 0.0  # the offline provider costs nothing
