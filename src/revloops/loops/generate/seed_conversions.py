"""Converted leads in the seeded history: the account, contact and New Business opportunity each conversion
made, as Salesforce's lead conversion makes them, and the deal's way through the stages from that day.

The account has the clean address the CRM keeps for its accounts (the country's name, the city's state and
postal code), whatever the lead wrote. The opportunity is created at the conversion (its CreatedDate's day is
the lead's ConvertedDate) and owned by
an AE: the lead's owner when an AE, else an AE of the lead's region who was there then (an SDR hands over). A
deal won makes its account a customer from a few days after the win: one annual contract, its ARR the deal's
amount, and monthly usage from then (``seed_customers``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from revloops.core.domains import company_domain, normalise_company
from revloops.core.records import Account, Contact, Lead, Opportunity
from revloops.loops.generate import seed_data as D
from revloops.loops.generate.seed_customers import Life, new_customer, size_class
from revloops.loops.generate.seed_deals import handoff
from revloops.loops.generate.seed_funnel import LeadStory, Rep
from revloops.loops.generate.seed_parts import Ids, add_months
from revloops.loops.generate.seed_stages import WON, StagePath, dated, forward


@dataclass
class Conversions:
    """What the conversions made, in lead order, and the leads' conversion fields by lead index."""

    accounts: list[Account] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    paths: dict[str, StagePath] = field(default_factory=dict)
    lives: list[Life] = field(default_factory=list)
    leads: dict[int, dict[str, object]] = field(default_factory=dict)


def _ae(rng: random.Random, story: LeadStory, reps: Sequence[Rep], at: dt.datetime) -> Rep:
    if story.owner.role == "AE" and story.owner.tenure.covers(at):
        return story.owner
    aes = [r for r in reps if r.role == "AE" and r.tenure.covers(at)]
    local = [r for r in aes if r.region == story.owner.region] or aes
    return rng.choice(local) if local else story.owner


class _Maker:
    def __init__(self, rng: random.Random, reps: Sequence[Rep], seed: int, as_of: dt.date, end: dt.datetime) -> None:
        self.rng, self.reps, self.seed, self.as_of, self.end = rng, reps, seed, as_of, end
        streams = {kind: Ids(kind, random.Random(f"{seed}:conversion-{kind}-ids"))
                   for kind in ("Account", "Contact", "Opportunity")}
        self.ids = streams
        self.out = Conversions()

    def convert(self, story: LeadStory, lead: Lead, at: dt.datetime, address: tuple[str, tuple[str, str, str, str]]
                ) -> None:
        rng, k = self.rng, len(self.out.opportunities)
        country, (city, state, _, postal) = address
        owner = _ae(rng, story, self.reps, at)
        employees = lead.NumberOfEmployees or 50
        industry = lead.Industry or rng.choice(list(D.INDUSTRIES))
        size = size_class(employees)
        seats = min(2500, max(3, round(employees * rng.uniform(0.08, 0.25))))
        price = round(D.SEAT_PRICE[size] * rng.uniform(0.8, 1.0), -1)
        account = Account(
            Id=self.ids["Account"](), Name=lead.Company, Website=f"https://www.{company_domain(lead.Email)}",
            Industry=industry, NumberOfEmployees=employees,
            AnnualRevenue=float(round(employees * D.INDUSTRIES[industry][0] * rng.uniform(0.8, 1.25), -3)),
            Type="Prospect", Phone=lead.Phone, BillingCity=city, BillingState=state or None,
            BillingPostalCode=postal, BillingCountry=D.COUNTRY_NAME[country], OwnerId=owner.id, Named__c=False,
            External_Id__c=f"seed{self.seed}-cacc-{k:06d}", CreatedDate=at, LastModifiedDate=at)
        contact = Contact(
            Id=self.ids["Contact"](), FirstName=lead.FirstName, LastName=lead.LastName, Email=lead.Email,
            Title=lead.Title, Phone=lead.Phone, AccountId=account.Id, OwnerId=owner.id,
            MailingCountry=D.COUNTRY_NAME[country],
            External_Id__c=f"seed{self.seed}-ccon-{k:06d}", CreatedDate=at, LastModifiedDate=at)
        opp_id = self.ids["Opportunity"]()
        path = forward(rng, opp_id, at, size, float(round(seats * price, -2)), owner.tz, self.end)
        opp = dated(Opportunity(
            Id=opp_id, Name=f"{normalise_company(lead.Company).title()} - New Business", AccountId=account.Id,
            StageName=path.last.StageName, CloseDate=path.last.CloseDate, Type="New Business",
            LeadSource=lead.LeadSource, OwnerId=owner.id, External_Id__c=f"seed{self.seed}-copp-{k:06d}"), path)
        if path.last.StageName == WON:
            account, opp = self.customer(account, opp, contact, seats, price, path)
        self.out.accounts.append(account)
        self.out.contacts.append(contact)
        self.out.opportunities.append(opp)
        self.out.paths[opp_id] = path
        self.out.leads[story.index] = {
            "IsConverted": True, "Status": "Closed - Converted", "ConvertedDate": at.date(),
            "ConvertedAccountId": account.Id, "ConvertedContactId": contact.Id, "ConvertedOpportunityId": opp_id}

    def customer(self, account: Account, opp: Opportunity, contact: Contact, seats: int, price: float,
                 path: StagePath) -> tuple[Account, Opportunity]:
        """A won deal's account as a customer (from a few days after the win), and the deal's contract."""
        since = min(path.last.CloseDate + dt.timedelta(days=self.rng.randint(1, 10)), self.as_of)
        life = new_customer(self.rng, account.Id or "", since, seats, price)
        self.out.lives.append(life)
        signed = account.model_copy(update={
            "Type": "Customer - Direct", "Customer_Since__c": since, "Contract_End__c": life.contract_end,
            "ARR__c": life.arr(0), "Seats_Purchased__c": seats, "LastModifiedDate": path.last.at})
        deal = opp.model_copy(update={"Contract_Start__c": since, "Contract_End__c": add_months(since, 12),
                                      **handoff(self.rng, [contact])})
        return signed, deal


def make_conversions(rng: random.Random, stories: Sequence[LeadStory], leads: Sequence[Lead], reps: Sequence[Rep],
                     seed: int, as_of: dt.date, end: dt.datetime) -> Conversions:
    """The records every converted lead's conversion made (see the module's docstring), in lead order."""
    maker = _Maker(rng, reps, seed, as_of, end)
    for story in stories:
        if story.converted_at is not None and story.address is not None:
            maker.convert(story, leads[story.index], story.converted_at, story.address)
    return maker.out
