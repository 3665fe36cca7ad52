"""Steps land on business days of the lead's country, at the local send time in the lead's zone."""

from __future__ import annotations

import datetime as dt

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st

from revloops.loops.engage.schedule import non_business_reason, schedule, timezone_for

WED_BEFORE_THANKSGIVING = dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC)


def _dates(country: str, region: str | None, days: list[int], now: dt.datetime) -> list[dt.date]:
    return [s.date for s in schedule(days, now, country=country, region=region)]


def test_a_us_holiday_moves_the_us_lead_but_not_the_german_one() -> None:
    us = _dates("US", "US-NY", [0, 1, 3], WED_BEFORE_THANKSGIVING)
    de = _dates("DE", None, [0, 1, 3], WED_BEFORE_THANKSGIVING)
    # Thu 26 Nov 2026 is Thanksgiving: the US step goes to Friday; the weekend step (Sat 28) to Monday.
    assert us == [dt.date(2026, 11, 25), dt.date(2026, 11, 27), dt.date(2026, 11, 30)]
    assert de == [dt.date(2026, 11, 25), dt.date(2026, 11, 26), dt.date(2026, 11, 30)]


def test_a_german_holiday_moves_the_german_lead_but_not_the_us_one() -> None:
    wed = dt.datetime(2026, 5, 13, 5, 0, tzinfo=dt.UTC)  # Ascension Day is Thu 14 May 2026 in Germany
    slots = schedule([1], wed, country="DE")
    assert slots[0].date == dt.date(2026, 5, 15)
    assert slots[0].moved is not None and "Ascension" in slots[0].moved
    assert _dates("US", None, [1], wed) == [dt.date(2026, 5, 14)]


def test_regional_holidays_follow_the_region() -> None:
    monday = dt.datetime(2026, 1, 5, 5, 0, tzinfo=dt.UTC)  # Epiphany, Tue 6 Jan, is a holiday in Bavaria only
    assert _dates("DE", "DE-BY", [1], monday) == [dt.date(2026, 1, 7)]
    assert _dates("DE", "DE-BE", [1], monday) == [dt.date(2026, 1, 6)]


def test_send_time_is_the_local_morning_of_the_leads_zone() -> None:
    berlin = schedule([0], WED_BEFORE_THANKSGIVING, country="DE")[0]
    california = schedule([0], WED_BEFORE_THANKSGIVING, country="US", region="US-CA")[0]
    assert berlin.send_at == dt.datetime(2026, 11, 25, 8, 30, tzinfo=dt.UTC)  # 09:30 CET
    assert california.send_at == dt.datetime(2026, 11, 25, 17, 30, tzinfo=dt.UTC)  # 09:30 PST
    assert california.local.hour == 9 and california.local.minute == 30


def test_a_passed_send_time_moves_the_first_step_to_the_next_business_day() -> None:
    friday_noon = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)  # 13:00 in Berlin, past 09:30
    slot = schedule([0], friday_noon, country="DE")[0]
    assert slot.date == dt.date(2026, 11, 30) and slot.moved == "send time already passed"


def test_steps_on_different_days_never_collapse_onto_one() -> None:
    friday = dt.datetime(2026, 11, 27, 5, 0, tzinfo=dt.UTC)
    # Sat and Sun both roll to Monday; the later step goes to Tuesday so the rep does not get both at once.
    assert _dates("DE", None, [1, 2], friday) == [dt.date(2026, 11, 30), dt.date(2026, 12, 1)]
    assert _dates("DE", None, [0, 0], friday) == [dt.date(2026, 11, 27), dt.date(2026, 11, 27)]


def test_unknown_places_fall_back_to_utc_and_weekends() -> None:
    assert timezone_for("XX") == "UTC" and timezone_for(None) == "UTC"
    assert non_business_reason(dt.date(2026, 12, 25), "XX") is None  # a Friday, no known holidays
    assert non_business_reason(dt.date(2026, 12, 26), "XX") == "weekend"
    assert _dates("DE", "DE-ZZ", [0], WED_BEFORE_THANKSGIVING) == [dt.date(2026, 11, 25)]


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 1),
                       timezones=st.just(dt.UTC)),
    country=st.sampled_from(["US", "DE", "GB", "FR", "JP", "AE", "IN"]),
    gaps=st.lists(st.integers(0, 6), min_size=1, max_size=6),
)
def test_every_slot_is_a_business_day_in_order_and_never_early(start: dt.datetime, country: str,
                                                               gaps: list[int]) -> None:
    days = [sum(gaps[: i + 1]) for i in range(len(gaps))]
    slots = schedule(days, start, country=country)
    local_start = slots[0].local.tzinfo and start.astimezone(slots[0].local.tzinfo).date()
    assert local_start
    for slot, offset in zip(slots, days, strict=True):
        cal = holidays.country_holidays(country, years=slot.date.year)  # checked against the package itself
        assert slot.date not in cal and slot.date.weekday() not in cal.weekend
        assert slot.date >= local_start + dt.timedelta(days=offset)
        assert slot.send_at > start
        assert slot.local.utcoffset() is not None and slot.send_at == slot.local
    assert [s.date for s in slots] == sorted(s.date for s in slots)
