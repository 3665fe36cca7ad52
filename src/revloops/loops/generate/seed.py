"""A realistic synthetic org for demos, tests and benchmarks: ``revloops seed``.

``generate_org`` is pure and deterministic: the same counts and seed give the same records, ids included
(each object type draws from its own random stream, so adding leads does not change the accounts).
Customers, churns and usage come from ``seed_customers``, opportunities from ``seed_deals``; with ``history``
(the default) the org also carries the year before its today (``seed_history``): dated records, leads routed,
touched and converted, route decisions, every opportunity's stage changes and the reps' activity.
``write_org`` puts an org into a CRM through the port, in dependency order, resolving references to
records that already exist there (a second run of the same seed creates nothing new); it keeps the records'
dates (audit fields), replays each opportunity's changes so the CRM writes its OpportunityHistory, and stores
the route decisions in the decision log it is given.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import random
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import Field

from revloops.core.decisions import Decision, digest
from revloops.core.errors import InputError, RecordRejected
from revloops.core.model import Frozen
from revloops.core.records import (
    Account,
    Contact,
    Group,
    Lead,
    Opportunity,
    SObject,
    Task,
    Usage_Snapshot__c,
    User,
)
from revloops.loops.generate import seed_data as D
from revloops.loops.generate.seed_customers import customer_lives, make_usage, with_customer_fields
from revloops.loops.generate.seed_deals import make_opportunities
from revloops.loops.generate.seed_funnel import RouteDecision
from revloops.loops.generate.seed_history import add_history
from revloops.loops.generate.seed_leads import make_leads
from revloops.loops.generate.seed_parts import (
    Companies,
    Ids,
    ascii_name,
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
from revloops.loops.generate.seed_stages import OpportunityChange
from revloops.ports.crm import CRM, Filter, Query, SaveResult
from revloops.ports.decisions import DecisionStore

Role = Literal["AE", "SDR", "SE", "CSM", "Manager"]
AS_OF = dt.date(2025, 1, 15)  # the org's "today": a constant, so the records never depend on the clock


class NamedUser(Frozen):
    """A user the org must contain (from an example roster); the rest of the users are generated.

    ``start`` (the roster's) is when the user joined: their CreatedDate, and the first day they own anything
    in the history; after ``end`` they own nothing new.
    """

    username: str
    first_name: str
    last_name: str
    role: Role
    manager: str | None = None  # the manager's username
    country: str = "US"
    start: dt.date | None = None
    end: dt.date | None = None


class SyntheticOrg(Frozen):
    """The records of a synthetic org, ready to write in order; ``lead_accounts`` is the ground truth.

    Attributes:
        usage: a usage snapshot per customer month (current and former customers).
        lead_accounts: lead Id -> the account Id the lead was drawn from (by domain, or by name only when
            the lead wrote a free-mail address), for measuring lead-to-account matching.
        tasks: the history's completed tasks: first touches on leads, then the reps' activity.
        routes: the history's route decisions (one per routing; a lead parked first has two).
        opportunity_changes: every opportunity's states in time order, the first its creation (the records in
            ``opportunities`` hold the last); empty without a history.
    """

    users: tuple[User, ...] = ()
    queues: tuple[Group, ...] = ()
    accounts: tuple[Account, ...] = ()
    contacts: tuple[Contact, ...] = ()
    opportunities: tuple[Opportunity, ...] = ()
    usage: tuple[Usage_Snapshot__c, ...] = ()
    leads: tuple[Lead, ...] = ()
    tasks: tuple[Task, ...] = ()
    lead_accounts: dict[str, str] = Field(default_factory=dict)
    routes: tuple[RouteDecision, ...] = ()
    opportunity_changes: tuple[OpportunityChange, ...] = ()

    def batches(self) -> list[tuple[str, tuple[SObject, ...]]]:
        """The records by object, in the order they must be written."""
        return [("User", self.users), ("Group", self.queues), ("Account", self.accounts),
                ("Contact", self.contacts), ("Opportunity", self.opportunities), ("Usage_Snapshot__c", self.usage),
                ("Lead", self.leads), ("Task", self.tasks)]


def _users(rng: random.Random, n: int, named: Sequence[NamedUser]) -> list[User]:
    ids = Ids("User", rng)
    by_username: dict[str, str] = {u.username: ids() for u in named}
    out: list[User] = []
    for u in named:
        if u.manager is not None and u.manager not in by_username:
            raise InputError(f"user {u.username} names manager {u.manager!r}, who is not in the roster", field="manager")
        out.append(_user(by_username[u.username], u.username, u.first_name, u.last_name, u.role, u.country,
                         by_username.get(u.manager or "")))
    head = next((usr.Id for usr in out if usr.Sales_Role__c == "Manager" and usr.ManagerId is None), None)
    generated: list[User] = []
    for _ in range(max(0, n - len(named))):
        region = weighted(rng, D.USER_REGIONS)
        country = weighted(rng, D.USER_COUNTRIES[region])
        role = "Manager" if head is None and not generated else weighted(rng, D.ROLE_WEIGHTS)
        first, last = person(rng, country)
        username = _unique_username(first, last, by_username)
        by_username[username] = ids()
        user = _user(by_username[username], username, first, last, role, country, None)
        if head is None and not generated:
            user = user.model_copy(update={"Title": "VP Sales"})
        elif role != "Manager" and rng.random() < 0.03:
            user = user.model_copy(update={"IsActive": False})  # leavers still own records
        generated.append(user)
    head = head or (generated[0].Id if generated else None)
    return out + _with_managers(rng, generated, out, head)


def _unique_username(first: str, last: str, taken: dict[str, str]) -> str:
    base, k = f"{ascii_name(first)}.{ascii_name(last)}", 1
    username = f"{base}@sales.example.com"
    while username in taken:
        k += 1
        username = f"{base}{k}@sales.example.com"
    return username


def _with_managers(rng: random.Random, generated: list[User], named: list[User], head: str | None) -> list[User]:
    """Managers report to the head of sales; everyone else to a manager of their region (else the head)."""
    managers: dict[str, list[str]] = {}
    for usr in (*named, *generated):
        if usr.Sales_Role__c == "Manager" and usr.Id and usr.Id != head:
            managers.setdefault(D.REGION_OF.get(usr.Country or "", "NA"), []).append(usr.Id)
    out = []
    for usr in generated:
        if usr.Id == head:
            out.append(usr)
            continue
        local = managers.get(D.REGION_OF.get(usr.Country or "", "NA"), [])
        boss = head if usr.Sales_Role__c == "Manager" or not local else rng.choice(local)
        out.append(usr.model_copy(update={"ManagerId": boss}))
    return out


def _user(uid: str, username: str, first: str, last: str, role: str, country: str, manager: str | None) -> User:
    return User(
        Id=uid, Username=username, Email=username, FirstName=first, LastName=last, Name=f"{first} {last}",
        Title=D.ROLE_TITLES[role], IsActive=True, ManagerId=manager, Sales_Role__c=role, Country=country,
        TimeZoneSidKey=D.TIMEZONES.get(country, "America/New_York"),
    )


def _queues(rng: random.Random) -> list[Group]:
    ids = Ids("Group", rng)
    return [Group(Id=ids(), Name=label, DeveloperName=dev, Type="Queue") for dev, label in D.QUEUES]


def _owners_by_region(users: Sequence[User]) -> dict[str, list[str]]:
    """AE ids by region (every region falls back to all AEs, then to all users)."""
    aes = [u for u in users if u.Sales_Role__c == "AE"] or list(users)
    out: dict[str, list[str]] = {}
    for region in D.USER_REGIONS:
        local = [u.Id for u in aes if D.REGION_OF.get(u.Country or "", "NA") == region and u.Id]
        out[region] = local or [u.Id for u in aes if u.Id]
    return out


def _billing_state(rng: random.Random, written: str, region: str) -> str | None:
    if not written:
        return None
    if region in D.REGION_NAMES and rng.random() < 0.15:
        return D.REGION_NAMES[region]
    return written


def _account(rng: random.Random, uid: str, i: int, seed: int, companies: Companies,
             owners: dict[str, list[str]]) -> Account:
    country = weighted(rng, D.ACCOUNT_COUNTRIES)
    industry = rng.choice(list(D.INDUSTRIES))
    name, legal, domain = companies.new(rng, country, industry)
    size, headcount = employees(rng)
    revenue = headcount * D.INDUSTRIES[industry][0] * math.exp(rng.gauss(0, 0.25))
    city, state, region, postal = rng.choice(D.CITIES[country])
    named_share = {"enterprise": 0.35, "mid_market": 0.08, "smb": 0.01}[size]
    pool = owners.get(D.REGION_OF[country], [])
    return Account(
        Id=uid, Name=legal, Website=website(rng, domain), Industry=industry, NumberOfEmployees=headcount,
        AnnualRevenue=float(round(revenue, -3)), Type=weighted(rng, {"Prospect": 60, "Customer - Direct": 30,
                                                                      "Customer - Channel": 5, "Channel Partner / Reseller": 5}),
        Phone=phone(rng, country), BillingCity=city, BillingState=_billing_state(rng, state, region),
        BillingPostalCode=postal, BillingCountry=D.COUNTRY_NAME[country] if rng.random() < 0.85
        else rng.choice(D.COUNTRY_SPELLINGS[country]),
        OwnerId=rng.choice(pool) if pool else None, Named__c=rng.random() < named_share,
        External_Id__c=f"seed{seed}-acc-{i:06d}",
    )


def _contacts(rng: random.Random, accounts: Sequence[Account], seed: int) -> list[Contact]:
    ids, out = Ids("Contact", rng), list[Contact]()
    for acc in accounts:
        low, high = (1, 2) if (acc.NumberOfEmployees or 0) < 200 else (2, 3) if (acc.NumberOfEmployees or 0) < 1000 else (3, 5)
        country = country_of(acc)
        domain = domain_of(acc)
        for _ in range(rng.randint(low, high)):
            first, last = person(rng, country)
            out.append(Contact(
                Id=ids(), FirstName=first, LastName=last, Email=f"{email_local(rng, first, last)}@{domain}",
                Title=title(rng), AccountId=acc.Id, OwnerId=acc.OwnerId, MailingCountry=acc.BillingCountry,
                External_Id__c=f"seed{seed}-con-{len(out):06d}",
            ))
    return out


def generate_org(users: int, accounts: int, leads: int, seed: int, named_users: Sequence[NamedUser] = (),
                 *, as_of: dt.date = AS_OF, history: bool = True) -> SyntheticOrg:
    """A deterministic synthetic org.

    Args:
        users: how many users in all (named users count towards it; at least the named ones are made).
        accounts: how many accounts.
        leads: how many leads.
        seed: the random seed; the same seed gives identical records, ids included.
        named_users: users that must exist, with their roles and managers.
        as_of: the org's "today": customers signed before it, churns and closed deals fall before it, open
            deals close after it, usage runs up to it; the history is the year before it.
        history: give the org its history (``seed_history``); without it every record is undated (the CRM
            dates it on write) and every lead waits in a queue, as fresh inbound.

    Returns:
        The org's records and, for each lead drawn from an account, that account's id.

    Raises:
        InputError: a count is negative, or a named user's manager is not in the roster.
    """
    for name, value in (("users", users), ("accounts", accounts), ("leads", leads)):
        if value < 0:
            raise InputError(f"{name} must be 0 or more, not {value}", field=name)

    def stream(kind: str) -> random.Random:  # one independent stream per object type
        return random.Random(f"{seed}:{kind}")

    user_recs = _users(stream("users"), users, named_users)
    queues = _queues(stream("queues"))
    companies, owners = Companies(), _owners_by_region(user_recs)
    acc_rng, acc_ids = stream("accounts"), Ids("Account", stream("account-ids"))
    account_recs = [_account(acc_rng, acc_ids(), i, seed, companies, owners) for i in range(accounts)]
    contacts = _contacts(stream("contacts"), account_recs, seed)
    lives = customer_lives(stream("customers"), account_recs, as_of)
    account_recs = with_customer_fields(account_recs, lives)
    opps = make_opportunities(stream("opportunities"), account_recs, contacts, lives, seed, as_of)
    usage = make_usage(stream("usage"), Ids("Usage_Snapshot__c", stream("usage-ids")), lives.values(), seed, as_of)
    lead_recs, truth = make_leads(stream("leads"), leads, seed, account_recs, companies, queues)
    if not history:
        return SyntheticOrg(users=tuple(user_recs), queues=tuple(queues), accounts=tuple(account_recs),
                            contacts=tuple(contacts), opportunities=tuple(opps), usage=tuple(usage),
                            leads=tuple(lead_recs), lead_accounts=truth)
    past = add_history(stream, users=user_recs, roster={u.username: (u.start, u.end) for u in named_users},
                       queues=queues, accounts=account_recs, contacts=contacts, opportunities=opps, usage=usage,
                       leads=lead_recs, truth=truth, seed=seed, as_of=as_of)
    return SyntheticOrg(users=tuple(past.users), queues=tuple(past.queues), accounts=tuple(past.accounts),
                        contacts=tuple(past.contacts), opportunities=tuple(past.opportunities),
                        usage=tuple(past.usage), leads=tuple(past.leads), tasks=tuple(past.tasks),
                        lead_accounts=truth, routes=tuple(past.routes), opportunity_changes=tuple(past.changes))


Progress = Callable[[int, int], None]
Together = Callable[[], contextlib.AbstractContextManager[None]]
#: the field that finds a seeded record again in the CRM (so a second run creates nothing twice)
KEY_FIELDS: dict[str, str] = {"User": "Username", "Group": "DeveloperName", "Task": "Revloops_Key__c"}
_REFERENCES = ("ManagerId", "OwnerId", "AccountId", "Account__c", "ConvertedAccountId", "ConvertedContactId",
               "ConvertedOpportunityId", "WhoId", "WhatId")
_CHUNK = 1000
#: what a seeded decision names as its config (it was drawn by the seed, not decided under a config)
SEED_CONFIG = "seed"


def _existing(crm: CRM, sobject: str, key: str, values: Sequence[str]) -> dict[str, str]:
    """Key value -> Id of the records already in the CRM."""
    found: dict[str, str] = {}
    for i in range(0, len(values), 500):
        query = Query(sobject, (Filter(key, "in", tuple(values[i : i + 500])),))
        for rec in crm.query_all(query):
            found[str(getattr(rec, key))] = str(rec.Id)
    return found


@functools.cache
def _references_of(model: type[SObject]) -> tuple[str, ...]:
    return tuple(f for f in _REFERENCES if f in model.model_fields)


def _rewire(record: SObject, remap: dict[str, str], keep_id: bool) -> SObject:
    changes: dict[str, str | None] = {
        f: remap[v] for f in _references_of(type(record)) if isinstance(v := getattr(record, f), str) and v in remap
    }
    if not keep_id:
        changes["Id"] = None
    return record.model_copy(update=changes) if changes else record


def _changes_by_opportunity(org: SyntheticOrg) -> dict[str, list[OpportunityChange]]:
    out: dict[str, list[OpportunityChange]] = {}
    for change in org.opportunity_changes:
        out.setdefault(change.opportunity_id, []).append(change)
    return out


def _as_created(record: SObject, changes: dict[str, list[OpportunityChange]]) -> SObject:
    """An opportunity as it was created (the first of its changes), the others as they are."""
    first = changes.get(str(record.Id))
    if not first:
        return record
    return record.model_copy(update={**first[0].fields(), "LastModifiedDate": first[0].at})


def _refused(sobject: str, what: object, results: Sequence[SaveResult]) -> None:
    """RecordRejected for the first write the CRM refused, naming the record."""
    for res in results:
        if not res.success:
            err = res.errors[0] if res.errors else None
            raise RecordRejected(f"{sobject} {what}: {err.message if err else 'refused'}",
                                 err.status_code if err else "UNKNOWN", err.fields if err else ())


def _replay(crm: CRM, fresh: list[str], changes: dict[str, list[OpportunityChange]], remap: dict[str, str]) -> None:
    """The opportunities' later changes, round after round (each one's second change, then third...), each an
    update carrying when it was made, so the CRM dates their OpportunityHistory rows."""
    rounds = max((len(changes.get(oid, ())) for oid in fresh), default=0)
    for r in range(1, rounds):
        batch = [(remap[oid], {**changes[oid][r].fields(), "LastModifiedDate": changes[oid][r].at})
                 for oid in fresh if len(changes.get(oid, ())) > r]
        _refused("Opportunity", "change", crm.bulk_update("Opportunity", batch, audit_fields=True))


def _decisions(org: SyntheticOrg, remap: dict[str, str]) -> list[Decision]:
    """The history's route decisions as the decision log keeps them (actor ``seed``)."""
    out = []
    for route in org.routes:
        lead = remap.get(route.lead_id, route.lead_id)
        out.append(Decision(
            id=route.id, loop="route", sobject="Lead", record_id=lead, outcome=remap.get(route.outcome, route.outcome),
            detail={"rule_id": route.rule_id, "action": route.action, "handler": {}, "applied": True, "seeded": True},
            explanation=route.explanation, config_version=SEED_CONFIG,
            inputs_digest=digest({"lead": lead, "at": route.at}), actor="seed", created_at=route.at))
    return out


