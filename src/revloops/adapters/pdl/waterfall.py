"""The enrichment waterfall: providers tried in order, the first that has facts answers.

A provider with no facts, or one that refused the request (no credits, bad key), hands over to the next.
A transient failure (429, 5xx, a timeout) is raised instead: falling through would swap a real answer for a
guess only because of timing, and the engine's step retries are there to wait it out.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from revloops.core.errors import ConfigError, UpstreamRejected
from revloops.ports.enrichment import (
    Answer,
    CompanyFacts,
    Enrichment,
    EnrichmentTimeout,
    Hints,
    PersonFacts,
)

PROVIDERS = ("pdl", "offline")


class Waterfall(Enrichment):
    """Providers in order; the answer names the provider that answered and adds up the credits of all tried."""

    name = "waterfall"

    def __init__(self, providers: Sequence[Enrichment]) -> None:
        if not providers:
            raise ValueError("a waterfall needs at least one provider")
        self.providers = list(providers)

    @property
    def names(self) -> list[str]:
        """The providers' names, in order."""
        return [p.name for p in self.providers]

    def known_facts(self) -> Iterator[dict[str, Any]]:
        for provider in self.providers:
            yield from provider.known_facts()

    def _run(self, ask: Callable[[Enrichment, float | None], Answer[Any]], timeout: float | None) -> Answer[Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        credits, errors, rejected = 0.0, [], 0
        last: UpstreamRejected | None = None
        for provider in self.providers:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise EnrichmentTimeout(f"enrichment ran out of time before {provider.name}", retry_after=1.0)
            try:
                answer = ask(provider, left)
            except UpstreamRejected as exc:
                errors.append(f"{provider.name}: {exc.message}")
                rejected, last = rejected + 1, exc
                continue
            credits += answer.credits
            if answer.facts is not None:
                return Answer(answer.facts, provider=provider.name, credits=credits, cached=answer.cached,
                              errors=tuple(errors))
        if last is not None and rejected == len(self.providers):
            raise last
        return Answer(None, provider=self.providers[-1].name, credits=credits, errors=tuple(errors))

    def enrich_person(self, email: str, *, hints: Hints | None = None,
                      timeout: float | None = None) -> Answer[PersonFacts]:
        return self._run(lambda p, left: p.enrich_person(email, hints=hints, timeout=left), timeout)

    def enrich_company(self, domain: str, *, hints: Hints | None = None,
                       timeout: float | None = None) -> Answer[CompanyFacts]:
        return self._run(lambda p, left: p.enrich_company(domain, hints=hints, timeout=left), timeout)


def build_enrichment(settings: Any, engine: sa.Engine) -> Waterfall:
    """The waterfall the settings ask for.

    ``pdl`` joins only when ``REVLOOPS_PDL_API_KEY`` is set (behind the cache, its spend logged);
    ``offline`` is the deterministic provider, whose answers are synthetic. Unless the waterfall is set, it is
    People Data Labs alone when its key is set (a "not found" stays not found: no invented fallback) and the
    offline provider otherwise. With nothing usable left, the offline provider is used.

    Raises:
        ConfigError: an unknown provider name in ``REVLOOPS_ENRICHMENT_WATERFALL``.
    """
    from revloops.adapters.offline.enrichment import OfflineEnrichment
    from revloops.adapters.pdl.client import PdlEnrichment
    from revloops.adapters.pdl.store import CachedEnrichment, EnrichmentCache, SpendLog

    providers: list[Enrichment] = []
    names = settings.enrichment_waterfall
    if names is None:
        names = ["pdl"] if settings.pdl_api_key is not None else ["offline"]
    for name in names:
        if name not in PROVIDERS:
            raise ConfigError(f"unknown enrichment provider {name!r} in REVLOOPS_ENRICHMENT_WATERFALL; "
                              f"known: {', '.join(PROVIDERS)}")
        if name == "offline":
            providers.append(OfflineEnrichment())
        elif settings.pdl_api_key is not None:
            pdl = PdlEnrichment(
                settings.pdl_api_key.get_secret_value(), settings.pdl_base_url,
                min_likelihood=settings.pdl_min_likelihood, call_timeout=settings.enrichment_timeout_seconds,
                spend=SpendLog(engine),
            )
            ttl = dt.timedelta(days=settings.enrichment_cache_ttl_days)
            providers.append(CachedEnrichment(pdl, EnrichmentCache(engine), ttl))
    return Waterfall(providers or [OfflineEnrichment()])
