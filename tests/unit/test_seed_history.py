"""The synthetic org's year of history, read back from the embedded CRM and the decision log as the warehouse
reads them: leads over the year, routed after they arrived, touched after they were owned (fast reps and slow
ones), reps of many tenures, opportunities whose OpportunityHistory leads to where they stand, conversions that
link up, stalled deals, activity in the past; and the same seed gives the same history."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.db import open_database
from revloops.adapters.sql.decisions import SqlDecisionStore
from revloops.config.loader import load_config
from revloops.core.decisions import Decision
from revloops.core.records import Account, Contact, Lead, Opportunity, OpportunityHistory, SObject, Task, User
from revloops.loops.design.config import active_roster
from revloops.loops.generate.roster import named_users_from_config
from revloops.loops.generate.seed import AS_OF, NamedUser, SyntheticOrg, generate_org, write_org
from revloops.loops.generate.seed_stages import OPEN
from revloops.ports.crm import Query

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
END = dt.datetime.combine(AS_OF, dt.time(), dt.UTC)  # the org's today begins: the history is before it
SLA_HOURS = 4


@dataclass
class Written:
    """A seeded org as stored: the CRM's records by object and the route decisions by lead."""

    org: SyntheticOrg
    records: dict[str, list[SObject]]
    routes: dict[str, list[Decision]]

    def of(self, sobject: str) -> list[SObject]:
        return self.records[sobject]


def _named() -> list[NamedUser]:
    return named_users_from_config(load_config(EXAMPLE))


def _write(root: Path, org: SyntheticOrg) -> Written:
    engine = open_database(f"sqlite:///{root / 'state.sqlite'}")
    crm, decisions = LocalCRM(engine), SqlDecisionStore(engine)
    write_org(crm, org, decisions=decisions)
    objects = ("User", "Lead", "Task", "Opportunity", "OpportunityHistory", "Account", "Contact")
    records = {name: list(crm.query_all(Query(name))) for name in objects}
    routes: dict[str, list[Decision]] = defaultdict(list)
    for decision in decisions.recent(loop="route", limit=1_000_000):
        routes[decision.record_id].append(decision)
    return Written(org, records, routes)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Written:
    org = generate_org(users=20, accounts=150, leads=1200, seed=7, named_users=_named())
    return _write(tmp_path_factory.mktemp("history"), org)


def _leads(w: Written) -> list[Lead]:
    return [r for r in w.of("Lead") if isinstance(r, Lead)]


def _owned_at(w: Written, lead: Lead) -> dt.datetime:
    return min(d.created_at for d in w.routes[lead.Id or ""] if d.outcome == lead.OwnerId)


def _first_touches(w: Written) -> dict[str, Task]:
    out: dict[str, Task] = {}
    for t in w.of("Task"):
        assert isinstance(t, Task)
        done = t.Status == "Completed" and (t.WhoId or "").startswith("00Q") and t.CompletedDateTime is not None
        if done and (t.WhoId not in out or (t.CompletedDateTime or END) < (out[t.WhoId].CompletedDateTime or END)):
            out[t.WhoId or ""] = t
    return out


def test_leads_arrive_over_the_year_growing_a_little(seeded: Written) -> None:
    leads = _leads(seeded)
    months = Counter(lead.CreatedDate.strftime("%Y-%m") for lead in leads if lead.CreatedDate)
    assert len(months) >= 10 and sum(months.values()) == len(leads)
    assert all(lead.CreatedDate is not None and END - dt.timedelta(days=366) <= lead.CreatedDate < END
               for lead in leads)
    full = [months[m] for m in sorted(months)][1:-1]  # the first and last months are partial
    assert sum(full[-3:]) > sum(full[:3])  # mild growth month to month
    weekdays = sum(lead.CreatedDate.weekday() < 5 for lead in leads if lead.CreatedDate)
    assert weekdays > 0.9 * len(leads)


def test_owned_leads_were_routed_after_they_arrived_and_name_their_decision(seeded: Written) -> None:
    leads = _leads(seeded)
    owned = [lead for lead in leads if (lead.OwnerId or "").startswith("005")]
    assert 0.6 * len(leads) < len(owned) < 0.9 * len(leads)
    delays = []
    for lead in owned:
        decisions = seeded.routes[lead.Id or ""]
        assert decisions and all(d.loop == "route" and d.sobject == "Lead" and d.actor == "seed" for d in decisions)
        assert lead.CreatedDate is not None and all(d.created_at >= lead.CreatedDate for d in decisions)
        assert lead.Routing_Decision_Id__c in {d.id for d in decisions}
        assert any(d.outcome == lead.OwnerId and d.detail["rule_id"] for d in decisions)
        delays.append((_owned_at(seeded, lead) - lead.CreatedDate).total_seconds())
    assert statistics.median(delays) < 60  # seconds for most
    assert sum(d > 3600 for d in delays) > 0  # a few waited hours: parked as pending first
    parked = [ds for ds in seeded.routes.values() if any(d.outcome.startswith("pending:") for d in ds)]
    assert parked and all(min(ds, key=lambda d: d.created_at).outcome.startswith("pending:") for ds in parked
                          if any(d.outcome.startswith("005") for d in ds))
    waiting = [lead for lead in leads if lead.Routing_Decision_Id__c is None]
    assert waiting and all((lead.OwnerId or "").startswith("00G") and not seeded.routes.get(lead.Id or "")
                           for lead in waiting)  # the backlog the inbound chain picks up