def write_org(crm: CRM, org: SyntheticOrg, progress: Progress | None = None, *, keep_ids: bool = True,
              decisions: DecisionStore | None = None, together: Together | None = None) -> dict[str, int]:
    """Write an org into a CRM: users, queues, accounts, contacts, opportunities, usage snapshots, leads, tasks.

    Records already there (same Username, queue DeveloperName, External_Id__c or a task's Revloops_Key__c) are
    not created again; references to them (ManagerId, OwnerId, AccountId, Account__c, a conversion's ids,
    WhoId, WhatId) are pointed at the existing records. Records are created with their audit fields, so their
    CreatedDate and LastModifiedDate are the history's (a record without them is dated by the CRM). An
    opportunity with changes is created as it was first, then each later change is an update dated when it
    was made: the CRM writes its OpportunityHistory rows. The route decisions go to ``decisions`` (without a
    decision log they are left out).

    Args:
        crm: the CRM port.
        org: the records from ``generate_org``.
        progress: called with (records done, records in all) after each batch.
        keep_ids: create records with the generated ids (the local CRM accepts them, so a seed gives the
            same ids there); False lets the CRM assign ids (Salesforce refuses ids on create).
        decisions: the decision log the route decisions are stored in (idempotent: a second run adds none).
        together: a unit of work to write in (the embedded CRM then writes the whole org, or nothing, at once).

    Returns:
        The number of records created, by object.

    Raises:
        RecordRejected: the CRM refused a record (without ``together``, the records before it stay written;
            running the same seed again picks up where it stopped).
    """
    changes = _changes_by_opportunity(org)
    total = sum(len(records) for _, records in org.batches())
    done, remap, created = 0, dict[str, str](), dict[str, int]()

    with together() if together is not None else contextlib.nullcontext():
        for sobject, records in org.batches():
            key = KEY_FIELDS.get(sobject, "External_Id__c")
            existing = _existing(crm, sobject, key, [str(getattr(r, key)) for r in records])
            fresh = []
            for rec in records:
                if (found := existing.get(str(getattr(rec, key)))) is not None:
                    remap[str(rec.Id)] = found
                else:
                    fresh.append(rec)
            done += len(records) - len(fresh)
            created[sobject] = 0
            for i in range(0, len(fresh), _CHUNK):
                chunk = fresh[i : i + _CHUNK]
                results = crm.bulk_create([_rewire(_as_created(r, changes), remap, keep_ids) for r in chunk],
                                          audit_fields=True)
                for rec, res in zip(chunk, results, strict=True):
                    _refused(sobject, getattr(rec, key), [res])
                    remap[str(rec.Id)] = str(res.id)
                created[sobject] += len(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            if sobject == "Opportunity":
                _replay(crm, [str(r.Id) for r in fresh], changes, remap)
        if decisions is not None and org.routes:
            decisions.record_many(_decisions(org, remap))
    return created
