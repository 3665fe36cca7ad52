"""The enrichment contract against the offline deterministic provider."""

from __future__ import annotations

import pytest

from revloops.adapters.offline.enrichment import OfflineEnrichment
from revloops.ports.enrichment import Enrichment
from tests.contract.enrichment_contract import EnrichmentContract, Make


def _weak_email() -> str:
    # Any address the provider matches below 9 works; which one depends on the seed's draws.
    provider = OfflineEnrichment(seed=0)
    for i in range(200):
        facts = provider.person(f"user{i}@example-{i}.com")
        if facts is not None and facts.likelihood is not None and facts.likelihood < 9:
            return f"user{i}@example-{i}.com"
    raise AssertionError("no weak match among 200 addresses")


@pytest.fixture
def make() -> Make:
    def build(min_likelihood: int) -> Enrichment:
        return OfflineEnrichment(seed=0, min_likelihood=min_likelihood)

    return build


class TestOfflineEnrichment(EnrichmentContract):
    known_email = "ava.chen@northwindtraders.com"
    known_domain = "northwindtraders.com"
    unknown_email = "not-an-email"
    unknown_domain = "gmail.com"  # a mailbox provider is nobody's employer
    weak_email = _weak_email()