def test_first_touches_come_after_the_owner_and_their_speed_differs_by_rep(seeded: Written) -> None:
    touches = _first_touches(seeded)
    by_rep: dict[str, list[float]] = defaultdict(list)
    untouched = 0
    for lead in _leads(seeded):
        if not (lead.OwnerId or "").startswith("005"):
            assert lead.Id not in touches  # nobody touches a lead in a queue
            continue
        touch = touches.get(lead.Id or "")
        if touch is None:
            untouched += 1
            assert lead.Status == "Open - Not Contacted"
            continue
        assert touch.OwnerId == lead.OwnerId and touch.Type in ("Call", "Email")
        assert touch.Subject == f"First touch: {(touch.Type or '').lower()}"
        hours = ((touch.CompletedDateTime or END) - _owned_at(seeded, lead)).total_seconds() / 3600
        assert hours > 0
        by_rep[lead.OwnerId or ""].append(hours)
    assert untouched > 0 and len(touches) > 0.7 * sum(len(v) for v in by_rep.values())
    medians = {rep: statistics.median(h) for rep, h in by_rep.items() if len(h) >= 10}
    assert len(medians) >= 5
    fast = [m for m in medians.values() if m <= 3]
    assert len(fast) >= len(medians) / 2  # most reps answer within hours
    breaching = [rep for rep, h in by_rep.items() if len(h) >= 10 and sum(x > SLA_HOURS for x in h) / len(h) > 0.5]
    assert 1 <= len(breaching) <= 2  # one or two slow reps breach the SLA most of the time


