"""Opportunities through their stages in the seeded history: the changes that take each deal from its creation
to where it stands, as the CRM's OpportunityHistory will hold them.

A deal is created in Prospecting and moves up the stages (now and then skipping one) to its current stage, or
to Closed Won after all of them, or to Closed Lost from an early stage more often than from a late one. How long
a deal takes depends on its type and its account's size (``CYCLE_DAYS``); lost deals end sooner than won ones.
About a quarter of the deals have their close date pushed once and some change amount along the way. Of open
deals, ``STALLED_SHARE`` stalled: their last change was 45 to 150 days ago and nothing happened since.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revloops.core.model import Frozen
from revloops.core.records import Opportunity
from revloops.loops.generate import seed_data as D
from revloops.loops.generate.seed_parts import weighted
from revloops.loops.generate.seed_time import DAY, HOUR, business_moment, next_working

OPEN = tuple(name for name, _ in D.OPEN_STAGES)
WON, LOST = "Closed Won", "Closed Lost"
PROBABILITY: dict[str, float] = {**dict(D.OPEN_STAGES), WON: 100.0, LOST: 0.0}
#: median days from created to closed, by deal type and (for new business) the account's size class
CYCLE_DAYS: dict[str, float] = {"smb": 35, "mid_market": 70, "enterprise": 130, "Renewal": 75, "Expansion": 50}
WIN_RATE: dict[str, float] = {"smb": 0.32, "mid_market": 0.27, "enterprise": 0.22}
STALLED_SHARE = 0.2
PUSH_SHARE = 0.25  # deals whose close date moved once
REPRICE_SHARE = 0.3  # deals whose amount changed once
_LOST_AT = {"0": 30.0, "1": 25.0, "2": 20.0, "3": 15.0, "4": 10.0}  # the stage index a lost deal reached


class OpportunityChange(Frozen):
    """One state of an opportunity: its tracked fields as a change made them at ``at`` (the first: its
    creation). The CRM writes an OpportunityHistory row for each."""

    opportunity_id: str
    at: dt.datetime
    StageName: str
    Amount: float | None = None
    CloseDate: dt.date
    Probability: float | None = None

    def fields(self) -> dict[str, Any]:
        """The opportunity's fields this state sets (with IsClosed and IsWon, which follow the stage)."""
        return {"StageName": self.StageName, "Amount": self.Amount, "CloseDate": self.CloseDate,
                "Probability": self.Probability, "IsClosed": self.StageName in (WON, LOST),
                "IsWon": self.StageName == WON}


@dataclass(frozen=True)
class StagePath:
    """An opportunity's changes in time order, and when a stalled deal went quiet (no activity from then)."""

    changes: tuple[OpportunityChange, ...]
    quiet_from: dt.datetime | None = None

    @property
    def created(self) -> dt.datetime:
        """When the opportunity was created."""
        return self.changes[0].at

    @property
    def last(self) -> OpportunityChange:
        """Where the opportunity stands."""
        return self.changes[-1]


def cycle_days(rng: random.Random, kind: str, segment: str) -> float:
    """Days a deal of this type and account size takes from created to closed (log-normal around the median)."""
    median = CYCLE_DAYS.get(kind if kind in CYCLE_DAYS else segment, CYCLE_DAYS["mid_market"])
    return median * math.exp(rng.gauss(0, 0.35))


def _visited(rng: random.Random, upto: int) -> list[str]:
    """The open stages a deal went through to stage ``upto``: every one, now and then skipping a middle one."""
    return [OPEN[i] for i in range(upto + 1) if i in (0, upto) or rng.random() >= 0.12]


def _moments(rng: random.Random, start: dt.datetime, stop: dt.datetime, n: int, tz: str) -> list[dt.datetime]:
    """``n`` moments after ``start`` and before ``stop``, in time order, in working hours where they fit."""
    span = (stop - start).total_seconds()
    raw = sorted(start + dt.timedelta(seconds=span * rng.uniform(0.02, 0.98)) for _ in range(n))
    out: list[dt.datetime] = []
    for moment in raw:
        moved = next_working(rng, moment, tz)
        moment = moved if moved < stop else moment
        if out and moment <= out[-1]:
            moment = min(out[-1] + dt.timedelta(minutes=rng.randint(5, 90)), stop - dt.timedelta(seconds=1))
        out.append(moment)
    return out


def _path(rng: random.Random, opportunity_id: str, stages: Sequence[str], times: Sequence[dt.datetime],
          amount: float | None, close: dt.date) -> list[OpportunityChange]:
    """The changes of a deal entering ``stages`` at ``times``; ending on ``amount`` and ``close``, with a close
    date pushed once and an amount changed once for some deals."""
    first_close, push_at, first_amount, reprice_at = close, None, amount, None
    if len(times) > 1 and rng.random() < PUSH_SHARE:
        earlier = close - dt.timedelta(days=rng.randint(10, 40))
        if earlier > times[0].date() + dt.timedelta(days=7):
            first_close, push_at = earlier, times[0] + (times[-1] - times[0]) * rng.uniform(0.3, 0.9)
    if amount and len(times) > 2 and rng.random() < REPRICE_SHARE:
        first_amount, reprice_at = float(round(amount * rng.uniform(0.75, 1.3), -2)), times[rng.randrange(2, len(times))]

    def state(stage: str, at: dt.datetime) -> OpportunityChange:
        pushed = push_at is not None and at >= push_at
        repriced = reprice_at is None or at >= reprice_at
        return OpportunityChange(opportunity_id=opportunity_id, at=at, StageName=stage,
                                 Amount=amount if repriced else first_amount,
                                 CloseDate=close if push_at is None or pushed else first_close,
                                 Probability=PROBABILITY[stage])

    out = [state(stage, at) for stage, at in zip(stages, times, strict=True)]
    if push_at is not None:
        stage = next(c.StageName for c in reversed(out) if c.at <= push_at)
        out.append(state(stage, push_at))
        out.sort(key=lambda c: c.at)
    return out


