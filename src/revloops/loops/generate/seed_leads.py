"""Synthetic leads as they arrive in a real CRM: messy countries, free mail, missing fields, known accounts.

Mix (shares of all leads): ~15% free-mail addresses (a third of them naming a known account's company),
~30% from a known account's domain, the rest from new companies; ~5.5% without a country and ~5.5% without
an employee count; ~2% with contradictory geography.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from revloops.core.domains import normalise_company
from revloops.core.records import Account, Group, Lead
from revloops.loops.generate import seed_data as D
from revloops.loops.generate.seed_parts import (
    Companies,
    Ids,
    country_of,
    domain_of,
    email_local,
    employees,
    person,
    phone,
    title,
    website,
    weighted,
)

FREE_MAIL_SHARE = 0.15
ACCOUNT_SHARE = 0.30
MISSING_COUNTRY = 0.055
MISSING_EMPLOYEES = 0.055
CONTRADICTORY = 0.02
_LEAD_COUNTRIES = {**D.ACCOUNT_COUNTRIES, **D.EXTRA_LEAD_COUNTRIES}
_STATUSES = {"Open - Not Contacted": 85, "Working - Contacted": 12, "Closed - Not Converted": 3}


def company_variant(rng: random.Random, name: str) -> str:
    """How a lead writes a known company: as is, without the legal form, in other case, or with a typo."""
    pick = rng.random()
    if pick < 0.45:
        return name
    if pick < 0.75:
        return normalise_company(name).title()
    if pick < 0.85:
        return name.upper() if rng.random() < 0.5 else name.lower()
    words = name.split()
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    if len(word) >= 6:
        at = rng.randrange(2, len(word) - 2)
        words[longest] = word[:at] + word[at + 1] + word[at] + word[at + 2 :]  # swap two letters
    return " ".join(words)


def _state_as_written(rng: random.Random, state: str, region: str) -> str | None:
    if not state or rng.random() < 0.1:
        return None
    if region in D.REGION_NAMES and rng.random() < 0.25:
        return D.REGION_NAMES[region]
    return state.lower() if len(state) <= 3 and rng.random() < 0.1 else state


def _country_as_written(rng: random.Random, country: str, region: str) -> str:
    spelling = rng.choice(D.COUNTRY_SPELLINGS[country])
    # "England" for an address in Wales would itself be a contradiction.
    if spelling == "England" and region not in ("", "GB-ENG"):
        return "UK"
    if spelling == "Scotland" and region != "GB-SCT":
        return "United Kingdom"
    return spelling


def _address(rng: random.Random, country: str, city: str | None = None) -> dict[str, str | None]:
    options = D.CITIES[country]
    chosen = next((c for c in options if c[0] == city), None) or rng.choice(options)
    name, state, region, postal = chosen
    return {
        "Country": _country_as_written(rng, country, region), "State": _state_as_written(rng, state, region),
        "City": name if rng.random() < 0.9 else None, "PostalCode": postal if rng.random() < 0.8 else None,
    }


def _contradict(rng: random.Random, fields: dict[str, object]) -> None:
    """Make the geography disagree with itself, the way a bad form fill does."""
    pattern = rng.randrange(3)
    if pattern == 0:  # a non-US country with a US state
        fields.update(Country=rng.choice(("Germany", "France", "UK", "Japan")), State=rng.choice(("TX", "CA", "NY")))
    elif pattern == 1:  # Canada with a US state
        fields.update(Country="Canada", State=rng.choice(("Texas", "FL", "Ohio")))
    else:  # a US state with a ZIP from another state
        fields.update(Country="USA", State="CA", PostalCode=rng.choice(("10001", "02110", "60601")))


def _free_mail(rng: random.Random, country: str) -> str:
    local = D.FREE_MAIL.get(country, ())
    return rng.choice(local) if local and rng.random() < 0.4 else rng.choice(D.FREE_MAIL["*"])


def _lead(rng: random.Random, kind: str, accounts: Sequence[Account], companies: Companies
          ) -> tuple[dict[str, object], Account | None]:
    """The company-related fields of one lead, and the account it comes from (if any)."""
    # A third of free-mail leads name a known account: only the company name can match them.
    known = kind == "account" or (kind == "free" and rng.random() < 1 / 3)
    acc = rng.choice(accounts) if accounts and known else None
    if acc is not None:
        country, industry = country_of(acc), acc.Industry or "Technology"
        company, domain = company_variant(rng, acc.Name or ""), domain_of(acc)
        size = acc.NumberOfEmployees or 0
        if rng.random() < 0.3:  # self-reported headcount drifts from the CRM's
            size = max(1, int(size * rng.uniform(0.7, 1.3)))
    else:
        country = weighted(rng, _LEAD_COUNTRIES)
        industry = rng.choice(list(D.INDUSTRIES))
        company, _, domain = companies.new(rng, country, industry)
        size = employees(rng)[1]
    first, last = person(rng, country)
    on_free_mail = kind == "free"
    email = f"{email_local(rng, first, last)}@{_free_mail(rng, country) if on_free_mail else domain}"
    fields: dict[str, object] = {
        "FirstName": first if rng.random() < 0.97 else None, "LastName": last, "Company": company, "Email": email,
        "Website": website(rng, domain) if not on_free_mail and rng.random() < 0.4 else None,
        "Industry": industry if rng.random() < 0.7 else None, "NumberOfEmployees": size,
        "Phone": phone(rng, country) if rng.random() < 0.6 else None,
    }
    fields.update(_address(rng, country, acc.BillingCity if acc is not None else None))
    return fields, acc


def make_leads(rng: random.Random, n: int, seed: int, accounts: Sequence[Account], companies: Companies,
               queues: Sequence[Group]) -> tuple[list[Lead], dict[str, str]]:
    """``n`` leads and, for those drawn from an account, lead Id -> account Id.

    Leads are owned by the Inbound_Triage queue (Partner-sourced ones by Partner_Leads), as they sit before
    routing.
    """
    ids = Ids("Lead", rng)
    queue_ids = {q.DeveloperName: q.Id for q in queues}
    out: list[Lead] = []
    truth: dict[str, str] = {}
    for i in range(n):
        r = rng.random()
        kind = "free" if r < FREE_MAIL_SHARE else "account" if r < FREE_MAIL_SHARE + ACCOUNT_SHARE and accounts else "new"
        fields, acc = _lead(rng, kind, accounts, companies)
        if rng.random() < CONTRADICTORY:
            _contradict(rng, fields)
        if rng.random() < MISSING_COUNTRY:
            fields["Country"] = None
            if rng.random() < 0.5:
                fields["State"] = None
        if rng.random() < MISSING_EMPLOYEES:
            fields["NumberOfEmployees"] = None
        source = weighted(rng, D.LEAD_SOURCES)
        lead = Lead.model_validate({
            "Id": ids(), **fields, "Title": title(rng) if rng.random() < 0.92 else None, "LeadSource": source,
            "Status": weighted(rng, _STATUSES),
            "OwnerId": queue_ids["Partner_Leads" if source == "Partner" else "Inbound_Triage"],
            "External_Id__c": f"seed{seed}-lead-{i:06d}",
        })
        if acc is not None and lead.Id:
            truth[lead.Id] = acc.Id or ""
        out.append(lead)
    return out, truth
