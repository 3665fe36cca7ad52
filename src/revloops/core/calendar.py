"""Business days and time zones by place: a country's (and region's) public holidays from ``holidays``, its
weekend, and its main IANA zone. Engage schedules a sequence's steps on them, the milestone engine counts a
plan's offsets in them.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

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


def add_business_days(day: dt.date, days: int, country: str | None, region: str | None = None) -> dt.date:
    """The business day ``days`` business days after ``day`` (0: ``day`` itself when it is one, else the next)."""
    out = next_business_day(day, country, region)
    for _ in range(days):
        out = next_business_day(out + dt.timedelta(days=1), country, region)
    return out
