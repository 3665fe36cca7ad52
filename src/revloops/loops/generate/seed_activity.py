"""Reps' activity in the seeded history: completed calls, emails and meetings, week by week.

Every stage change of a deal in the year before the org's today is logged by its owner (a meeting or call named
after the stage), every open deal that has not stalled had a touch in its last two weeks, and each rep's week is
filled to a volume drawn for them (SDRs most, then AEs, SEs and CSMs, managers least; less in a rep's first
months) with follow-ups on the leads they are working (after their first touch, before their conversion), work on
their open deals, and calls and emails to contacts of their accounts (an SDR prospects in their region). A stalled
deal gets nothing after it went quiet; a lead nobody touched gets nothing at all.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from revloops.core.records import Account, Contact, Task
from revloops.loops.generate import seed_data as D
from revloops.loops.generate.seed_funnel import LeadStory, Rep
from revloops.loops.generate.seed_parts import QuickIds, country_of, poisson, weighted
from revloops.loops.generate.seed_stages import WON, StagePath
from revloops.loops.generate.seed_time import DAY, HOUR, WINDOW_DAYS, next_working

#: completed activities a rep logs in a week at full ramp, by role
WEEKLY: dict[str, float] = {"SDR": 20, "AE": 10, "SE": 4, "CSM": 4, "Manager": 1}
RAMP = (0.4, 0.7, 0.9)  # a rep's volume in their first months, as a share of it
STAGE_SUBJECTS: dict[str, tuple[str, str]] = {
    "Prospecting": ("Meeting", "Discovery meeting"), "Qualification": ("Call", "Qualification call"),
    "Needs Analysis": ("Meeting", "Needs analysis workshop"), "Value Proposition": ("Meeting", "Demo"),
    "Proposal/Price Quote": ("Meeting", "Proposal review"), "Negotiation/Review": ("Call", "Negotiation call"),
    WON: ("Meeting", "Signature and kickoff"), "Closed Lost": ("Call", "Closing call"),
}
SUBJECTS: dict[str, tuple[str, ...]] = {
    "Call": ("Follow-up call", "Check-in call", "Left a voicemail", "Call about next steps"),
    "Email": ("Follow-up email", "Sent the deck", "Sent pricing", "Sent a case study"),
    "Meeting": ("Working session", "Stakeholder meeting", "Technical deep dive"),
}
#: what every task of the history has in common: it is done
DONE = Task(Subject="Completed activity", Status="Completed", Priority="Normal")
_ON_LEAD = {"Call": 55.0, "Email": 45.0}
_ON_DEAL = {"Meeting": 30.0, "Call": 35.0, "Email": 35.0}


@dataclass(frozen=True)
class Deal:
    """An opportunity as activity sees it: its owner, account and way through the stages."""

    id: str
    owner_id: str
    account_id: str
    path: StagePath

    @property
    def live_until(self) -> dt.datetime:
        """When work on the deal stopped: its close, or the day a stalled deal went quiet."""
        if self.path.quiet_from is not None:
            return self.path.quiet_from
        return self.path.last.at if self.path.last.fields()["IsClosed"] else dt.datetime.max.replace(tzinfo=dt.UTC)


Window = tuple[dt.datetime, dt.datetime, str, str | None]  # (from, until, WhatId or WhoId kind, the id)


class _Log:
    """The tasks made so far, counted by rep and week."""

    def __init__(self, rng: random.Random, seed: int, start: dt.datetime, end: dt.datetime) -> None:
        self.rng, self.seed, self.start, self.end = rng, seed, start, end
        self.ids = QuickIds("Task", random.Random(f"{seed}:activity-ids"))
        self.tasks: list[Task] = []
        self.count: dict[tuple[str, int], int] = {}

    def week(self, moment: dt.datetime) -> int:
        return int((moment - self.start).total_seconds() // (7 * 86400))

    def add(self, rep: Rep, at: dt.datetime, kind: str, subject: str, who: str | None = None,
            what: str | None = None) -> None:
        if not (self.start <= at < self.end) or not rep.tenure.covers(at):
            return
        self.tasks.append(DONE.model_copy(update={  # a copy of checked values: half the cost of validating
            "Id": self.ids(), "Subject": subject, "Type": kind, "WhoId": who, "WhatId": what, "OwnerId": rep.id,
            "ActivityDate": at.date(), "CompletedDateTime": at, "CreatedDate": at, "LastModifiedDate": at,
            "Revloops_Key__c": f"seed{self.seed}-act-{len(self.tasks):07d}"}))
        key = (rep.id, self.week(at))
        self.count[key] = self.count.get(key, 0) + 1


def _between(rng: random.Random, lo: dt.datetime, hi: dt.datetime, tz: str) -> dt.datetime:
    """A moment after ``lo`` and before ``hi``, in working hours when one fits."""
    raw = lo + (hi - lo) * rng.uniform(0.05, 0.95)
    moved = next_working(rng, raw, tz)
    return moved if moved < hi else raw


def _deal_milestones(log: _Log, reps: Mapping[str, Rep], deals: Sequence[Deal],
                     people: Mapping[str, Sequence[Contact]]) -> None:
    """A meeting or call at each stage change, and a recent touch on each open deal still being worked."""
    rng = log.rng
    for deal in deals:
        rep = reps.get(deal.owner_id)
        if rep is None:
            continue
        contacts = people.get(deal.account_id, ())
        seen: set[str] = set()
        for change in deal.path.changes:
            if change.StageName in seen or change.at > deal.live_until:
                continue
            seen.add(change.StageName)
            kind, subject = STAGE_SUBJECTS.get(change.StageName, ("Meeting", "Meeting"))
            who = rng.choice(contacts).Id if contacts else None
            log.add(rep, change.at + dt.timedelta(minutes=rng.randint(5, 90)), kind, subject, who, deal.id)
        if deal.path.quiet_from is None and not deal.path.last.fields()["IsClosed"]:
            at = _between(rng, log.end - dt.timedelta(days=rng.uniform(2, 12)), log.end - HOUR, rep.tz)
            kind = weighted(rng, _ON_DEAL)
            log.add(rep, at, kind, rng.choice(SUBJECTS[kind]), rng.choice(contacts).Id if contacts else None, deal.id)


def _windows(rep: Rep, stories: Sequence[LeadStory], deals: Sequence[Deal], end: dt.datetime) -> list[Window]:
    out: list[Window] = []
    for story in stories:
        until = story.worked_until
        if story.owner.id == rep.id and story.touched_at is not None and until is not None:
            out.append((story.touched_at + HOUR, min(until, end), "lead", story.lead_id))
    for deal in deals:
        if deal.owner_id == rep.id:
            out.append((deal.path.created + HOUR, min(deal.live_until, end), "deal", deal.id))
    return [w for w in out if w[1] > w[0]]


def _fill(log: _Log, rep: Rep, windows: Sequence[Window], accounts: Sequence[Account],
          people: Mapping[str, Sequence[Contact]], prospects: Sequence[Contact]) -> None:
    """Fill each of the rep's weeks to the volume drawn for them."""
    rng = log.rng
    level = WEEKLY.get(rep.role, 5.0) * rng.uniform(0.6, 1.3)
    weeks = int((log.end - log.start).days // 7)
    for w in range(weeks):
        lo = log.start + dt.timedelta(days=7 * w)
        hi = min(lo + 7 * DAY, log.end)
        months = max(0, (lo - rep.tenure.start).days // 30)
        if hi <= rep.tenure.start or (rep.tenure.until is not None and lo >= rep.tenure.until):
            continue
        want = poisson(rng, level * (RAMP[months] if months < len(RAMP) else 1.0))
        live = [win for win in windows if win[0] < hi and win[1] > lo]
        leads = [win for win in live if win[2] == "lead"]
        open_deals = [win for win in live if win[2] == "deal"]
        for _ in range(max(0, want - log.count.get((rep.id, w), 0))):
            pick = rng.random()
            if leads and pick < (0.75 if rep.role == "SDR" else 0.45):
                start, until, _, lead_id = rng.choice(leads)
                kind = weighted(rng, _ON_LEAD)
                log.add(rep, _between(rng, max(lo, start), min(hi, until), rep.tz), kind, rng.choice(SUBJECTS[kind]),
                        who=lead_id)
            elif open_deals and pick < 0.85:
                start, until, _, deal_id = rng.choice(open_deals)
                kind = weighted(rng, _ON_DEAL)
                log.add(rep, _between(rng, max(lo, start), min(hi, until), rep.tz), kind, rng.choice(SUBJECTS[kind]),
                        what=deal_id)
            else:
                account = rng.choice(accounts) if accounts else None
                contacts = people.get(account.Id or "", ()) if account is not None else prospects
                who = rng.choice(contacts).Id if contacts else None
                kind = "Call" if rng.random() < 0.5 else "Email"
                subject = f"Prospecting {kind.lower()}" if account is None else rng.choice(SUBJECTS[kind])
                log.add(rep, _between(rng, lo, hi, rep.tz), kind, subject, who=who,
                        what=account.Id if account is not None else None)


def make_activity(rng: random.Random, reps: Sequence[Rep], stories: Sequence[LeadStory], deals: Sequence[Deal],
                  accounts: Sequence[Account], contacts: Sequence[Contact], seed: int,
                  end: dt.datetime) -> list[Task]:
    """The reps' completed activity over the year before ``end`` (see the module's docstring)."""
    log = _Log(rng, seed, end - dt.timedelta(days=WINDOW_DAYS), end)
    by_id = {r.id: r for r in reps}
    people: dict[str, list[Contact]] = {}
    for c in contacts:
        people.setdefault(c.AccountId or "", []).append(c)
    _deal_milestones(log, by_id, deals, people)
    owned: dict[str, list[Account]] = {}
    for a in accounts:
        owned.setdefault(a.OwnerId or "", []).append(a)
    in_region: dict[str, list[Contact]] = {}
    for a in accounts:
        region = D.REGION_OF.get(country_of(a), "NA")
        in_region.setdefault(region, []).extend(people.get(a.Id or "", ()))
    for rep in reps:
        prospects = in_region.get(rep.region, []) or contacts
        mine = owned.get(rep.id, []) if rep.role != "SDR" else []
        _fill(log, rep, _windows(rep, stories, deals, end), mine, people, prospects)
    return log.tasks
