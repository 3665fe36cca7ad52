"""The synthetic org: determinism, the promised distributions, and a clean write into the local CRM."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.db import open_database
from revloops.core.domains import company_domain, is_free_mail, registrable_domain
from revloops.core.errors import InputError
from revloops.core.geo import normalise_geo
from revloops.core.ids import is_valid_id
from revloops.core.matching import AccountIndex
from revloops.loops.generate.seed import NamedUser, SyntheticOrg, generate_org, write_org
from revloops.loops.generate.seed_data import COUNTRY_SPELLINGS
from revloops.ports.crm import Query


@pytest.fixture(scope="module")
def org() -> SyntheticOrg:
    return generate_org(users=40, accounts=400, leads=3000, seed=11)


def test_same_seed_same_records_ids_included(org: SyntheticOrg) -> None:
    again = generate_org(users=40, accounts=400, leads=3000, seed=11)
    assert again == org


def test_different_seeds_differ(org: SyntheticOrg) -> None:
    other = generate_org(users=40, accounts=400, leads=3000, seed=12)
    assert {a.Id for a in other.accounts}.isdisjoint({a.Id for a in org.accounts})
    assert [a.Name for a in other.accounts] != [a.Name for a in org.accounts]


def test_more_leads_add_records_and_change_none_of_the_others(org: SyntheticOrg) -> None:
    bigger = generate_org(users=40, accounts=400, leads=3500, seed=11)
    assert bigger.users == org.users and bigger.queues == org.queues
    # what the extra leads bring (their conversions' accounts, contacts, deals and usage, their routings) comes
    # after everything the smaller org has, which stays as it was
    for name in ("accounts", "contacts", "opportunities", "usage", "leads", "routes", "opportunity_changes"):
        mine, more = getattr(org, name), getattr(bigger, name)
        assert len(more) >= len(mine) and more[: len(mine)] == mine, name
    assert len(bigger.leads) == 3500 and bigger.accounts[:400] == org.accounts[:400]
    touches = {t for t in org.tasks if (t.Subject or "").startswith("First touch")}
    assert touches and touches <= set(bigger.tasks)  # the reps' other activity depends on all the leads


def test_ids_are_valid_and_unique(org: SyntheticOrg) -> None:
    for sobject, records in org.batches():
        ids = [r.Id for r in records]
        assert len(set(ids)) == len(ids)
        assert all(r.Id and is_valid_id(r.Id, sobject) for r in records)


def test_account_names_and_domains_unique(org: SyntheticOrg) -> None:
    domains = [registrable_domain(a.Website) for a in org.accounts]
    assert None not in domains and len(set(domains)) == len(domains)
    assert len({a.Name for a in org.accounts}) == len(org.accounts)


def test_account_mix(org: SyntheticOrg) -> None:
    countries = Counter(normalise_geo(a.BillingCountry, a.BillingState).country for a in org.accounts)
    assert None not in countries
    for code in ("US", "CA", "GB", "DE", "FR", "AU", "JP"):
        assert countries[code] > 0, code
    assert countries["US"] / len(org.accounts) == pytest.approx(0.38, abs=0.08)
    sizes = Counter(
        "smb" if n < 200 else "mid" if n < 1000 else "ent" for n in (a.NumberOfEmployees or 0 for a in org.accounts)
    )
    assert sizes["smb"] > sizes["mid"] > sizes["ent"] > 0
    named = [a for a in org.accounts if a.Named__c]
    assert 0 < len(named) < len(org.accounts) / 4
    ae_ids = {u.Id for u in org.users if u.Sales_Role__c == "AE"}
    assert all(a.OwnerId in ae_ids for a in org.accounts)


def test_revenue_grows_with_size(org: SyntheticOrg) -> None:
    small = [a.AnnualRevenue or 0 for a in org.accounts if (a.NumberOfEmployees or 0) < 50]
    large = [a.AnnualRevenue or 0 for a in org.accounts if (a.NumberOfEmployees or 0) >= 1000]
    assert max(small) < min(large)


def test_clean_account_geography_is_consistent(org: SyntheticOrg) -> None:
    # Accounts are the CRM's maintained data: their addresses must never look contradictory.
    for a in org.accounts:
        geo = normalise_geo(a.BillingCountry, a.BillingState, a.BillingPostalCode, a.BillingCity)
        assert not geo.ambiguous, (a.BillingCountry, a.BillingState, a.BillingPostalCode, geo.reason)


def test_lead_mix(org: SyntheticOrg) -> None:
    n = len(org.leads)
    free = sum(is_free_mail(lead.Email) for lead in org.leads) / n
    assert free == pytest.approx(0.15, abs=0.03)
    # the accounts leads are drawn from (not those their conversions made)
    account_domains = {registrable_domain(a.Website) for a in org.accounts if "-cacc-" not in str(a.External_Id__c)}
    on_account = sum(company_domain(lead.Email) in account_domains for lead in org.leads) / n
    assert on_account == pytest.approx(0.30, abs=0.04)
    missing = sum(lead.Country is None or lead.NumberOfEmployees is None for lead in org.leads) / n
    assert missing == pytest.approx(0.10, abs=0.03)
    spellings = Counter(lead.Country for lead in org.leads if normalise_geo(lead.Country, None).country == "US")
    assert {"USA", "United States", "U.S."} <= set(spellings)
    sources = Counter(lead.LeadSource for lead in org.leads)
    assert set(sources) == {"Web", "Partner", "Event", "Content", "Paid Search", "Outbound"}
    titles = {lead.Title for lead in org.leads}
    assert {"CEO", "VP Sales", "Sales Manager"} <= titles


def test_some_lead_geography_is_contradictory(org: SyntheticOrg) -> None:
    flagged = sum(normalise_geo(le.Country, le.State, le.PostalCode, le.City).ambiguous for le in org.leads)
    assert 0.005 * len(org.leads) < flagged < 0.08 * len(org.leads)


def test_every_country_the_seed_writes_is_understood(org: SyntheticOrg) -> None:
    for code, spellings in COUNTRY_SPELLINGS.items():
        for spelling in spellings:
            assert normalise_geo(spelling, None).country == code, spelling
    for lead in org.leads:
        if lead.Country is not None:
            assert normalise_geo(lead.Country, None).country is not None, lead.Country


def test_truth_matches_the_index(org: SyntheticOrg) -> None:
    # Every domain-drawn lead must be found by domain matching; name-only ones mostly by name.
    index = AccountIndex(org.accounts)
    by_id = {lead.Id: lead for lead in org.leads}
    domain_hits = name_hits = name_total = 0
    for lead_id, account_id in org.lead_accounts.items():
        lead = by_id[lead_id]
        if is_free_mail(lead.Email):
            name_total += 1
            m = index.match(lead.Email, lead.Website, lead.Company, mode="domain_then_name")
            name_hits += m is not None and m.account_id == account_id
        else:
            m = index.match(lead.Email, lead.Website)
            domain_hits += m is not None and m.account_id == account_id
    assert domain_hits == len(org.lead_accounts) - name_total
    assert name_total > 0 and name_hits / name_total > 0.85


def test_users_have_roles_and_one_head(org: SyntheticOrg) -> None:
    roles = Counter(u.Sales_Role__c for u in org.users)
    assert set(roles) == {"AE", "SDR", "SE", "CSM", "Manager"}
    heads = [u for u in org.users if u.ManagerId is None]
    assert len(heads) == 1 and heads[0].Sales_Role__c == "Manager"
    ids = {u.Id for u in org.users}
    assert all(u.ManagerId in ids for u in org.users if u.ManagerId)


def test_named_users_kept_with_their_managers() -> None:
    named = [
        NamedUser(username="vp@acme.example", first_name="Vera", last_name="Pike", role="Manager"),
        NamedUser(username="ae@acme.example", first_name="Al", last_name="Eden", role="AE", manager="vp@acme.example",
                  country="DE"),
    ]
    org = generate_org(users=5, accounts=3, leads=0, seed=1, named_users=named)
    by_name = {u.Username: u for u in org.users}
    assert len(org.users) == 5
    assert by_name["ae@acme.example"].ManagerId == by_name["vp@acme.example"].Id
    assert all(u.ManagerId == by_name["vp@acme.example"].Id for u in org.users if u.Username != "vp@acme.example"
               and u.Sales_Role__c == "Manager")


def test_unknown_manager_is_refused() -> None:
    with pytest.raises(InputError) as err:
        generate_org(1, 0, 0, 1, [NamedUser(username="a@x.example", first_name="A", last_name="B", role="AE",
                                            manager="ghost@x.example")])
    assert err.value.field == "manager"


def test_empty_org_and_negative_counts() -> None:
    org = generate_org(0, 0, 5, seed=3)
    assert len(org.leads) == 5 and not org.accounts and not org.lead_accounts
    with pytest.raises(InputError):
        generate_org(-1, 0, 0, seed=3)


def test_write_into_local_crm_every_record_valid_and_idempotent(tmp_path: Path) -> None:
    crm = LocalCRM(open_database(f"sqlite:///{tmp_path / 'state.sqlite'}"))
    org = generate_org(users=12, accounts=60, leads=250, seed=5)
    seen: list[tuple[int, int]] = []
    created = write_org(crm, org, progress=lambda done, total: seen.append((done, total)))
    assert created == {sobject: len(records) for sobject, records in org.batches()}
    assert created["User"] == 12 and created["Lead"] == 250 and created["Account"] >= 60  # and conversions'
    assert seen[-1][0] == seen[-1][1] == sum(len(r) for _, r in org.batches())
    stored = {a.Id: a for a in crm.query_all(Query("Account"))}
    assert stored.keys() == {a.Id for a in org.accounts}  # the generated ids survive the write
    user_ids = {u.Id for u in crm.query_all(Query("User"))}
    assert all(a.OwnerId in user_ids for a in stored.values())
    assert all(c.AccountId in stored for c in crm.query_all(Query("Contact")))
    queue_ids = {g.Id for g in crm.query_all(Query("Group"))}
    assert all(lead.OwnerId in queue_ids | user_ids for lead in crm.query_all(Query("Lead")))
    history = len(list(crm.query_all(Query("OpportunityHistory"))))
    assert history == len(org.opportunity_changes)  # one row per change, the CRM's own
    assert write_org(crm, org) == dict.fromkeys(created, 0)  # a second run creates nothing
    assert len(list(crm.query_all(Query("OpportunityHistory")))) == history  # ... and changes nothing


def test_write_resolves_references_to_existing_users(tmp_path: Path) -> None:
    crm = LocalCRM(open_database(f"sqlite:///{tmp_path / 'state.sqlite'}"))
    first = generate_org(users=6, accounts=0, leads=0, seed=9)
    write_org(crm, SyntheticOrg(users=first.users))
    org = generate_org(users=6, accounts=20, leads=10, seed=9)
    # The same users, but the CRM assigns new ids for the rest: references must follow.
    created = write_org(crm, org, keep_ids=False)
    assert created["User"] == 0 and created["Account"] == 20
    user_ids = {u.Id for u in crm.query_all(Query("User"))}
    account_ids = {a.Id for a in crm.query_all(Query("Account"))}
    assert account_ids.isdisjoint({a.Id for a in org.accounts})
    assert all(a.OwnerId in user_ids for a in crm.query_all(Query("Account")))
    assert all(c.AccountId in account_ids for c in crm.query_all(Query("Contact")))
