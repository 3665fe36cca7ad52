"""The enrichment port: firmographics of a person (by email) and of a company (by domain).

Providers answer our models, never a vendor's dict. "Not found" is an answer (``None`` facts), not an error;
a provider raises ``UpstreamUnavailable`` for transient failures (``EnrichmentTimeout`` when the caller's time
budget ran out) and ``UpstreamRejected`` when the vendor refused the request.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from revloops.core.errors import UpstreamUnavailable
from revloops.core.model import Frozen

Kind = Literal["person", "company"]
#: PDL's company size buckets, which we keep as our own vocabulary for ``size``
SIZE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1-10", 1, 10), ("11-50", 11, 50), ("51-200", 51, 200), ("201-500", 201, 500),
    ("501-1000", 501, 1000), ("1001-5000", 1001, 5000), ("5001-10000", 5001, 10000), ("10001+", 10001, None),
)
#: job title levels from the most senior down (PDL's vocabulary)
LEVELS: tuple[str, ...] = ("cxo", "owner", "partner", "vp", "director", "manager", "senior", "entry", "training", "unpaid")


#: providers whose answers are made up (deterministically, from the record and its domain), not looked up: what
#: they give is marked synthetic wherever it shows
SYNTHETIC_PROVIDERS: frozenset[str] = frozenset({"offline"})


def size_bucket(employees: int | None) -> str | None:
    """The size bucket holding an employee count (``"51-200"``), or None."""
    if employees is None or employees < 1:
        return None
    for name, low, high in SIZE_BUCKETS:
        if employees >= low and (high is None or employees <= high):
            return name
    return None


def top_level(levels: tuple[str, ...] | list[str]) -> str | None:
    """The most senior of a person's title levels (``("manager", "vp")`` -> ``"vp"``), or None."""
    known = [lv for lv in levels if lv in LEVELS]
    return min(known, key=LEVELS.index) if known else None


class PersonFacts(Frozen):
    """What a provider knows about a person.

    Attributes:
        email: the email looked up.
        full_name: the person's name.
        title: the job title as written.
        title_role: the job function (``sales``, ``engineering``, ``finance``...).
        title_levels: the title's levels (``cxo``, ``vp``, ``director``, ``manager``, ``senior``...).
        seniority: the most senior of ``title_levels``.
        company_name: the employer's name.
        company_size: the employer's size bucket (``"51-200"``).
        company_industry: the employer's industry.
        country: the person's country, ISO 3166-1 alpha-2.
        likelihood: the provider's match confidence, 1-10.
    """

    email: str
    full_name: str | None = None
    title: str | None = None
    title_role: str | None = None
    title_levels: tuple[str, ...] = ()
    seniority: str | None = None
    company_name: str | None = None
    company_size: str | None = None
    company_industry: str | None = None
    country: str | None = None
    likelihood: int | None = None


class CompanyFacts(Frozen):
    """What a provider knows about a company.

    Attributes:
        domain: the domain looked up.
        name: the company's name.
        size: the size bucket (``"1001-5000"``).
        employee_count: the head count, when known.
        industry: the industry (lower case, PDL's vocabulary: ``computer software``, ``banking``...).
        country: the headquarters' country, ISO 3166-1 alpha-2.
        region: the headquarters' region as the provider names it.
        locality: the headquarters' city.
        likelihood: the provider's match confidence, 1-10.
    """

    domain: str
    name: str | None = None
    size: str | None = None
    employee_count: int | None = None
    industry: str | None = None
    country: str | None = None
    region: str | None = None
    locality: str | None = None
    likelihood: int | None = None


@dataclass(frozen=True)
class Hints:
    """What the record already says, for providers that can use it (the offline one derives from it)."""

    company: str | None = None
    title: str | None = None
    country: str | None = None
    name: str | None = None
    employees: int | None = None
    industry: str | None = None


F = TypeVar("F", PersonFacts, CompanyFacts)


@dataclass(frozen=True)
class Answer(Generic[F]):
    """One provider's answer to one lookup.

    Attributes:
        facts: what was found, or None for "not found".
        provider: the provider that answered (set by the answering provider or the waterfall).
        credits: credits the lookup spent (0 for a cache hit or an unbilled not-found).
        cached: whether the answer came from the cache.
        errors: providers that failed before this answer, as ``"name: message"`` (waterfall only).
    """

    facts: F | None
    provider: str
    credits: float = 0.0
    cached: bool = False
    errors: tuple[str, ...] = field(default=())


class EnrichmentTimeout(UpstreamUnavailable):
    """The caller's time budget ran out before the provider answered."""

    code = "enrichment_timeout"


class Enrichment(abc.ABC):
    """A source of person and company firmographics."""

    name: str = "enrichment"

    @abc.abstractmethod
    def enrich_person(self, email: str, *, hints: Hints | None = None, timeout: float | None = None) -> Answer[PersonFacts]:
        """Look a person up by email.

        Args:
            email: the address to look up.
            hints: what the record already says (providers may ignore it).
            timeout: seconds the caller can wait in all (None: the provider's own limit).

        Raises:
            UpstreamUnavailable: a transient failure (``EnrichmentTimeout`` when ``timeout`` ran out).
            UpstreamRejected: the provider refused the request (bad key, no credits, bad input).
        """

    @abc.abstractmethod
    def enrich_company(self, domain: str, *, hints: Hints | None = None,
                       timeout: float | None = None) -> Answer[CompanyFacts]:
        """Look a company up by its domain; same arguments and errors as ``enrich_person``."""

    def known_facts(self) -> Iterator[dict[str, Any]]:
        """Every answer the provider holds without a call (a cache's live and expired entries with facts), as
        ``{"provider", "kind", "key", "facts", "fetched_at"}``: what a batch over stored records reads instead
        of one lookup per record. None by default."""
        return iter(())

    def person(self, email: str) -> PersonFacts | None:
        """The person's facts, or None when the provider has none."""
        return self.enrich_person(email).facts

    def company(self, domain: str) -> CompanyFacts | None:
        """The company's facts, or None when the provider has none."""
        return self.enrich_company(domain).facts


def facts_dict(facts: PersonFacts | CompanyFacts | None) -> dict[str, Any] | None:
    """Facts as plain JSON values (tuples as lists), or None."""
    return None if facts is None else facts.model_dump(mode="json")


def facts_from(kind: Kind, data: Mapping[str, Any]) -> PersonFacts | CompanyFacts:
    """Facts of ``kind`` rebuilt from ``facts_dict`` output (the cache's payload)."""
    return PersonFacts.model_validate(data) if kind == "person" else CompanyFacts.model_validate(data)
