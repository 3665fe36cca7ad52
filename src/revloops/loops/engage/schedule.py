"""Business-day scheduling in the lead's own time zone, with the country's (and region's) public holidays.

A step ``day`` days after the start lands on that calendar day unless it is a weekend or a public
holiday in the lead's country, in which case it moves to the next business day; a step never lands
before an earlier step. Steps are sent at the play's local send time; a first step whose send time has
already passed today moves to the next business day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from revloops.core.calendar import (  # noqa: F401 - re-exported for callers of this module
    COUNTRY_TZ,
    REGION_TZ,
    WEEKEND,
    next_business_day,
    non_business_reason,
    timezone_for,
)


@dataclass(frozen=True)
class Slot:
    """When one step is sent.

    Attributes:
        day: the step's nominal offset in days.
        date: the local business day it lands on.
        send_at: the send instant (aware, UTC).
        local: the send time in the lead's zone (aware).
        moved: why it moved off its nominal day (``weekend``, a holiday's name, ``after previous step``...).
    """

    day: int
    date: dt.date
    send_at: dt.datetime
    local: dt.datetime
    moved: str | None = None


def schedule(days: Sequence[int], now: dt.datetime, *, country: str | None, region: str | None = None,
             tz: str | None = None, send_time: dt.time = dt.time(9, 30)) -> list[Slot]:
    """Send slots for step offsets ``days`` (ascending) counted from ``now``'s local date.

    Args:
        days: each step's calendar-day offset from the start.
        now: the start instant (aware).
        country: ISO alpha-2 country of the lead (its holidays and weekend).
        region: ISO 3166-2 region (regional holidays, and the zone where a country spans several).
        tz: the lead's IANA zone; derived from country and region when None.
        send_time: the local time of day steps are sent at.
    """
    zone = _zone(tz or timezone_for(country, region))
    start = now.astimezone(zone).date()
    slots: list[Slot] = []
    for offset in days:
        nominal = start + dt.timedelta(days=offset)
        day, moved = nominal, None
        reason = non_business_reason(day, country, region)
        if reason is not None:
            day, moved = next_business_day(day, country, region), f"{reason} on {nominal.isoformat()}"
        if _at(day, send_time, zone) <= now:  # today's send time has passed
            day = next_business_day(day + dt.timedelta(days=1), country, region)
            moved = moved or "send time already passed"
        if slots and (day < slots[-1].date or (day == slots[-1].date and offset > slots[-1].day)):
            day = next_business_day(slots[-1].date + dt.timedelta(days=1), country, region)
            moved = "after the previous step"
        local = _at(day, send_time, zone)
        slots.append(Slot(offset, day, local.astimezone(dt.UTC), local, moved))
    return slots


def _at(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=zone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