def _closed(rng: random.Random, opportunity_id: str, won: bool, close_at: dt.datetime, created: dt.datetime,
            amount: float | None, tz: str, close: dt.date) -> StagePath:
    stages = _visited(rng, len(OPEN) - 1 if won else int(weighted(rng, _LOST_AT)))
    times = [created, *_moments(rng, created, close_at, len(stages) - 1, tz), close_at]
    return StagePath(tuple(_path(rng, opportunity_id, [*stages, WON if won else LOST], times, amount, close)))


def _open(rng: random.Random, opportunity_id: str, reached: int, created: dt.datetime, last: dt.datetime,
          amount: float | None, close: dt.date, tz: str, quiet: dt.datetime | None) -> StagePath:
    stages = _visited(rng, reached)
    times = [created, *_moments(rng, created, last, len(stages) - 2, tz), last] if len(stages) > 1 else [created]
    return StagePath(tuple(_path(rng, opportunity_id, stages, times, amount, close)), quiet)


def _close_moment(rng: random.Random, day: dt.date, tz: str, end: dt.datetime) -> dt.datetime:
    """When a deal closing on ``day`` (its close date where its owner is) was closed: in that day's hours."""
    moment = business_moment(rng, day, tz, 9.0, 17.5)
    return moment if moment < end else end - dt.timedelta(minutes=rng.randint(30, 600))


def backfill(rng: random.Random, opp: Opportunity, segment: str, tz: str, end: dt.datetime) -> StagePath:
    """The path that led a seeded opportunity to its current state (stage, amount, close date)."""
    oid, close, amount, kind = opp.Id or "", opp.CloseDate or end.date(), opp.Amount, opp.Type or "New Business"
    cycle = cycle_days(rng, kind, segment)
    if opp.IsClosed:
        won = bool(opp.IsWon)
        close_at = _close_moment(rng, close, tz, end)
        length = cycle if won else cycle * rng.uniform(0.35, 1.0)
        created = next_working(rng, close_at - dt.timedelta(days=max(length, 3.0)), tz)
        return _closed(rng, oid, won, close_at, min(created, close_at - HOUR), amount, tz, close)
    reached = OPEN.index(opp.StageName) if opp.StageName in OPEN else 0
    dwell = cycle / (len(OPEN) + 1)
    if rng.random() < STALLED_SHARE:
        last = end - dt.timedelta(days=rng.uniform(45, 150))
        quiet: dt.datetime | None = min(last + dt.timedelta(days=rng.uniform(0, 7)), end - 31 * DAY)
        created = last - dt.timedelta(days=max(1.0, dwell * reached * rng.uniform(0.7, 1.3)))
    else:
        last = end - dt.timedelta(days=dwell * rng.uniform(0.05, 0.9))
        quiet, created = None, last - dt.timedelta(days=max(1.0, dwell * reached * rng.uniform(0.7, 1.3)))
    created, last = next_working(rng, created, tz), min(next_working(rng, last, tz), end - HOUR)
    return _open(rng, oid, reached, min(created, last - HOUR), last, amount, close, tz, quiet)


def forward(rng: random.Random, opportunity_id: str, created: dt.datetime, segment: str, amount: float | None,
            tz: str, end: dt.datetime) -> StagePath:
    """Where a deal created at ``created`` (a lead's conversion) went by the org's today: won or lost when its
    cycle has run out, else open at the stage its age reached (or stalled at an earlier one)."""
    cycle = cycle_days(rng, "New Business", segment)
    won = rng.random() < WIN_RATE.get(segment, 0.25)
    length = cycle if won else cycle * rng.uniform(0.35, 1.0)
    close_at = next_working(rng, created + dt.timedelta(days=max(length, 3.0)), tz)
    if close_at < end - HOUR:
        return _closed(rng, opportunity_id, won, close_at, created, amount, tz, close_at.date())
    age, dwell = (end - created).total_seconds() / 86400, cycle / (len(OPEN) + 1)
    reached = min(len(OPEN) - 1, int(age / dwell))
    close = max(close_at.date(), end.date() + dt.timedelta(days=7))
    if age > 60 and rng.random() < STALLED_SHARE:
        last = created + dt.timedelta(days=rng.uniform(0.3, 0.6) * (age - 31))
        reached = min(reached, max(1, int((last - created).days / dwell)))
        quiet = min(last + dt.timedelta(days=rng.uniform(0, 5)), end - 31 * DAY)
        return _open(rng, opportunity_id, reached, created, next_working(rng, last, tz), amount, close, tz, quiet)
    last = created + (end - created) * rng.uniform(0.6, 0.97) if reached else created
    return _open(rng, opportunity_id, reached, created, min(next_working(rng, last, tz), end - HOUR), amount,
                 close, tz, None)


def dated(opp: Opportunity, path: StagePath) -> Opportunity:
    """The opportunity as its path leaves it: its final tracked fields, created and last changed when they were."""
    return opp.model_copy(update={**path.last.fields(), "CreatedDate": path.created, "LastModifiedDate": path.last.at})


def created_state(opp: Opportunity, path: StagePath) -> Opportunity:
    """The opportunity as it was created (the first state of its path), last modified then."""
    return opp.model_copy(update={**path.changes[0].fields(), "LastModifiedDate": path.created})
