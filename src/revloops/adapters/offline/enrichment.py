"""The offline enrichment provider: plausible firmographics derived from the record and a seed.

It needs no network and no key, so it is the default and the fallback. The same (seed, lookup key, hints)
always gives the same answer: what the record says wins (its title, company, country, head count), and
what it does not say is read from the domain (country-code TLDs, industry words) or drawn from a hash.
"""

from __future__ import annotations

import hashlib
import random
import re

from revloops.core.domains import host_of, is_free_mail, registrable_domain
from revloops.core.geo import country_code
from revloops.ports.enrichment import (
    SIZE_BUCKETS,
    Answer,
    CompanyFacts,
    Enrichment,
    Hints,
    PersonFacts,
    size_bucket,
    top_level,
)

# Size buckets weighted roughly as inbound B2B leads arrive: many small companies, few giants.
_SIZE_WEIGHTS = (14, 22, 24, 14, 9, 9, 4, 4)
_CC_TLD = {
    "uk": "GB", "de": "DE", "fr": "FR", "nl": "NL", "es": "ES", "it": "IT", "se": "SE", "ch": "CH", "at": "AT",
    "be": "BE", "dk": "DK", "no": "NO", "fi": "FI", "ie": "IE", "pl": "PL", "pt": "PT", "ca": "CA", "au": "AU",
    "nz": "NZ", "jp": "JP", "in": "IN", "br": "BR", "mx": "MX", "sg": "SG", "za": "ZA", "us": "US",
}
_COUNTRIES = ("US",) * 10 + ("GB",) * 3 + ("DE",) * 2 + ("CA", "FR", "NL", "AU", "SE", "ES", "IN", "JP", "BR")
_INDUSTRY_WORDS: tuple[tuple[str, str], ...] = (
    (r"bank|capital|financ|invest|fund|pay|credit|insur", "financial services"),
    (r"health|med|clinic|pharma|bio|care|hospital", "hospital & health care"),
    (r"soft|tech|cloud|data|ai|labs?|systems|digital|cyber|dev|app|io\b", "computer software"),
    (r"shop|store|retail|mart|goods|commerce", "retail"),
    (r"edu|school|university|college|academy|learn", "education management"),
    (r"logistic|freight|shipping|transport|cargo", "logistics and supply chain"),
    (r"manufactur|industr|steel|machin|factory|motors", "industrial automation"),
    (r"media|news|studio|film|music|publish", "media production"),
    (r"energy|solar|power|oil|gas\b|electric", "renewables & environment"),
    (r"consult|advis|partners|group", "management consulting"),
)
_INDUSTRIES = (
    "computer software", "information technology and services", "financial services", "marketing and advertising",
    "hospital & health care", "retail", "management consulting", "internet", "telecommunications", "insurance",
)
_LEVEL_WORDS: tuple[tuple[str, str], ...] = (
    (r"\b(chief|ceo|cto|cfo|coo|cmo|cro|cio|ciso|cpo|president)\b", "cxo"),
    (r"\b(founder|co-founder|owner)\b", "owner"),
    (r"\bpartner\b", "partner"),
    (r"\b(vp|svp|evp|avp|vice president)\b", "vp"),
    (r"\b(director|head of|head)\b", "director"),
    (r"\b(manager|mgr|lead|supervisor)\b", "manager"),
    (r"\b(senior|sr\.?|principal|staff)\b", "senior"),
    (r"\b(intern|trainee|apprentice)\b", "training"),
)
_ROLE_WORDS: tuple[tuple[str, str], ...] = (
    (r"sales|account exec|revenue|business development|\bbdr\b|\bsdr\b|\bcro\b", "sales"),
    (r"marketing|growth|brand|demand|\bcmo\b", "marketing"),
    (r"engineer|developer|technolog|\bcto\b|\bit\b|software|architect|devops|data", "engineering"),
    (r"financ|\bcfo\b|account(ant|ing)|controller|treasur", "finance"),
    (r"operations|\bcoo\b|revops|ops\b", "operations"),
    (r"\bhr\b|people|talent|recruit|human resources", "human_resources"),
    (r"customer|support|success|service", "customer_service"),
    (r"legal|counsel|compliance|attorney", "legal"),
    (r"\bceo\b|founder|owner|president|general manager", "operations"),
)
_TITLES = (
    "Head of Revenue Operations", "VP Sales", "Director of Marketing", "Sales Operations Manager",
    "Chief Revenue Officer", "Account Executive", "Marketing Manager", "Senior Data Engineer", "CFO",
    "Director of IT", "Customer Success Manager", "Founder & CEO",
)


