"""Leads through the funnel in the seeded history: arrival, routing, qualification, first touch, conversion.

Each lead arrives on a working day of the year before the org's today, in working hours where it is. Most are
routed: to an SDR or AE of their region who was there then (SMB leads mostly to AEs, larger ones to SDRs),
seconds after arrival, a few after minutes, and a few parked as pending for hours first; some go to the
Disqualified queue. The rest wait in their queue, more of them among the last days' arrivals (the backlog the
inbound chain picks up). Every routing is a ``route`` decision. Routed leads are MQLs (about a third, by source)
or nurture. Most owned leads get a first touch (a completed call or email task) after a delay of the owner's:
most reps answer in one to three hours, one or two slow ones often take more than half a day. A share of the
touched MQLs from new companies with a company address convert, days to weeks later.

Every lead's draws come from one stream in lead order, so adding leads leaves the earlier leads as they were.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from revloops.core.decisions import new_decision_id
from revloops.core.geo import country_code, normalise_geo
from revloops.core.model import Frozen
from revloops.core.records import Group, Lead, Task
from revloops.loops.generate import seed_data as D
from revloops.loops.generate.seed_parts import QuickIds, account_address
from revloops.loops.generate.seed_time import (
    DAY,
    WINDOW_DAYS,
    Tenure,
    arrival_day,
    business_moment,
    next_working,
    zone_of_country,
)

SELLERS = ("SDR", "AE")
UNROUTED = {"recent": 0.6, "older": 0.12}  # leads left waiting in their queue: of the last 3 days' and of older
PARTNER_KEPT = 0.5  # partner leads the partner team keeps in its queue
DISQUALIFIED = 0.08  # routed leads sent to the Disqualified queue
MQL_SHARE: dict[str, float] = {"Web": 0.35, "Paid Search": 0.3, "Content": 0.25, "Event": 0.35, "Partner": 0.4,
                               "Outbound": 0.2}
TOUCHED = {"MQL": 0.97, "Nurture": 0.85}
CONVERTED = 0.45  # of touched MQLs from new companies with a company address
FOLLOW_UP_DAYS = 21  # after a first touch, the days a lead is worked (follow-up calls and emails)


@dataclass(frozen=True)
class Rep:
    """A user as the history sees them: who, which role and region, where, when they were there, and how fast
    they touch a new lead (the median hours and the spread of their delay)."""

    id: str
    name: str
    role: str
    region: str
    tz: str
    tenure: Tenure
    touch_hours: float = 2.0
    touch_spread: float = 0.6


class RouteDecision(Frozen):
    """A routing of the seeded history, as the decision log will hold it (``loop`` route, ``sobject`` Lead)."""

    id: str
    lead_id: str
    at: dt.datetime
    outcome: str
    rule_id: str
    action: str
    explanation: str


@dataclass(frozen=True)
class LeadStory:
    """What happened to one owned lead, for the activity that follows it and its conversion."""

    index: int
    lead_id: str
    owner: Rep
    owned_at: dt.datetime
    touched_at: dt.datetime | None = None
    converted_at: dt.datetime | None = None
    #: a converted lead's country (alpha-2) and its clean address (city, state, region, postal code)
    address: tuple[str, tuple[str, str, str, str]] | None = None

    @property
    def worked_until(self) -> dt.datetime | None:
        """The end of the lead's follow-up window (its conversion, or some weeks after the first touch)."""
        if self.touched_at is None:
            return None
        later = self.touched_at + FOLLOW_UP_DAYS * DAY
        return min(later, self.converted_at) if self.converted_at is not None else later


@dataclass
class Funnel:
    """The leads with their history, and what came of them."""

    leads: list[Lead]
    routes: list[RouteDecision]
    touches: list[Task]
    stories: list[LeadStory]


def with_touch_speeds(rng: random.Random, reps: Sequence[Rep], end: dt.datetime) -> list[Rep]:
    """Each seller's first-touch delay: most answer in one to three hours (median); one or two of those there
    during the history's year are slow."""
    start = end - WINDOW_DAYS * DAY
    sellers = [r.id for r in reps if r.role in SELLERS and r.tenure.start < end
               and (r.tenure.until is None or r.tenure.until > start)]
    slow = set(rng.sample(sellers, min(len(sellers), 1 if len(sellers) < 6 else 2))) if sellers else set()
    out = []
    for rep in reps:
        if rep.id in slow:
            out.append(replace(rep, touch_hours=rng.uniform(5.0, 9.0), touch_spread=0.7))
        else:
            out.append(replace(rep, touch_hours=rng.uniform(0.75, 2.0), touch_spread=rng.uniform(0.4, 0.7)))
    return out


