"""A year of history for the synthetic org, so the warehouse and Coach have something real to read.

``add_history`` dates an org's records and adds what happened before its today (``as_of``; the history ends when
that day begins): users were created when they started (a roster's ``start``, else 1 to 36 months before),
accounts and contacts before the year began (usage snapshots stay dated by the write: their month is their
date); leads arrived over the year
(``seed_funnel``: routing decisions, qualification, first touches, conversions, whose records ``seed_conversions``
makes); every opportunity has the changes that took it to where it stands (``seed_stages``); and reps logged
their activity (``seed_activity``). Each part draws from its own stream (``stream``), so the same seed gives the
same history, and adding leads leaves what the other records and the earlier leads were.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from revloops.core.records import Account, Contact, Group, Lead, Opportunity, Task, Usage_Snapshot__c, User
from revloops.loops.generate import seed_data as D
from revloops.loops.generate.seed_activity import Deal, make_activity
from revloops.loops.generate.seed_conversions import make_conversions
from revloops.loops.generate.seed_customers import make_usage, size_class
from revloops.loops.generate.seed_funnel import Rep, RouteDecision, make_funnel, with_touch_speeds
from revloops.loops.generate.seed_parts import Ids, country_of
from revloops.loops.generate.seed_stages import OpportunityChange, StagePath, backfill, dated
from revloops.loops.generate.seed_time import (
    DAY,
    HOUR,
    WINDOW_DAYS,
    business_moment,
    end_of_history,
    tenure,
    zone_of_country,
)

Stream = Callable[[str], random.Random]
#: a named user's roster dates: Username -> (start, end)
RosterDates = Mapping[str, tuple[dt.date | None, dt.date | None]]


@dataclass
class History:
    """The org's records dated, the records the history added, the route decisions and every opportunity's
    changes (the first of each is its creation)."""

    users: list[User]
    queues: list[Group]
    accounts: list[Account]
    contacts: list[Contact]
    opportunities: list[Opportunity]
    usage: list[Usage_Snapshot__c]
    leads: list[Lead]
    tasks: list[Task]
    routes: list[RouteDecision]
    changes: list[OpportunityChange]


def _reps(rng: random.Random, users: Sequence[User], roster: RosterDates, as_of: dt.date) -> list[Rep]:
    out = []
    for u in users:
        tz = u.TimeZoneSidKey or "America/New_York"
        start, end = roster.get(u.Username or "", (None, None))
        out.append(Rep(id=u.Id or "", name=u.Name or u.LastName or "", role=u.Sales_Role__c or "AE",
                       region=D.REGION_OF.get(u.Country or "", "NA"), tz=tz,
                       tenure=tenure(rng, tz, as_of, start, end, active=bool(u.IsActive))))
    return out


def _dated_accounts(rng: random.Random, accounts: Sequence[Account], first_deal: Mapping[str, dt.datetime],
                    end: dt.datetime) -> list[Account]:
    """Accounts created before the history's year and before their first deal."""
    out = []
    for acc in accounts:
        before = min(first_deal.get(acc.Id or "", end), end - WINDOW_DAYS * DAY)
        day = (before - dt.timedelta(days=rng.randint(1, 400))).date()
        at = business_moment(rng, day, zone_of_country(country_of(acc)))
        out.append(acc.model_copy(update={"CreatedDate": at, "LastModifiedDate": at}))
    return out


def _dated_contacts(rng: random.Random, contacts: Sequence[Contact], accounts: Sequence[Account],
                    end: dt.datetime) -> list[Contact]:
    """Contacts created in the weeks after their account."""
    created = {a.Id: a.CreatedDate for a in accounts}
    out = []
    for c in contacts:
        at = min((created.get(c.AccountId) or end - DAY) + dt.timedelta(hours=rng.uniform(1, 60 * 24)), end - HOUR)
        out.append(c.model_copy(update={"CreatedDate": at, "LastModifiedDate": at}))
    return out


def _paths(rng: random.Random, opportunities: Sequence[Opportunity], accounts: Sequence[Account],
           reps: Sequence[Rep], end: dt.datetime) -> dict[str, StagePath]:
    employees = {a.Id: a.NumberOfEmployees or 50 for a in accounts}
    zones = {r.id: r.tz for r in reps}
    return {opp.Id or "": backfill(rng, opp, size_class(employees.get(opp.AccountId, 50)),
                                   zones.get(opp.OwnerId or "", "America/New_York"), end) for opp in opportunities}


def add_history(stream: Stream, *, users: Sequence[User], roster: RosterDates, queues: Sequence[Group],
                accounts: Sequence[Account], contacts: Sequence[Contact], opportunities: Sequence[Opportunity],
                usage: Sequence[Usage_Snapshot__c], leads: Sequence[Lead], truth: Mapping[str, str], seed: int,
                as_of: dt.date) -> History:
    """The org's records with a year of history (see the module's docstring)."""
    end = end_of_history(as_of)
    reps = with_touch_speeds(stream("touch-speeds"), _reps(stream("user-history"), users, roster, as_of), end)
    dated_users = [u.model_copy(update={"CreatedDate": r.tenure.start, "LastModifiedDate": r.tenure.start})
                   for u, r in zip(users, reps, strict=True)]
    founded = dt.datetime.combine(as_of - dt.timedelta(days=5 * 365), dt.time(9), dt.UTC)
    dated_queues = [q.model_copy(update={"CreatedDate": founded, "LastModifiedDate": founded}) for q in queues]
    funnel = make_funnel(stream("lead-history"), leads, truth, reps, queues, seed, end)
    made = make_conversions(stream("conversions"), funnel.stories, funnel.leads, reps, seed, as_of, end)
    history_leads = [lead.model_copy(update=made.leads[i]) if i in made.leads else lead
                     for i, lead in enumerate(funnel.leads)]
    paths = _paths(stream("stages"), opportunities, accounts, reps, end)
    deals = [dated(opp, paths[opp.Id or ""]) for opp in opportunities]
    first_deal: dict[str, dt.datetime] = {}
    for opp in deals:
        if opp.AccountId and opp.CreatedDate and opp.CreatedDate < first_deal.get(opp.AccountId, end):
            first_deal[opp.AccountId] = opp.CreatedDate
    all_accounts = _dated_accounts(stream("account-history"), accounts, first_deal, end) + made.accounts
    all_contacts = _dated_contacts(stream("contact-history"), contacts, all_accounts, end) + made.contacts
    more_usage = make_usage(stream("conversion-usage"), Ids("Usage_Snapshot__c", stream("conversion-usage-ids")),
                            made.lives, seed, as_of, first=len(usage))
    all_opps = deals + made.opportunities
    paths.update(made.paths)
    activity = make_activity(stream("activity"), reps, funnel.stories,
                             [Deal(o.Id or "", o.OwnerId or "", o.AccountId or "", paths[o.Id or ""]) for o in all_opps],
                             all_accounts, all_contacts, seed, end)
    return History(users=dated_users, queues=dated_queues, accounts=all_accounts, contacts=all_contacts,
                   opportunities=all_opps, usage=[*usage, *more_usage], leads=history_leads,
                   tasks=[*funnel.touches, *activity], routes=funnel.routes,
                   changes=[c for o in all_opps for c in paths[o.Id or ""].changes])
