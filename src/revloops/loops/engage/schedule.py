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
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

# The main time zone of a country; regions override it where a country spans several.
COUNTRY_TZ: dict[str, str] = {
    "US": "America/New_York", "CA": "America/Toronto", "MX": "America/Mexico_City", "BR": "America/Sao_Paulo",
    "AR": "America/Argentina/Buenos_Aires", "CL": "America/Santiago", "CO": "America/Bogota", "PE": "America/Lima",
    "GB": "Europe/London", "IE": "Europe/Dublin", "PT": "Europe/Lisbon", "ES": "Europe/Madrid",
    "FR": "Europe/Paris", "BE": "Europe/Brussels", "NL": "Europe/Amsterdam", "LU": "Europe/Luxembourg",
    "DE": "Europe/Berlin", "AT": "Europe/Vienna", "CH": "Europe/Zurich", "IT": "Europe/Rome",
    "DK": "Europe/Copenhagen", "NO": "Europe/Oslo", "SE": "Europe/Stockholm", "FI": "Europe/Helsinki",
    "IS": "Atlantic/Reykjavik", "PL": "Europe/Warsaw", "CZ": "Europe/Prague", "SK": "Europe/Bratislava",
    "HU": "Europe/Budapest", "RO": "Europe/Bucharest", "BG": "Europe/Sofia", "GR": "Europe/Athens",
    "TR": "Europe/Istanbul", "UA": "Europe/Kyiv", "EE": "Europe/Tallinn", "LV": "Europe/Riga",
    "LT": "Europe/Vilnius", "HR": "Europe/Zagreb", "SI": "Europe/Ljubljana", "RS": "Europe/Belgrade",
    "IL": "Asia/Jerusalem", "AE": "Asia/Dubai", "SA": "Asia/Riyadh", "QA": "Asia/Qatar", "EG": "Africa/Cairo",
    "ZA": "Africa/Johannesburg", "NG": "Africa/Lagos", "KE": "Africa/Nairobi", "MA": "Africa/Casablanca",
    "IN": "Asia/Kolkata", "PK": "Asia/Karachi", "SG": "Asia/Singapore", "MY": "Asia/Kuala_Lumpur",
    "TH": "Asia/Bangkok", "VN": "Asia/Ho_Chi_Minh", "ID": "Asia/Jakarta", "PH": "Asia/Manila",
    "CN": "Asia/Shanghai", "HK": "Asia/Hong_Kong", "TW": "Asia/Taipei", "KR": "Asia/Seoul", "JP": "Asia/Tokyo",
    "AU": "Australia/Sydney", "NZ": "Pacific/Auckland",
}
_US_CENTRAL = "AL AR IL IA KS LA MN MS MO NE ND OK SD TN TX WI"
_US_MOUNTAIN = "CO ID MT NM UT WY"
_US_PACIFIC = "CA NV OR WA"
REGION_TZ: dict[str, str] = {
    **{f"US-{s}": "America/Chicago" for s in _US_CENTRAL.split()},
    **{f"US-{s}": "America/Denver" for s in _US_MOUNTAIN.split()},
    **{f"US-{s}": "America/Los_Angeles" for s in _US_PACIFIC.split()},
    "US-AZ": "America/Phoenix", "US-AK": "America/Anchorage", "US-HI": "Pacific/Honolulu",
    "CA-BC": "America/Vancouver", "CA-AB": "America/Edmonton", "CA-SK": "America/Regina",
    "CA-MB": "America/Winnipeg", "CA-NS": "America/Halifax", "CA-NB": "America/Moncton",
    "CA-NL": "America/St_Johns", "CA-QC": "America/Toronto",
    "AU-WA": "Australia/Perth", "AU-SA": "Australia/Adelaide", "AU-NT": "Australia/Darwin",
    "AU-QLD": "Australia/Brisbane", "AU-VIC": "Australia/Melbourne", "AU-TAS": "Australia/Hobart",
    "BR-AM": "America/Manaus", "MX-BCN": "America/Tijuana", "ES-CN": "Atlantic/Canary",
}
WEEKEND = frozenset({5, 6})


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


def timezone_for(country: str | None, region: str | None = None) -> str:
    """The IANA zone for an ISO country (alpha-2) and optional ISO 3166-2 region; UTC when unknown."""
    if region and region in REGION_TZ:
        return REGION_TZ[region]
    return COUNTRY_TZ.get((country or "").upper(), "UTC")


@lru_cache(maxsize=512)
def _calendar(country: str | None, region: str | None, year: int) -> tuple[dict[dt.date, str], frozenset[int]]:
    if not country:
        return {}, WEEKEND
    subdiv = region.split("-", 1)[1] if region and "-" in region else None
    # An unknown subdivision falls back to the national calendar; an unknown country to weekends only.
    for sub in (subdiv, None) if subdiv else (None,):
        try:
            cal = holidays.country_holidays(country, subdiv=sub, years=year)
        except NotImplementedError:
            continue
        weekend = frozenset(getattr(cal, "weekend", WEEKEND))
        return {d: str(name) for d, name in cal.items()}, weekend
    return {}, WEEKEND


def non_business_reason(day: dt.date, country: str | None, region: str | None = None) -> str | None:
    """Why ``day`` is not a business day in the place (a holiday's name, or ``weekend``), None when it is one."""
    named, weekend = _calendar(country, region, day.year)
    if day in named:
        return named[day]
    if day.weekday() in weekend:
        return "weekend"
    return None


def next_business_day(day: dt.date, country: str | None, region: str | None = None) -> dt.date:
    """``day`` itself when it is a business day, else the first one after it."""
    for _ in range(60):  # more than any run of holidays and weekends
        if non_business_reason(day, country, region) is None:
            return day
        day += dt.timedelta(days=1)
    return day


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