#: the free-mail domains the seed gives leads (its ground truth: no public-suffix lookup needed)
_FREE_DOMAINS = frozenset(domain for domains in D.FREE_MAIL.values() for domain in domains)


def _free_mail(email: str | None) -> bool:
    return (email or "@").rpartition("@")[2].lower() in _FREE_DOMAINS


def _decision_id(lead_id: str, at: dt.datetime, n: int) -> str:
    """A ULID decision id for a seeded decision: its time, and bits from the lead and the decision's place."""
    return new_decision_id(int(at.timestamp() * 1000), hashlib.sha256(f"{lead_id}:{n}".encode()).digest())


def _owner(rng: random.Random, reps: Sequence[Rep], region: str, employees: int | None,
           at: dt.datetime) -> Rep | None:
    live = [r for r in reps if r.role in SELLERS and r.tenure.covers(at)]
    local = [r for r in live if r.region == region] or live
    if not local:
        return None
    small = (employees or 0) < 200
    return rng.choices(local, weights=[2.0 if (r.role == "AE") == small else 1.0 for r in local])[0]


def _system_delay(rng: random.Random) -> tuple[float, float | None]:
    """Seconds from arrival to the owner, and (for a lead parked first) seconds to the pending decision."""
    pick = rng.random()
    if pick < 0.9:
        return math.exp(rng.gauss(math.log(6), 0.8)), None
    if pick < 0.97:
        return rng.uniform(60, 25 * 60), None
    return rng.uniform(1, 20) * 3600, rng.uniform(1, 30)


