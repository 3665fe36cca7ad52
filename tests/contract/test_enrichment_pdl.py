"""The enrichment contract against the PDL adapter speaking to the local PDL fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from revloops.adapters.pdl.client import PdlEnrichment
from revloops.ports.enrichment import Enrichment
from revloops.testing.fake_pdl import FakePdl
from revloops.testing.servers import RunningServer, serve
from tests.contract.enrichment_contract import EnrichmentContract, Make


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with serve(FakePdl().app) as running:
        yield running


@pytest.fixture
def make(server: RunningServer) -> Make:
    def build(min_likelihood: int) -> Enrichment:
        return PdlEnrichment("test-key", f"{server.url}/v5", min_likelihood=min_likelihood, call_timeout=5.0)

    return build


class TestPdlEnrichment(EnrichmentContract):
    known_email = "ava.chen@northwindtraders.com"
    known_domain = "northwindtraders.com"
    unknown_email = "nobody@unknown-company.example"
    unknown_domain = "unknown-company.example"
    weak_email = "mia.k@fabrikam.de"  # likelihood 4 in the fake's dataset
