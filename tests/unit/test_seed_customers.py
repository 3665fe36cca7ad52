"""The synthetic org's customers: contracts, churn, monthly usage and deals, deterministic for a seed."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.db import open_database
from revloops.core.records import Account, Opportunity, Usage_Snapshot__c
from revloops.loops.generate.seed import AS_OF, SyntheticOrg, generate_org, write_org
from revloops.loops.generate.seed_data import OPEN_STAGES
from revloops.loops.generate.seed_deals import HANDOFF_FIELDS
from revloops.loops.generate.seed_parts import add_months, month_starts
from revloops.ports.crm import Query


@pytest.fixture(scope="module")
def org() -> SyntheticOrg:
    return generate_org(users=20, accounts=500, leads=0, seed=7)  # the demo's accounts and seed


def _customers(org: SyntheticOrg) -> list[Account]:
    return [a for a in org.accounts if (a.Type or "").startswith("Customer")]


def _former(org: SyntheticOrg) -> list[Account]:
    return [a for a in org.accounts if a.Type == "Former Customer"]


def _usage(org: SyntheticOrg) -> dict[str, list[Usage_Snapshot__c]]:
    out: dict[str, list[Usage_Snapshot__c]] = defaultdict(list)
    for u in org.usage:
        out[u.Account__c or ""].append(u)
    return out


def _deals(org: SyntheticOrg) -> dict[str, list[Opportunity]]:
    out: dict[str, list[Opportunity]] = defaultdict(list)
    for o in org.opportunities:
        out[o.AccountId or ""].append(o)
    return out


def _utilisation(rows: list[Usage_Snapshot__c]) -> float:
    return sum((u.Seats_Active__c or 0) / (u.Seats_Purchased__c or 1) for u in rows) / len(rows)


def test_same_seed_same_customers_ids_included(org: SyntheticOrg) -> None:
    again = generate_org(users=20, accounts=500, leads=0, seed=7)
    assert again.accounts == org.accounts and again.opportunities == org.opportunities
    assert again.usage == org.usage
    other = generate_org(users=20, accounts=500, leads=0, seed=8)
    assert {u.Id for u in other.usage}.isdisjoint({u.Id for u in org.usage})


def test_customers_have_contracts(org: SyntheticOrg) -> None:
    customers = _customers(org)
    assert len(customers) > 100
    for a in customers:
        since, end = a.Customer_Since__c, a.Contract_End__c
        assert since is not None and end is not None
        assert AS_OF - dt.timedelta(days=3 * 365) <= since <= AS_OF - dt.timedelta(days=90)  # 3 to 36 months
        assert AS_OF < end <= add_months(AS_OF, 12)
        assert end in {add_months(since, 12 * k) for k in range(1, 5)}  # annual terms
        assert (a.ARR__c or 0) > 0 and (a.Seats_Purchased__c or 0) > 0 and a.Churned_On__c is None
        assert a.Health_Score__c is None and a.Health_Band__c is None  # Expand writes these
    days = [((a.Contract_End__c or AS_OF) - AS_OF).days for a in customers]
    assert 0 < sum(d <= 30 for d in days) < sum(d <= 60 for d in days) < sum(d <= 90 for d in days)
    big = [a.ARR__c or 0 for a in customers if (a.NumberOfEmployees or 0) >= 1000]
    small = [a.ARR__c or 0 for a in customers if (a.NumberOfEmployees or 0) < 50]
    assert sum(big) / len(big) > 5 * sum(small) / len(small)
    prospects = [a for a in org.accounts if a.Type == "Prospect"]
    assert all(a.Customer_Since__c is None and a.ARR__c is None for a in prospects)


def test_usage_covers_every_customer_month(org: SyntheticOrg) -> None:
    usage = _usage(org)
    for a in _customers(org):
        rows = usage[a.Id or ""]
        assert [u.Month__c for u in rows] == month_starts(a.Customer_Since__c or AS_OF, AS_OF)
        assert rows[-1].Seats_Purchased__c == a.Seats_Purchased__c
        assert all(0 <= (u.Seats_Active__c or 0) <= (u.Seats_Purchased__c or 0) for u in rows)
    ever = {a.Id for a in [*_customers(org), *_former(org)]}
    assert set(usage) == ever  # prospects and partners have no usage
    ext = [u.External_Id__c or "" for u in org.usage]
    assert len(set(ext)) == len(ext) and all(re.fullmatch(r"seed7-use-\d{7}", e) for e in ext)
    surveyed = [u.NPS__c for u in org.usage if u.NPS__c is not None]
    assert len(surveyed) / len(org.usage) == pytest.approx(1 / 3, abs=0.05)
    assert all(-100 <= n <= 100 for n in surveyed) and min(surveyed) < 0 < max(surveyed)
    flips = sum(r[i].Executive_Sponsor__c != r[i - 1].Executive_Sponsor__c for r in usage.values()
                for i in range(1, len(r)))
    assert flips < 0.08 * len(org.usage)  # the sponsor is mostly the same person month to month


def test_churn_history(org: SyntheticOrg) -> None:
    former, usage, deals = _former(org), _usage(org), _deals(org)
    assert 0.08 * len(org.accounts) < len(former) < 0.17 * len(org.accounts)
    declined = 0
    for a in former:
        churn = a.Churned_On__c
        assert churn is not None and AS_OF - dt.timedelta(days=366) <= churn < AS_OF
        assert a.Customer_Since__c is not None and a.Customer_Since__c < churn and a.Contract_End__c == churn
        rows = usage[a.Id or ""]
        assert [u.Month__c for u in rows] == month_starts(a.Customer_Since__c, churn)  # stops at churn
        lost = [o for o in deals[a.Id or ""] if o.Type == "Renewal" and o.StageName == "Closed Lost"]
        assert len(lost) == 1 and lost[0].CloseDate == churn and lost[0].IsClosed and not lost[0].IsWon
        assert any(o.Type == "New Business" and o.IsWon for o in deals[a.Id or ""])
        declined += _utilisation(rows[-3:]) < _utilisation(rows[-9:-3])
    assert declined > 0.6 * len(former)  # usage falls before most churns
    assert len({a.Churned_On__c.month for a in former if a.Churned_On__c}) >= 10  # spread over the year


def test_won_deals_carry_contract_and_handoff(org: SyntheticOrg) -> None:
    deals = _deals(org)
    names = defaultdict(set)
    for c in org.contacts:
        names[c.AccountId].add(f"{c.FirstName} {c.LastName}")
    won: list[Opportunity] = []
    for a in [*_customers(org), *_former(org)]:
        mine = deals[a.Id or ""]
        first = [o for o in mine if o.Type == "New Business" and o.IsWon]
        assert len(first) == 1 and first[0].Contract_Start__c == a.Customer_Since__c
        assert first[0].CloseDate is not None and first[0].CloseDate <= (a.Customer_Since__c or AS_OF)
        contracts = sorted((o.Contract_Start__c, o.Contract_End__c) for o in mine if o.IsWon)
        assert all(prev[1] == nxt[0] for prev, nxt in zip(contracts, contracts[1:], strict=False))
        assert contracts[-1][1] == a.Contract_End__c or a.Churned_On__c is not None
        for who in (first[0].Champion__c, first[0].Economic_Buyer__c):
            assert who is None or who in names[a.Id]
        won.append(first[0])
    gaps = sum(any(getattr(o, f) in (None, "") for f in HANDOFF_FIELDS) for o in won)
    assert 0.12 * len(won) < gaps < 0.4 * len(won)  # a checklist finds real gaps; most handoffs are complete


def test_pipeline_through_stages(org: SyntheticOrg) -> None:
    probability = dict(OPEN_STAGES)
    accounts = {a.Id: a for a in org.accounts}
    opps = org.opportunities
    assert {o.Type for o in opps} == {"New Business", "Renewal", "Expansion"}
    open_ = [o for o in opps if not o.IsClosed]
    assert Counter(o.StageName for o in open_).keys() == probability.keys()
    for o in opps:
        assert o.CloseDate is not None and (o.CloseDate > AS_OF) == (not o.IsClosed)
        assert o.Probability == (probability[o.StageName or ""] if not o.IsClosed else 100 if o.IsWon else 0)
        assert o.IsWon == (o.StageName == "Closed Won") and o.IsClosed == (o.StageName or "").startswith("Closed")
    renewals = [o for o in open_ if o.Type == "Renewal"]
    assert renewals and all(o.CloseDate == accounts[o.AccountId].Contract_End__c for o in renewals)
    assert all((accounts[o.AccountId].Type or "").startswith("Customer") for o in open_ if o.Type != "New Business")
    assert sum(o.Type == "Expansion" for o in open_) >= 5
    new = Counter(o.StageName for o in open_ if o.Type == "New Business")
    assert new["Prospecting"] > new["Negotiation/Review"]  # more deals early in the funnel than late


def _auc(positives: list[float], negatives: list[float]) -> float:
    """Mann-Whitney: the chance that a random positive scores above a random negative (ties count half)."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def test_usage_predicts_churn_but_not_perfectly(org: SyntheticOrg) -> None:
    # A back-test: score every customer six months ago by its seat utilisation then; who churned since?
    cut, usage = add_months(AS_OF, -6), _usage(org)
    churned: list[float] = []
    stayed: list[float] = []
    for a in [*_customers(org), *_former(org)]:
        if a.Churned_On__c is not None and a.Churned_On__c <= cut:
            continue
        before = [u for u in usage[a.Id or ""] if (u.Month__c or AS_OF) < cut][-3:]
        if len(before) == 3:
            (churned if a.Churned_On__c is not None else stayed).append(_utilisation(before))
    assert len(churned) >= 15 and len(stayed) >= 100
    auc = _auc([-x for x in churned], [-x for x in stayed])  # low utilisation = at risk
    assert 0.6 < auc < 0.98