def _rng(seed: int, kind: str, key: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{kind}:{key.lower()}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _first_match(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    for pattern, value in table:
        if re.search(pattern, text, re.IGNORECASE):
            return value
    return None


def title_levels(title: str | None) -> tuple[str, ...]:
    """The levels a title reads as (``"SVP, Head of Sales"`` -> ``("vp", "director")``), most senior first."""
    if not title:
        return ()
    found = [level for pattern, level in _LEVEL_WORDS if re.search(pattern, title, re.IGNORECASE)]
    return tuple(dict.fromkeys(found)) or ("entry",)


def title_role(title: str | None) -> str | None:
    """The job function a title reads as (``sales``, ``marketing``, ``engineering``...), or None."""
    return _first_match(_ROLE_WORDS, title) if title else None


def _company_name(domain: str) -> str:
    label = domain.split(".", 1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[-_]+", label) if part) or domain


def _country_of(domain: str, hint: str | None, rng: random.Random) -> str:
    code = country_code(hint) if hint else None
    if code:
        return code
    tld = domain.rsplit(".", 1)[-1].lower()
    return _CC_TLD.get(tld) or rng.choice(_COUNTRIES)


def _size(hints: Hints, rng: random.Random) -> tuple[str, int]:
    if hints.employees and hints.employees > 0:
        return size_bucket(hints.employees) or "1-10", hints.employees
    name, low, high = rng.choices(SIZE_BUCKETS, weights=_SIZE_WEIGHTS, k=1)[0]
    return name, rng.randint(low, high if high is not None else 60000)


class OfflineEnrichment(Enrichment):
    """Deterministic, plausible firmographics with no network.

    Args:
        seed: changes every drawn value (same seed, same answers).
        min_likelihood: answers below this confidence are "not found", as the real provider does.
    """

    name = "offline"

    def __init__(self, seed: int = 0, min_likelihood: int = 1) -> None:
        self.seed = seed
        self.min_likelihood = min_likelihood

    def _likelihood(self, rng: random.Random, hints: Hints) -> int:
        # What the record tells us makes the guess firmer; a bare domain is a weaker match.
        known = sum(1 for v in (hints.company, hints.title, hints.country, hints.employees) if v)
        return min(10, rng.randint(3, 8) + known)

    def _company(self, domain: str, hints: Hints) -> CompanyFacts | None:
        domain = registrable_domain(domain) or ""
        if not domain or is_free_mail(domain):
            return None
        rng = _rng(self.seed, "company", domain)
        likelihood = self._likelihood(rng, hints)
        if likelihood < self.min_likelihood:
            return None
        name = hints.company or _company_name(domain)
        size, employees = _size(hints, rng)
        industry = (hints.industry.lower() if hints.industry else None) or _first_match(
            _INDUSTRY_WORDS, f"{name} {domain}") or rng.choice(_INDUSTRIES)
        return CompanyFacts(domain=domain, name=name, size=size, employee_count=employees, industry=industry,
                            country=_country_of(domain, hints.country, rng), likelihood=likelihood)

    def enrich_company(self, domain: str, *, hints: Hints | None = None,
                       timeout: float | None = None) -> Answer[CompanyFacts]:
        return Answer(self._company(domain, hints or Hints()), provider=self.name)

    def enrich_person(self, email: str, *, hints: Hints | None = None,
                      timeout: float | None = None) -> Answer[PersonFacts]:
        hints = hints or Hints()
        host = host_of(email) if "@" in email else None
        if host is None or not email.split("@", 1)[0]:
            return Answer(None, provider=self.name)
        rng = _rng(self.seed, "person", email)
        likelihood = self._likelihood(rng, hints)
        if likelihood < self.min_likelihood:
            return Answer(None, provider=self.name)
        title = hints.title or rng.choice(_TITLES)
        levels = title_levels(title)
        company = None if is_free_mail(host) else self._company(host, hints)
        local = re.split(r"[+]", email.split("@", 1)[0])[0]
        name = hints.name or " ".join(p.capitalize() for p in re.split(r"[._\-]+", local) if p) or None
        country = country_code(hints.country) if hints.country else None
        facts = PersonFacts(
            email=email, full_name=name, title=title, title_role=title_role(title), title_levels=levels,
            seniority=top_level(levels), company_name=company.name if company else hints.company,
            company_size=company.size if company else size_bucket(hints.employees), company_industry=company.industry if company else None,
            country=country or (company.country if company else None), likelihood=likelihood,
        )
        return Answer(facts, provider=self.name)
