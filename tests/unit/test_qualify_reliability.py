"""The PDL fake failing a third of calls with 429 or 500: every lead completes, retries stay within their
limits, every call is in the spend log, and a second pass is served from the cache with the same decisions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from revloops.adapters.pdl import SpendLog, build_enrichment
from revloops.bootstrap import Platform
from revloops.core.decisions import Decision
from revloops.core.errors import UpstreamUnavailable
from revloops.core.records import Lead
from revloops.loops.qualify.flow import EnrichmentOutcome, qualify_lead
from revloops.settings import Settings
from revloops.testing.fake_pdl import FakePdl, Faults
from revloops.testing.servers import RunningServer, serve

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
MAX_ATTEMPTS = 4  # the engine's step retries for the enrichment step
IN_CALL = 2  # the adapter's own tries per lookup (one retry)
LOOKUPS = 2  # person and company


@pytest.fixture
def fake() -> FakePdl:
    return FakePdl(faults=Faults(ratio=1 / 3, statuses=(429, 500), reset_after=0.02, seed=11))


@pytest.fixture
def server(fake: FakePdl) -> Iterator[RunningServer]:
    with serve(fake.app) as running:
        yield running


def _run_step(plat: Platform, lead_id: str) -> tuple[EnrichmentOutcome, Decision, int]:
    """What the engine does: retry the step on a transient failure; the last attempt degrades instead."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        last = attempt == MAX_ATTEMPTS
        try:
            outcome, decision = qualify_lead(plat, lead_id, timeout=5.0,
                                             on_unavailable="degrade" if last else "raise")
            return outcome, decision, attempt
        except UpstreamUnavailable as exc:
            assert exc.retry_after is not None and exc.retry_after >= 0
    raise AssertionError("the last attempt degrades and never raises")


def test_a_third_of_calls_failing_loses_no_lead(tmp_path: Path, fake: FakePdl, server: RunningServer) -> None:
    settings = Settings(config=EXAMPLE, db=f"sqlite:///{tmp_path / 'state.sqlite'}", state_dir=tmp_path,
                        pdl_api_key="test-key", pdl_base_url=f"{server.url}/v5", pdl_min_likelihood=2,
                        enrichment_waterfall=["pdl", "offline"])  # the fallback asked for explicitly
    plat = Platform(settings)
    plat.enrichment = build_enrichment(settings, plat.engine)  # type: ignore[misc]
    known = ["ava.chen@northwindtraders.com", "liam.obrien@contoso.co.uk", "mia.k@fabrikam.de"]
    emails = known + [f"lead{i}@company{i}.com" for i in range(21)]
    ids = [plat.crm.create(Lead(LastName=f"L{i}", Company=f"Co {i}", Email=e, LeadSource="Web"))
           for i, e in enumerate(emails)]

    first: dict[str, tuple[EnrichmentOutcome, Decision]] = {}
    attempts = []
    for lead_id in ids:
        outcome, decision, attempt = _run_step(plat, lead_id)
        first[lead_id] = (outcome, decision)
        attempts.append(attempt)

    assert fake.calls["total"] > 0 and any(status for _, _, status in fake.log), "faults were injected"
    assert max(attempts) <= MAX_ATTEMPTS
    assert fake.calls["total"] <= len(ids) * MAX_ATTEMPTS * IN_CALL * LOOKUPS
    for lead_id in ids:  # nothing lost: every lead is scored and logged
        lead = plat.crm.get("Lead", lead_id)
        assert lead.Lead_Score__c is not None and lead.Qualification__c
        assert plat.decisions.for_record(lead_id, loop="qualify")
    spend = SpendLog(plat.engine).totals()
    assert spend.calls == fake.calls["total"]  # every HTTP call the fake saw is in the log
    assert spend.credits == sum(1 for _, _, status in fake.log if status == 0) - spend.by_status.get("not_found", 0)
    assert first[ids[0]][0].sources.get("person") == "pdl"  # a known person came from PDL, not the fallback

    calls_before = fake.calls["total"]
    for lead_id in ids:
        outcome, decision, _ = _run_step(plat, lead_id)
        old_outcome, old_decision = first[lead_id]
        if old_outcome.status == "ok":
            assert outcome.cached or "offline" in outcome.sources.values()
            assert decision.id == old_decision.id
    enriched_first = sum(1 for o, _ in first.values() if o.status == "ok")
    assert enriched_first >= len(ids) - 2
    # only lookups that failed on the first pass go back to PDL
    assert fake.calls["total"] - calls_before <= (len(ids) - enriched_first) * MAX_ATTEMPTS * IN_CALL * LOOKUPS
