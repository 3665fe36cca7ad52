"""The enrichment port's contract: the offline provider and the PDL adapter (against the local fake) pass these.

A provider's test module subclasses ``EnrichmentContract`` and provides ``make(min_likelihood)`` plus lookup
keys: a known person and company, an unknown person and company, and a person whose match is weak enough
that a strict ``min_likelihood`` turns it into "not found".
"""

from __future__ import annotations

from collections.abc import Callable

from revloops.ports.enrichment import LEVELS, SIZE_BUCKETS, CompanyFacts, Enrichment, PersonFacts

Make = Callable[[int], Enrichment]
BUCKETS = {name for name, _, _ in SIZE_BUCKETS}


class EnrichmentContract:
    """Behaviour every enrichment provider must show."""

    known_email: str
    known_domain: str
    unknown_email: str
    unknown_domain: str
    weak_email: str

    def test_person_found_has_our_fields(self, make: Make) -> None:
        answer = make(1).enrich_person(self.known_email)
        facts = answer.facts
        assert isinstance(facts, PersonFacts)
        assert facts.email == self.known_email
        assert facts.title and facts.seniority in LEVELS and facts.seniority in facts.title_levels
        assert facts.country is not None and len(facts.country) == 2 and facts.country.isupper()
        assert facts.company_size is None or facts.company_size in BUCKETS
        assert answer.provider == make(1).name

    def test_company_found_has_our_fields(self, make: Make) -> None:
        facts = make(1).company(self.known_domain)
        assert isinstance(facts, CompanyFacts)
        assert facts.domain == self.known_domain
        assert facts.name and facts.size in BUCKETS
        assert facts.country is not None and len(facts.country) == 2
        if facts.employee_count is not None:
            low, high = next((lo, hi) for name, lo, hi in SIZE_BUCKETS if name == facts.size)
            assert facts.employee_count >= low and (high is None or facts.employee_count <= high)

    def test_not_found_is_none_not_an_error(self, make: Make) -> None:
        provider = make(1)
        assert provider.person(self.unknown_email) is None
        assert provider.company(self.unknown_domain) is None

    def test_min_likelihood_is_respected(self, make: Make) -> None:
        lenient = make(1).person(self.weak_email)
        assert lenient is not None and lenient.likelihood is not None and lenient.likelihood < 9
        assert make(9).person(self.weak_email) is None
        strict = make(lenient.likelihood).person(self.weak_email)
        assert strict is not None and strict.likelihood == lenient.likelihood

    def test_same_lookup_same_answer(self, make: Make) -> None:
        provider = make(1)
        assert provider.person(self.known_email) == provider.person(self.known_email)
        assert provider.company(self.known_domain) == provider.company(self.known_domain)