def test_write_into_local_crm_twice_creates_nothing_twice(tmp_path: Path) -> None:
    crm = LocalCRM(open_database(f"sqlite:///{tmp_path / 'state.sqlite'}"))
    org = generate_org(users=8, accounts=40, leads=20, seed=5)
    assert org.usage
    seen: list[tuple[int, int]] = []
    created = write_org(crm, org, progress=lambda done, total: seen.append((done, total)))
    assert created["Usage_Snapshot__c"] == len(org.usage) and created["Opportunity"] == len(org.opportunities)
    assert seen[-1][0] == seen[-1][1] == sum(len(r) for _, r in org.batches())
    stamps = set(Usage_Snapshot__c.system_fields) - {"Id"}
    stored = sorted(crm.query_all(Query("Usage_Snapshot__c")), key=lambda u: str(u.Id))
    assert [u.model_dump(exclude=stamps) for u in stored] == [u.model_dump(exclude=stamps) for u in sorted(org.usage, key=lambda u: str(u.Id))]
    assert write_org(crm, org) == dict.fromkeys(created, 0)
    assert len(list(crm.query_all(Query("Usage_Snapshot__c")))) == len(org.usage)


def test_usage_follows_accounts_the_crm_renumbers(tmp_path: Path) -> None:
    crm = LocalCRM(open_database(f"sqlite:///{tmp_path / 'state.sqlite'}"))
    org = generate_org(users=4, accounts=15, leads=0, seed=9)
    write_org(crm, org, keep_ids=False)
    accounts = {a.Id for a in crm.query_all(Query("Account"))}
    stored = list(crm.query_all(Query("Usage_Snapshot__c")))
    assert len(stored) == len(org.usage) and accounts.isdisjoint({a.Id for a in org.accounts})
    assert all(getattr(u, "Account__c", None) in accounts for u in stored)