class _Leads:
    """The funnel's state while it walks the leads in order."""

    def __init__(self, rng: random.Random, reps: Sequence[Rep], queues: Sequence[Group], truth: Mapping[str, str],
                 seed: int, end: dt.datetime) -> None:
        self.rng, self.reps, self.truth, self.seed, self.end = rng, reps, truth, seed, end
        self.queue_ids = {q.DeveloperName: q.Id or "" for q in queues}
        self.task_ids = QuickIds("Task", random.Random(f"{seed}:touch-ids"))
        self.out = Funnel([], [], [], [])

    def route(self, lead_id: str, at: dt.datetime, outcome: str, rule: str, action: str, why: str) -> str:
        decision = RouteDecision(id=_decision_id(lead_id, at, len(self.out.routes)), lead_id=lead_id, at=at,
                                 outcome=outcome, rule_id=rule, action=action, explanation=f"Seeded history: {why}")
        self.out.routes.append(decision)
        return decision.id

    def lead(self, i: int, lead: Lead) -> None:
        rng, lid = self.rng, lead.Id or ""
        country = country_code(lead.Country) or "US"
        region = D.REGION_OF.get(country, "NA")
        arrived = business_moment(rng, arrival_day(rng, self.end.date()), zone_of_country(country))
        arrived = min(arrived, self.end - dt.timedelta(minutes=rng.randint(5, 600)))
        fields: dict[str, object] = {"CreatedDate": arrived, "LastModifiedDate": arrived}
        recent = arrived >= self.end - 3 * DAY
        kept = lead.LeadSource == "Partner" and rng.random() < PARTNER_KEPT
        if kept or rng.random() < UNROUTED["recent" if recent else "older"]:
            self.out.leads.append(lead.model_copy(update={**fields, "Status": "Open - Not Contacted"}))
            return
        if rng.random() < DISQUALIFIED:
            at = arrived + dt.timedelta(seconds=rng.uniform(2, 40))
            queue = self.queue_ids["Disqualified"]
            decided = self.route(lid, at, queue, "seed-disqualified", "queue", "disqualified, to the Disqualified queue")
            fields.update(OwnerId=queue, Status="Closed - Not Converted", Qualification__c="disqualified:seed-history",
                          Lead_Score__c=float(rng.randint(0, 24)), Routing_Decision_Id__c=decided,
                          Routing_Explanation__c="Seeded history: disqualified", LastModifiedDate=at)
            self.out.leads.append(lead.model_copy(update=fields))
            return
        delay, parked = _system_delay(rng)
        owned = arrived + dt.timedelta(seconds=delay)
        owner = _owner(rng, self.reps, region, lead.NumberOfEmployees, owned) if owned < self.end else None
        rule = f"seed-{region.lower()}-{(owner.role if owner else 'seller').lower()}"
        if parked is not None or owner is None:
            at = arrived + dt.timedelta(seconds=parked or rng.uniform(1, 30))
            decided = self.route(lid, at, f"pending:{rule}", rule, "round_robin",
                                 f"{rule}'s pool had no one free; parked")
            fields.update(Routing_Decision_Id__c=decided, LastModifiedDate=at)
        if owner is None:
            self.out.leads.append(lead.model_copy(update={**fields, "Status": "Open - Not Contacted"}))
            return
        decided = self.route(lid, owned, owner.id, rule, "round_robin", f"{rule} round robin to {owner.name}")
        band = "MQL" if rng.random() < MQL_SHARE.get(lead.LeadSource or "", 0.3) else "Nurture"
        score = rng.randint(60, 98) if band == "MQL" else rng.randint(25, 59)
        fields.update(OwnerId=owner.id, Routing_Decision_Id__c=decided, Qualification__c=band,
                      Lead_Score__c=float(score), Routing_Explanation__c=f"Seeded history: {rule} to {owner.name}",
                      Status="Open - Not Contacted", LastModifiedDate=owned)
        story = self.touch(i, lead, owner, owned, band, fields)
        self.out.stories.append(story)
        self.out.leads.append(lead.model_copy(update=fields))

    def touch(self, i: int, lead: Lead, owner: Rep, owned: dt.datetime, band: str,
              fields: dict[str, object]) -> LeadStory:
        """The owner's first touch (a completed call or email), and the lead's conversion when it comes."""
        rng, lid = self.rng, lead.Id or ""
        touched_p = TOUCHED[band] * (0.9 if owner.touch_hours > 4 else 1.0)
        hours = owner.touch_hours * math.exp(rng.gauss(0, owner.touch_spread))
        touched = next_working(rng, owned + dt.timedelta(hours=hours), owner.tz)
        if rng.random() >= touched_p or touched >= self.end:
            return LeadStory(i, lid, owner, owned)
        kind = "Call" if rng.random() < 0.55 else "Email"
        self.out.touches.append(Task(
            Id=self.task_ids(), Subject=f"First touch: {kind.lower()}", Type=kind, Status="Completed", Priority="Normal",
            WhoId=lid, OwnerId=owner.id, ActivityDate=touched.date(), CompletedDateTime=touched, CreatedDate=touched,
            LastModifiedDate=touched, Revloops_Key__c=f"seed{self.seed}-touch-{i:06d}"))
        fields.update(Status="Working - Contacted", LastModifiedDate=touched)
        converted = self.conversion(lead, band, touched, owner)
        if converted is None:
            return LeadStory(i, lid, owner, owned, touched)
        fields.update(LastModifiedDate=converted[0])
        return LeadStory(i, lid, owner, owned, touched, *converted)

    def conversion(self, lead: Lead, band: str, touched: dt.datetime,
                   owner: Rep) -> tuple[dt.datetime, tuple[str, tuple[str, str, str, str]]] | None:
        """When a touched MQL converts, and where its account will be: a lead from a new company, with a
        company address and a clean geography in a country the org sells in."""
        if band != "MQL" or (lead.Id or "") in self.truth or not lead.NumberOfEmployees or _free_mail(lead.Email):
            return None
        if self.rng.random() >= CONVERTED:
            return None
        at = next_working(self.rng, touched + dt.timedelta(days=self.rng.uniform(2, 25)), owner.tz)
        code = country_code(lead.Country)
        if at >= self.end - 2 * DAY or code not in D.ACCOUNT_COUNTRIES:
            return None
        geo = normalise_geo(lead.Country, lead.State, lead.PostalCode, lead.City)
        place = account_address(code, lead.City, geo.region) if not geo.ambiguous and geo.country == code else None
        return (at, (code, place)) if place is not None else None


def make_funnel(rng: random.Random, leads: Sequence[Lead], truth: Mapping[str, str], reps: Sequence[Rep],
                queues: Sequence[Group], seed: int, end: dt.datetime) -> Funnel:
    """The leads' history (see the module's docstring), every lead in order from one stream."""
    walk = _Leads(rng, reps, queues, truth, seed, end)
    for i, lead in enumerate(leads):
        walk.lead(i, lead)
    return walk.out
