"""Time in the seeded history: business hours in a place's zone, when leads arrive, how long reps have been
there. Everything is drawn from the caller's random stream and dated before the org's today begins (``end``:
``as_of`` at 00:00 UTC), so a seed gives the same history whatever the clock says.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from revloops.core.calendar import timezone_for

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
WINDOW_DAYS = 365  # the history: leads, routing, touches and activity of the year before the org's today
MONTHLY_GROWTH = 1.04  # leads arrive a little more often each month
WORK_HOURS = (8.0, 19.0)  # when a rep works, local time (a touch outside waits for the next morning)


def end_of_history(as_of: dt.date) -> dt.datetime:
    """The moment the org's today begins: nothing in the history happens at or after it."""
    return dt.datetime.combine(as_of, dt.time(), dt.UTC)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone of a name (cached: the history converts thousands of times)."""
    return ZoneInfo(name)


def zone_of_country(country: str | None) -> str:
    """The main zone of an alpha-2 country (New York when unknown, as the seed's default user)."""
    name = timezone_for(country)
    return "America/New_York" if name == "UTC" else name


def local(day: dt.date, hours: float, tz: str) -> dt.datetime:
    """``day`` at ``hours`` (9.5 = 09:30) in zone ``tz``, as UTC."""
    minutes = int(round(hours * 60))
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minutes)
    return naive.replace(tzinfo=zone(tz)).astimezone(dt.UTC)


def business_moment(rng: random.Random, day: dt.date, tz: str, start: float = 8.5, end: float = 17.5) -> dt.datetime:
    """A moment of ``day``'s working hours in ``tz`` (busiest mid-morning), as UTC."""
    return local(day, rng.triangular(start, end, start + (end - start) * 0.3), tz)


def working(moment: dt.datetime, tz: str) -> bool:
    """Whether ``moment`` falls in a rep's working hours (weekdays, ``WORK_HOURS``) in ``tz``."""
    there = moment.astimezone(zone(tz))
    hours = there.hour + there.minute / 60
    return there.weekday() < 5 and WORK_HOURS[0] <= hours < WORK_HOURS[1]


def next_working(rng: random.Random, moment: dt.datetime, tz: str) -> dt.datetime:
    """``moment`` when a rep works then, else early in the next working morning in ``tz``."""
    if working(moment, tz):
        return moment
    there = moment.astimezone(zone(tz))
    day = there.date() + (DAY if there.hour >= WORK_HOURS[0] else dt.timedelta())
    while day.weekday() >= 5:
        day += DAY
    return local(day, WORK_HOURS[0] + rng.uniform(0.25, 1.75), tz)


def arrival_day(rng: random.Random, as_of: dt.date) -> dt.date:
    """The day a lead arrives: within the year before ``as_of``, growing ``MONTHLY_GROWTH`` a month, rarely
    at a weekend."""
    rate = math.log(MONTHLY_GROWTH) / 30.44
    span = math.exp(rate * WINDOW_DAYS) - 1
    for _ in range(6):  # a weekend day is kept one time in ten
        offset = math.log(1 + rng.random() * span) / rate  # inverse of the growing density over the window
        day = as_of - dt.timedelta(days=WINDOW_DAYS) + dt.timedelta(days=min(int(offset), WINDOW_DAYS - 1))
        if day.weekday() < 5 or rng.random() < 0.1:
            return day
    return day


@dataclass(frozen=True)
class Tenure:
    """When a user was there: from ``start`` (their CreatedDate) to ``until`` (None: still there)."""

    start: dt.datetime
    until: dt.datetime | None = None

    def covers(self, moment: dt.datetime) -> bool:
        """Whether the user was there at ``moment``."""
        return self.start <= moment and (self.until is None or moment < self.until)


def tenure(rng: random.Random, tz: str, as_of: dt.date, start: dt.date | None = None, end: dt.date | None = None,
           active: bool = True) -> Tenure:
    """A user's tenure: from ``start`` (a roster's) or 1 to 36 months before ``as_of``, at noon UTC (the same
    calendar day wherever the org's users are); an inactive user left between one and six months before
    ``as_of`` (a roster's ``end`` when it has one), at the end of a working day in ``tz``."""
    day = start or as_of - dt.timedelta(days=rng.randint(31, 36 * 30))
    begun = dt.datetime.combine(day, dt.time(12), dt.UTC)
    if end is not None:
        return Tenure(begun, local(end, 18.0, tz))
    if active:
        return Tenure(begun)
    left = max(day + dt.timedelta(days=30), as_of - dt.timedelta(days=rng.randint(30, 180)))
    return Tenure(begun, local(left, 18.0, tz))