def test_users_were_created_when_they_started(seeded: Written) -> None:
    roster = {e.user: e.start for e in active_roster(load_config(EXAMPLE))}
    users = [u for u in seeded.of("User") if isinstance(u, User)]
    for user in users:
        assert user.CreatedDate is not None and user.CreatedDate == user.LastModifiedDate
        if user.Username in roster:
            assert user.CreatedDate.date() == roster[user.Username]
        else:  # a generated rep: one to 36 months before the org's today
            assert 28 <= (AS_OF - user.CreatedDate.date()).days <= 36 * 31
    tenure = {(AS_OF - u.CreatedDate.date()).days // 30 for u in users if u.CreatedDate and u.CreatedDate < END}
    assert len(tenure) >= 8


def _history(w: Written) -> dict[str, list[OpportunityHistory]]:
    """Each opportunity's history rows in date order."""
    out: dict[str, list[OpportunityHistory]] = defaultdict(list)
    for row in w.of("OpportunityHistory"):
        assert isinstance(row, OpportunityHistory)
        out[row.OpportunityId or ""].append(row)
    return {k: sorted(v, key=lambda r: r.CreatedDate or END) for k, v in out.items()}


def test_every_opportunity_history_leads_to_where_the_deal_stands(seeded: Written) -> None:
    history = _history(seeded)
    opps = [o for o in seeded.of("Opportunity") if isinstance(o, Opportunity)]
    closed = Counter("won" if o.IsWon else "lost" for o in opps if o.IsClosed)
    assert closed["won"] > 20 and closed["lost"] > 10
    for opp in opps:
        rows = history[opp.Id or ""]
        stamps = [r.CreatedDate or END for r in rows]
        assert rows and len(set(stamps)) == len(stamps) and stamps[-1] < END  # no two at once, all in the past
        assert rows[0].CreatedDate == opp.CreatedDate and rows[0].StageName == "Prospecting"
        reached = [OPEN.index(r.StageName) for r in rows if r.StageName in OPEN]
        assert reached == sorted(reached)  # up the stages, never back
        last = rows[-1]
        assert (last.StageName, last.Amount, last.CloseDate, last.Probability) == (
            opp.StageName, opp.Amount, opp.CloseDate, opp.Probability)
        assert opp.LastModifiedDate == last.CreatedDate
        assert bool(opp.IsClosed) == (opp.StageName in ("Closed Won", "Closed Lost"))
        if opp.IsClosed:
            assert len(rows) >= 2 and (opp.CloseDate or AS_OF) <= AS_OF
        else:
            assert (opp.CloseDate or AS_OF) > AS_OF


def test_cycles_take_longer_for_larger_accounts(seeded: Written) -> None:
    size = {a.Id: a.NumberOfEmployees or 0 for a in seeded.of("Account") if isinstance(a, Account)}
    cycles: dict[str, list[int]] = defaultdict(list)
    for opp in seeded.of("Opportunity"):
        assert isinstance(opp, Opportunity)
        if opp.IsWon and opp.Type == "New Business" and opp.CreatedDate and opp.CloseDate:
            n = size.get(opp.AccountId, 0)
            cycles["smb" if n < 200 else "mid" if n < 1000 else "ent"].append((opp.CloseDate - opp.CreatedDate.date()).days)
    median = {k: statistics.median(v) for k, v in cycles.items()}
    assert median["smb"] < median["mid"] < median["ent"]


def test_conversions_link_a_lead_to_the_deal_made_on_its_conversion_day(seeded: Written) -> None:
    opps = {o.Id: o for o in seeded.of("Opportunity") if isinstance(o, Opportunity)}
    accounts = {a.Id: a for a in seeded.of("Account") if isinstance(a, Account)}
    contacts = {c.Id: c for c in seeded.of("Contact") if isinstance(c, Contact)}
    converted = [lead for lead in _leads(seeded) if lead.IsConverted]
    assert 10 < len(converted) < sum(lead.Qualification__c == "MQL" for lead in _leads(seeded))
    outcomes = Counter()
    for lead in converted:
        opp = opps[lead.ConvertedOpportunityId]
        assert lead.Status == "Closed - Converted" and lead.Qualification__c == "MQL"
        assert opp.CreatedDate is not None and opp.CreatedDate.date() == lead.ConvertedDate
        assert opp.Type == "New Business" and opp.AccountId == lead.ConvertedAccountId
        assert contacts[lead.ConvertedContactId].AccountId == opp.AccountId
        assert opp.OwnerId in {u.Id for u in seeded.of("User") if isinstance(u, User) and u.Sales_Role__c == "AE"}
        account = accounts[opp.AccountId]
        assert (account.Type or "").startswith("Customer") == bool(opp.IsWon)  # a win makes a customer
        outcomes["won" if opp.IsWon else "lost" if opp.IsClosed else "open"] += 1
    assert outcomes["won"] and outcomes["lost"]


def test_some_open_deals_stalled_and_the_others_are_worked(seeded: Written) -> None:
    history = _history(seeded)
    last_activity: dict[str, dt.datetime] = {}
    for t in seeded.of("Task"):
        assert isinstance(t, Task)
        if (t.WhatId or "").startswith("006") and t.CompletedDateTime:
            last_activity[t.WhatId or ""] = max(last_activity.get(t.WhatId or "", t.CompletedDateTime), t.CompletedDateTime)
    stalled = worked = 0
    for opp in seeded.of("Opportunity"):
        assert isinstance(opp, Opportunity)
        if opp.IsClosed:
            continue
        changed = max(r.CreatedDate or END for r in history[opp.Id or ""])
        quiet = END - last_activity.get(opp.Id or "", opp.CreatedDate or END)
        if END - changed > dt.timedelta(days=45) and quiet >= dt.timedelta(days=30):
            stalled += 1
        elif quiet < dt.timedelta(days=14):
            worked += 1
    assert stalled >= 3 and worked > 2 * stalled


def test_activity_is_done_in_the_past_week_by_week(seeded: Written) -> None:
    tasks = [t for t in seeded.of("Task") if isinstance(t, Task)]
    assert all(t.Status == "Completed" and t.CompletedDateTime is not None and t.CompletedDateTime < END
               and t.CreatedDate == t.CompletedDateTime and t.ActivityDate == t.CompletedDateTime.date() for t in tasks)
    assert {t.Type for t in tasks} == {"Call", "Email", "Meeting"}
    weeks = Counter((t.OwnerId, (t.CompletedDateTime or END).isocalendar()[:2]) for t in tasks)
    reps = {owner for owner, _ in weeks}
    assert len(reps) >= 8 and len({week for _, week in weeks}) >= 50
    touches = _first_touches(seeded)
    for t in tasks:  # a follow-up on a lead comes after its first touch
        if (t.WhoId or "").startswith("00Q"):
            assert t.WhoId in touches and (touches[t.WhoId].CompletedDateTime or END) <= (t.CompletedDateTime or END)


def test_the_same_seed_gives_the_same_history_written(seeded: Written, tmp_path: Path) -> None:
    again = generate_org(users=20, accounts=150, leads=1200, seed=7, named_users=_named())
    assert again == seeded.org
    other = _write(tmp_path, again)
    stamps = {"SystemModstamp", "Id"}  # the write's time, and the ids the CRM gave its own history rows

    def dump(w: Written, sobject: str) -> list[dict[str, object]]:
        drop = stamps if sobject == "OpportunityHistory" else {"SystemModstamp"}
        return sorted((r.model_dump(exclude=drop) for r in w.of(sobject)), key=repr)

    for sobject in ("Lead", "Task", "Opportunity", "OpportunityHistory", "User"):
        assert dump(other, sobject) == dump(seeded, sobject), sobject
    assert {k: [d.model_dump() for d in v] for k, v in other.routes.items()} == {
        k: [d.model_dump() for d in v] for k, v in seeded.routes.items()}


def test_without_a_history_every_lead_is_fresh_inbound() -> None:
    org = generate_org(users=6, accounts=20, leads=40, seed=7, history=False)
    assert not org.tasks and not org.routes and not org.opportunity_changes
    queues = {q.Id for q in org.queues}
    assert all(lead.OwnerId in queues and lead.CreatedDate is None for lead in org.leads)
    assert all(r.CreatedDate is None for _, records in org.batches() for r in records)
