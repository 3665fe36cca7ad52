"""PDL's bodies turned into our facts at the border: names title-cased, countries as ISO alpha-2."""

from __future__ import annotations

from typing import Any

from revloops.core.domains import registrable_domain
from revloops.core.geo import country_code
from revloops.ports.enrichment import CompanyFacts, PersonFacts, size_bucket, top_level


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _title(value: Any) -> str | None:
    text = _text(value)
    return text.title() if text else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _country(value: Any) -> str | None:
    text = _text(value)
    return country_code(text) if text else None


def person_facts(email: str, body: dict[str, Any]) -> PersonFacts:
    """Facts from a ``/v5/person/enrich`` 200 body (``{"status", "likelihood", "data": {...}}``)."""
    data = body.get("data") or {}
    levels = tuple(str(lv).lower() for lv in data.get("job_title_levels") or () if isinstance(lv, str))
    return PersonFacts(
        email=email,
        full_name=_title(data.get("full_name")),
        title=_title(data.get("job_title")),
        title_role=_text(data.get("job_title_role")),
        title_levels=levels,
        seniority=top_level(levels),
        company_name=_title(data.get("job_company_name")),
        company_size=_text(data.get("job_company_size")),
        company_industry=_text(data.get("job_company_industry")) or _text(data.get("industry")),
        country=_country(data.get("location_country")),
        likelihood=_int(body.get("likelihood")),
    )


def company_facts(domain: str, body: dict[str, Any]) -> CompanyFacts:
    """Facts from a ``/v5/company/enrich`` 200 body (flat: ``name``, ``size``, ``location``...)."""
    raw_location = body.get("location")
    location: dict[str, Any] = raw_location if isinstance(raw_location, dict) else {}
    employees = _int(body.get("employee_count"))
    return CompanyFacts(
        domain=registrable_domain(domain) or domain,
        name=_title(body.get("name")),
        size=_text(body.get("size")) or size_bucket(employees),
        employee_count=employees,
        industry=_text(body.get("industry")),
        country=_country(location.get("country")),
        region=_title(location.get("region")),
        locality=_title(location.get("locality")),
        likelihood=_int(body.get("likelihood")),
    )
