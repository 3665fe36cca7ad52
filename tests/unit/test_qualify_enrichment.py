"""The enrichment cache (TTL, not-found cached, errors not), the waterfall's order and fall-through rules,
the provider choice from settings, and the offline provider's determinism."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from revloops.adapters.offline.enrichment import OfflineEnrichment, title_levels
from revloops.adapters.pdl import (
    CachedEnrichment,
    EnrichmentCache,
    PdlEnrichment,
    Waterfall,
    build_enrichment,
)
from revloops.adapters.sql.db import open_database
from revloops.core.errors import ConfigError, UpstreamRejected, UpstreamUnavailable
from revloops.ports.enrichment import Answer, CompanyFacts, Enrichment, Hints, PersonFacts
from revloops.settings import Settings

T0 = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


class Scripted(Enrichment):
    """A provider that answers from a script and counts its calls."""

    def __init__(self, name: str, people: dict[str, PersonFacts | Exception | None], credits: float = 0.0) -> None:
        self.name = name
        self.people = people
        self.credits = credits
        self.calls: list[str] = []

    def enrich_person(self, email: str, *, hints: Hints | None = None,
                      timeout: float | None = None) -> Answer[PersonFacts]:
        self.calls.append(email)
        found = self.people.get(email)
        if isinstance(found, Exception):
            raise found
        return Answer(found, provider=self.name, credits=self.credits if found else 0.0)

    def enrich_company(self, domain: str, *, hints: Hints | None = None,
                       timeout: float | None = None) -> Answer[CompanyFacts]:
        self.calls.append(domain)
        return Answer(None, provider=self.name)


def _facts(email: str, title: str = "VP Sales") -> PersonFacts:
    return PersonFacts(email=email, title=title, title_levels=("vp",), seniority="vp", likelihood=8)


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    return open_database(f"sqlite:///{tmp_path / 'state.sqlite'}")


def test_cache_answers_within_ttl_and_asks_again_after(engine: sa.Engine) -> None:
    clock = Clock()
    inner = Scripted("pdl", {"a@x.com": _facts("a@x.com")}, credits=1.0)
    cached = CachedEnrichment(inner, EnrichmentCache(engine, now=clock), ttl=dt.timedelta(days=30))
    first = cached.enrich_person("a@x.com")
    assert (first.cached, first.credits) == (False, 1.0)
    clock.now = T0 + dt.timedelta(days=29, hours=23)
    again = cached.enrich_person("A@X.com")  # keys compare case-insensitively
    assert (again.cached, again.credits, again.facts) == (True, 0.0, first.facts)
    assert inner.calls == ["a@x.com"]
    clock.now = T0 + dt.timedelta(days=30, seconds=1)
    late = cached.enrich_person("a@x.com")
    assert late.cached is False and inner.calls == ["a@x.com", "a@x.com"]


def test_not_found_is_cached_but_errors_are_not(engine: sa.Engine) -> None:
    clock = Clock()
    inner = Scripted("pdl", {"gone@x.com": None, "flaky@x.com": UpstreamUnavailable("503", retry_after=1)})
    cached = CachedEnrichment(inner, EnrichmentCache(engine, now=clock), ttl=dt.timedelta(days=30),
                              negative_ttl=dt.timedelta(days=1))
    assert cached.person("gone@x.com") is None
    assert cached.enrich_person("gone@x.com").cached is True
    clock.now = T0 + dt.timedelta(days=2)
    assert cached.enrich_person("gone@x.com").cached is False
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable):
            cached.person("flaky@x.com")
    assert inner.calls.count("flaky@x.com") == 2
    assert inner.calls.count("gone@x.com") == 2


def test_cache_is_kept_per_provider(engine: sa.Engine) -> None:
    cache = EnrichmentCache(engine)
    cache.put("pdl", "person", "a@x.com", {"email": "a@x.com"}, dt.timedelta(days=1))
    assert cache.get("pdl", "person", "a@x.com") is not None
    assert cache.get("other", "person", "a@x.com") is None
    assert cache.get("pdl", "company", "a@x.com") is None


def test_waterfall_stops_at_the_first_good_answer() -> None:
    first = Scripted("first", {"a@x.com": _facts("a@x.com", "CTO")}, credits=1.0)
    second = Scripted("second", {"a@x.com": _facts("a@x.com", "Intern"), "b@x.com": _facts("b@x.com")})
    fall = Waterfall([first, second])
    answer = fall.enrich_person("a@x.com")
    assert (answer.provider, answer.facts and answer.facts.title, answer.credits) == ("first", "CTO", 1.0)
    assert second.calls == []
    answer = fall.enrich_person("b@x.com")
    assert answer.provider == "second" and first.calls == ["a@x.com", "b@x.com"]
    missing = fall.enrich_person("c@x.com")
    assert missing.facts is None and second.calls == ["b@x.com", "c@x.com"]


def test_waterfall_falls_through_a_refusal_but_not_a_transient_failure() -> None:
    broke = Scripted("pdl", {"a@x.com": UpstreamRejected("402 payment_required")})
    backup = Scripted("offline", {"a@x.com": _facts("a@x.com")})
    answer = Waterfall([broke, backup]).enrich_person("a@x.com")
    assert answer.provider == "offline" and answer.errors == ("pdl: 402 payment_required",)

    down = Scripted("pdl", {"a@x.com": UpstreamUnavailable("429", retry_after=2.0)})
    backup2 = Scripted("offline", {"a@x.com": _facts("a@x.com")})
    with pytest.raises(UpstreamUnavailable):
        Waterfall([down, backup2]).enrich_person("a@x.com")
    assert backup2.calls == []


def test_waterfall_raises_when_every_provider_refuses() -> None:
    a = Scripted("a", {"a@x.com": UpstreamRejected("401")})
    b = Scripted("b", {"a@x.com": UpstreamRejected("402")})
    with pytest.raises(UpstreamRejected, match="402"):
        Waterfall([a, b]).person("a@x.com")


def _settings(tmp_path: Path, **kw: object) -> Settings:
    return Settings(state_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_build_enrichment_uses_pdl_only_with_a_key(tmp_path: Path, engine: sa.Engine) -> None:
    offline_only = build_enrichment(_settings(tmp_path), engine)
    assert offline_only.names == ["offline"]
    pdl_alone = build_enrichment(_settings(tmp_path, pdl_api_key="k-123", pdl_base_url="http://127.0.0.1:9/v5"), engine)
    assert pdl_alone.names == ["pdl"]  # with a key, no invented fallback behind the real provider
    assert isinstance(pdl_alone.providers[0], CachedEnrichment) and isinstance(pdl_alone.providers[0].inner, PdlEnrichment)
    both = build_enrichment(_settings(tmp_path, pdl_api_key="k", enrichment_waterfall=["pdl", "offline"]), engine)
    assert both.names == ["pdl", "offline"]  # only when asked for
    reordered = build_enrichment(_settings(tmp_path, pdl_api_key="k", enrichment_waterfall=["offline", "pdl"]), engine)
    assert reordered.names == ["offline", "pdl"]
    with pytest.raises(ConfigError, match="clearbit"):
        build_enrichment(_settings(tmp_path, enrichment_waterfall=["clearbit"]), engine)


def test_offline_is_deterministic_and_the_seed_matters() -> None:
    emails = [f"person{i}@company{i}.com" for i in range(40)]
    a = [OfflineEnrichment(seed=1).person(e) for e in emails]
    b = [OfflineEnrichment(seed=1).person(e) for e in emails]
    c = [OfflineEnrichment(seed=2).person(e) for e in emails]
    assert a == b
    assert a != c


def test_offline_prefers_what_the_record_says() -> None:
    hints = Hints(company="Globex Corporation", title="SVP Sales", country="Deutschland", employees=4200)
    facts = OfflineEnrichment().enrich_person("h.schmidt@globex.com", hints=hints).facts
    assert facts is not None
    assert (facts.title, facts.seniority, facts.title_role) == ("SVP Sales", "vp", "sales")
    assert (facts.company_name, facts.company_size, facts.country) == ("Globex Corporation", "1001-5000", "DE")
    company = OfflineEnrichment().enrich_company("acme.co.uk").facts
    assert company is not None and company.country == "GB"  # from the country-code TLD
    bank = OfflineEnrichment().company("first-national-bank.com")
    assert bank is not None and bank.industry == "financial services"


@pytest.mark.parametrize(
    ("title", "levels"),
    [
        ("Chief Revenue Officer", ("cxo",)),
        ("Founder & CEO", ("cxo", "owner")),
        ("SVP, Head of Sales", ("vp", "director")),
        ("Sr. Account Executive", ("senior",)),
        ("Account Executive", ("entry",)),
        (None, ()),
    ],
)
def test_title_levels(title: str | None, levels: tuple[str, ...]) -> None:
    assert title_levels(title) == levels
