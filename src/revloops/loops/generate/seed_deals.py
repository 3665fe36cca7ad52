"""Opportunities of the synthetic org, through their stages.

A customer (current or former) has its won New Business deal, with the contract and the handoff (use cases,
champion, economic buyer, success metric, risks; about a quarter miss an item), and a won Renewal for each
contract it renewed. A former customer has the Renewal it lost at churn. Current customers near their contract
end have an open Renewal about half the time, and some healthy ones an open Expansion. Prospects have open New
Business spread over the stages (more early than late) and some lost in the past.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence

from revloops.core.domains import normalise_company
from revloops.core.records import Account, Contact, Opportunity
from revloops.loops.generate import seed_data as D
from revloops.loops.generate.seed_customers import Life, size_class
from revloops.loops.generate.seed_parts import Ids, title_level, weighted

HANDOFF_FIELDS = ("Use_Cases__c", "Champion__c", "Economic_Buyer__c", "Success_Metric__c", "Risks__c")
HANDOFF_GAPS = 0.25  # of won deals, those whose handoff misses at least one item
RENEWAL_WINDOW = 120  # days before a contract end from which a renewal may be open
_PROBABILITY = dict(D.OPEN_STAGES)

Deal = dict[str, object]


def _deal(kind: str, stage: str, close: dt.date, amount: float, **extra: object) -> Deal:
    closed, won = stage.startswith("Closed"), stage == "Closed Won"
    prob = 100.0 if won else 0.0 if closed else _PROBABILITY[stage]
    label = f"{kind} {close.year}" if kind == "Renewal" else kind  # the account's name goes before it
    return {"Name": label, "Type": kind, "StageName": stage, "CloseDate": close, "Amount": float(round(amount, -2)),
            "Probability": prob, "IsClosed": closed, "IsWon": won, **extra}


def _open(rng: random.Random, kind: str, amount: float, as_of: dt.date, close: dt.date | None = None) -> Deal:
    stage = weighted(rng, D.OPEN_STAGE_WEIGHTS)
    low, high = D.STAGE_DAYS_AHEAD[stage]
    return _deal(kind, stage, close or as_of + dt.timedelta(days=rng.randint(low, high)), amount)


def _name(contact: Contact | None) -> str | None:
    return f"{contact.FirstName} {contact.LastName}" if contact is not None else None


def handoff(rng: random.Random, people: Sequence[Contact]) -> Deal:
    """What the seller hands over on a won deal; the most senior contact is the economic buyer."""
    buyer = min(people, key=lambda c: title_level(c.Title), default=None)
    others = [c for c in people if c is not buyer]
    champion = rng.choice(others) if others else buyer  # at a small company one person is both
    fields: Deal = {
        "Use_Cases__c": "; ".join(rng.sample(D.USE_CASES, rng.randint(1, 3))), "Champion__c": _name(champion),
        "Economic_Buyer__c": _name(buyer), "Success_Metric__c": rng.choice(D.SUCCESS_METRICS),
        "Risks__c": rng.choice(D.RISKS),
    }
    if rng.random() < HANDOFF_GAPS:
        for name in rng.sample(HANDOFF_FIELDS, 1 if rng.random() < 0.75 else 2):
            fields[name] = None
    return fields


def _customer_deals(rng: random.Random, life: Life, people: Sequence[Contact], as_of: dt.date) -> list[Deal]:
    won = life.since - dt.timedelta(days=rng.randint(3, 30))
    deals = [_deal("New Business", "Closed Won", won, life.arr(0), Contract_Start__c=life.since,
                   Contract_End__c=life.term_start(1), **handoff(rng, people))]
    for k in range(1, life.terms):
        start = life.term_start(k)
        deals.append(_deal("Renewal", "Closed Won", start - dt.timedelta(days=rng.randint(0, 21)), life.arr(k),
                           Contract_Start__c=start, Contract_End__c=life.term_start(k + 1)))
    last = life.arr(life.terms - 1)
    if life.churned_on is not None:
        deals.append(_deal("Renewal", "Closed Lost", life.churned_on, last))
        return deals
    if (life.contract_end - as_of).days <= RENEWAL_WINDOW and rng.random() < 0.5:
        deals.append(_open(rng, "Renewal", last, as_of, close=life.contract_end))
    if life.health > 0.3 and rng.random() < 0.2:
        deals.append(_open(rng, "Expansion", last * rng.uniform(0.15, 0.4), as_of))
    return deals


def _prospect_deals(rng: random.Random, acc: Account, as_of: dt.date) -> list[Deal]:
    employees = acc.NumberOfEmployees or 50
    value = min(2500, employees * rng.uniform(0.08, 0.25)) * D.SEAT_PRICE[size_class(employees)]
    deals = []
    if rng.random() < 0.4:
        deals.append(_open(rng, "New Business", value, as_of))
    if rng.random() < 0.15:
        deals.append(_deal("New Business", "Closed Lost", as_of - dt.timedelta(days=rng.randint(10, 400)), value))
    return deals


def make_opportunities(rng: random.Random, accounts: Sequence[Account], contacts: Sequence[Contact],
                       lives: Mapping[str, Life], seed: int, as_of: dt.date) -> list[Opportunity]:
    """Every account's opportunities, in account order (see the module's docstring for what each gets)."""
    ids, out = Ids("Opportunity", rng), list[Opportunity]()
    people: dict[str, list[Contact]] = {}
    for c in contacts:
        people.setdefault(c.AccountId or "", []).append(c)
    for acc in accounts:
        life = lives.get(acc.Id or "")
        deals = (_customer_deals(rng, life, people.get(acc.Id or "", []), as_of) if life is not None
                 else _prospect_deals(rng, acc, as_of))
        company = normalise_company(acc.Name).title()
        for deal in deals:
            out.append(Opportunity.model_validate({
                **deal, "Id": ids(), "Name": f"{company} - {deal['Name']}", "AccountId": acc.Id,
                "OwnerId": acc.OwnerId, "LeadSource": weighted(rng, D.LEAD_SOURCES),
                "External_Id__c": f"seed{seed}-opp-{len(out):06d}",
            }))
    return out
