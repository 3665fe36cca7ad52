"""The milestone engine (pure): a plan's graph is checked at load, offsets count the place's business days,
and a plan's state follows what was actually completed, skipped and moved."""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from pathlib import Path
from typing import Any

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from revloops.config.loader import load_config
from revloops.core.errors import ConfigErrors
from revloops.core.milestones import Milestone, MilestonePlan, MilestoneState, Place, schedule, task_key

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
D = dt.date
MON = D(2026, 3, 2)  # a Monday with no holiday in sight in the US or Germany


def ms(id: str, offset: int = 1, after: list[str] | None = None, **more: Any) -> dict[str, Any]:
    return {"id": id, "subject": id.title(), "offset_days": offset, "after": after or [], **more}


def plan(*milestones: dict[str, Any]) -> MilestonePlan:
    return MilestonePlan(milestones=[Milestone(**m) for m in milestones])


def problems(*milestones: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as info:
        MilestonePlan(milestones=list(milestones))
    return [(tuple(e["loc"]), e["msg"]) for e in info.value.errors()]


@functools.cache
def _holidays(country: str, region: str | None, year: int) -> frozenset[dt.date]:
    subdiv = region.split("-", 1)[1] if region else None
    return frozenset(holidays.country_holidays(country, subdiv=subdiv, years=year))


def is_business_day(day: dt.date, country: str | None, region: str | None = None) -> bool:
    """Independent of ``core.calendar``: the holidays package and a Saturday/Sunday weekend."""
    if day.weekday() >= 5:
        return False
    return country is None or day not in _holidays(country, region, day.year)


def first_business_day(day: dt.date, country: str | None, region: str | None = None) -> dt.date:
    while not is_business_day(day, country, region):
        day += dt.timedelta(days=1)
    return day


def business_days_between(start: dt.date, end: dt.date, country: str | None, region: str | None = None) -> int:
    """How many business days lie in (start, end]."""
    return sum(1 for n in range(1, (end - start).days + 1)
               if is_business_day(start + dt.timedelta(days=n), country, region))


# -- the graph, checked at load ------------------------------------------------------------------------


def test_an_after_naming_no_milestone_is_reported_at_its_item() -> None:
    [(loc, msg)] = problems(ms("kickoff"), ms("review", after=["kickoff", "kikcoff"]))
    assert loc == ("milestones", 1, "after", 1)
    assert "'kikcoff'" in msg and "not a milestone of this plan" in msg


def test_a_milestone_after_itself_is_reported() -> None:
    [(loc, msg)] = problems(ms("kickoff"), ms("review", after=["review"]))
    assert loc == ("milestones", 1, "after", 0)
    assert "'review' comes after itself" in msg


def test_a_three_cycle_is_reported_naming_its_milestones_in_order() -> None:
    listed = [ms("start"), ms("a", after=["start", "c"]), ms("b", after=["a"]), ms("c", after=["b"])]
    [(loc, msg)] = problems(*listed)
    assert "cycle" in msg
    chain = msg.split(": ", 1)[1].split(" → ")
    assert chain[0] == chain[-1] and set(chain) == {"a", "b", "c"} and len(chain) == 4
    assert loc[0] == "milestones" and loc[2] == "after" and listed[int(loc[1])]["id"] == chain[0]
    after = {"a": ["start", "c"], "b": ["a"], "c": ["b"]}
    assert all(nxt in after[here] for here, nxt in zip(chain, chain[1:], strict=False))  # each follows an edge
    assert "start" not in msg


def test_duplicate_ids_are_reported_at_the_second() -> None:
    [(loc, msg)] = problems(ms("kickoff"), ms("review"), ms("kickoff", offset=3))
    assert loc == ("milestones", 2, "id")
    assert "duplicate milestone id 'kickoff'" in msg


def test_several_problems_are_all_reported() -> None:
    found = problems(ms("a", after=["a"]), ms("b", after=["zz"]), ms("b"))
    assert {loc for loc, _ in found} == {("milestones", 0, "after", 0), ("milestones", 1, "after", 0),
                                         ("milestones", 2, "id")}


@pytest.mark.parametrize("old, new, cycle", [
    # a 3-cycle through the first milestone
    ('{id: discovery, subject: "Discovery call with {account}", offset_days: 2}',
     '{id: discovery, subject: "Discovery call with {account}", offset_days: 2, after: [security-review]}',
     "discovery → security-review → technical-validation → discovery"),
    # a 2-cycle whose `after` sits on the second line of a flow mapping
    ("owner_role: SE,\n         after: [discovery]}", "owner_role: SE,\n         after: [discovery, proposal]}",
     "technical-validation → proposal → technical-validation"),
])
def test_a_cycle_in_a_deal_play_is_reported_at_its_line(tmp_path: Path, old: str, new: str, cycle: str) -> None:
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE, config)
    path = config / "pursue" / "deal_plays.yaml"
    text = path.read_text()
    assert text.count(old) == 1
    path.write_text(text.replace(old, new))
    with pytest.raises(ConfigErrors) as info:
        load_config(config)
    [problem] = [str(e) for e in info.value.errors]
    changed = new.splitlines()[-1].strip()
    line = next(i for i, row in enumerate(path.read_text().splitlines(), start=1) if changed in row)
    assert f"pursue/deal_plays.yaml:{line}:" in problem
    assert f"in a cycle: {cycle}" in problem


# -- business days -------------------------------------------------------------------------------------


@pytest.mark.parametrize("place, start, offset, due", [
    (Place("US"), D(2026, 11, 25), 1, D(2026, 11, 27)),  # Thanksgiving (Thu 26th) is skipped
    (Place("US"), D(2026, 12, 24), 1, D(2026, 12, 28)),  # Christmas on a Friday, then the weekend
    (Place("US"), D(2026, 12, 31), 1, D(2027, 1, 4)),  # New Year's Day of the next year
    (Place("US"), D(2026, 5, 22), 1, D(2026, 5, 26)),  # Memorial Day
    (Place("DE"), D(2026, 4, 30), 1, D(2026, 5, 4)),  # Labour Day (Fri 1 May) in Germany...
    (Place("US"), D(2026, 4, 30), 1, D(2026, 5, 1)),  # ...is a working day in the US
    (Place("DE"), D(2026, 5, 13), 1, D(2026, 5, 15)),  # Ascension Day
    (Place("US", "US-CA"), D(2026, 11, 25), 1, D(2026, 11, 30)),  # California also rests the day after
    (Place("US", "US-CA"), D(2026, 3, 30), 1, D(2026, 4, 1)),  # César Chávez Day
    (Place("US"), D(2026, 3, 30), 1, D(2026, 3, 31)),
    (Place("CA", "CA-QC"), D(2026, 6, 23), 1, D(2026, 6, 25)),  # Saint-Jean-Baptiste in Québec...
    (Place("CA", "CA-ON"), D(2026, 6, 23), 1, D(2026, 6, 24)),  # ...not in Ontario
    (Place("DE", "DE-BY"), D(2026, 6, 3), 1, D(2026, 6, 5)),  # Corpus Christi in Bavaria...
    (Place("DE", "DE-BE"), D(2026, 6, 3), 1, D(2026, 6, 4)),  # ...not in Berlin
    (Place(), D(2026, 12, 24), 1, D(2026, 12, 25)),  # no country: weekends only
    (Place("US"), MON, 5, MON + dt.timedelta(days=7)),  # a week of business days spans one weekend
    (Place("US"), D(2026, 11, 28), 0, D(2026, 11, 30)),  # 0 from a Saturday: the next business day
])
def test_offsets_count_the_places_business_days(place: Place, start: dt.date, offset: int, due: dt.date) -> None:
    assert place.add(start, offset, True) == due
    [state] = schedule(plan(ms("only", offset)), start, today=start, place=place).values()
    assert state.due == due and state.status == "open"


def test_calendar_days_count_weekends_and_holidays() -> None:
    p = plan(ms("call", 1, business_days=False), ms("follow-up", 3, after=["call"], business_days=False))
    states = schedule(p, D(2026, 12, 24), today=D(2026, 12, 24), place=Place("US"),
                      completed={"call": D(2026, 12, 25)})
    assert states["call"].due == D(2026, 12, 25)
    assert states["follow-up"].due == D(2026, 12, 28)  # Christmas, then Sat, Sun: all counted


# -- schedule semantics --------------------------------------------------------------------------------

DEAL = plan(ms("discovery", 2), ms("validation", 5, ["discovery"]), ms("business-case", 3, ["discovery"]),
            ms("proposal", 2, ["business-case", "validation"]))


def test_a_dependent_waits_for_all_of_its_predecessors() -> None:
    states = schedule(DEAL, MON, today=MON, place=Place("US"), completed={"discovery": D(2026, 3, 4)})
    assert [states[m].status for m in ("discovery", "validation", "business-case", "proposal")] == \
        ["done", "open", "open", "waiting"]
    states = schedule(DEAL, MON, today=MON, place=Place("US"),
                      completed={"discovery": D(2026, 3, 4), "business-case": D(2026, 3, 6)})
    assert states["proposal"].status == "waiting"


def test_a_dependent_counts_from_its_last_predecessors_actual_completion() -> None:
    done = {"discovery": D(2026, 3, 4), "validation": D(2026, 3, 16), "business-case": D(2026, 3, 10)}
    states = schedule(DEAL, MON, today=MON, place=Place("US"), completed=done)
    assert states["proposal"].status == "open"
    assert states["proposal"].due == D(2026, 3, 18)  # 2 business days after Mon 16th, validation being last
    assert states["proposal"].basis == "validation done"
    assert states["validation"].due == D(2026, 3, 11) and states["validation"].basis == "discovery done"


@pytest.mark.parametrize("completed_on, due", [
    (D(2026, 3, 4), D(2026, 3, 11)),  # on time (due Wed 4th): Wed + 5 business days
    (D(2026, 3, 2), D(2026, 3, 9)),  # early
    (D(2026, 3, 13), D(2026, 3, 20)),  # late
    (D(2026, 3, 14), D(2026, 3, 23)),  # completed on a Saturday: counts from the Monday
])
def test_early_and_late_completion_both_move_the_dependent(completed_on: dt.date, due: dt.date) -> None:
    states = schedule(DEAL, MON, today=MON, place=Place("US"), completed={"discovery": completed_on})
    assert states["discovery"].due == D(2026, 3, 4)
    assert states["validation"].due == due and states["validation"].status == "open"
    assert business_days_between(first_business_day(completed_on, "US"), due, "US") == 5


def test_an_overdue_predecessor_projects_its_dependents_from_today() -> None:
    on_time = schedule(DEAL, MON, today=MON, place=Place("US"))
    assert on_time["validation"].status == "waiting"
    assert on_time["validation"].due == D(2026, 3, 11) and on_time["validation"].basis == "discovery due"
    today = D(2026, 3, 10)  # discovery was due on the 4th and is not done
    late = schedule(DEAL, MON, today=today, place=Place("US"))
    assert late["discovery"].due == D(2026, 3, 4) and late["discovery"].status == "open"
    assert late["validation"].due == D(2026, 3, 17) and late["validation"].basis == "discovery overdue"
    # and the chain after it follows: proposal waits on business-case (today + 3) and validation (today + 5)
    assert late["proposal"].due == D(2026, 3, 19)


def test_a_moved_due_date_wins_and_its_dependents_follow() -> None:
    states = schedule(DEAL, MON, today=MON, place=Place("US"), moved={"discovery": D(2026, 3, 9)})
    assert states["discovery"].due == D(2026, 3, 9) and states["discovery"].basis == "moved"
    assert states["validation"].due == D(2026, 3, 16)
    assert states["business-case"].due == D(2026, 3, 12)
    moved_dependent = schedule(DEAL, MON, today=MON, place=Place("US"), completed={"discovery": MON},
                               moved={"validation": D(2026, 3, 20)})
    assert moved_dependent["validation"].due == D(2026, 3, 20)
    assert moved_dependent["proposal"].due == D(2026, 3, 24)


def test_a_skipped_predecessor_holds_nothing_up() -> None:
    p = plan(ms("kickoff", 1), ms("security", 10, ["kickoff"]), ms("proposal", 2, ["kickoff", "security"]))
    states = schedule(p, MON, today=MON, place=Place("US"), completed={"kickoff": D(2026, 3, 3)},
                      skipped=frozenset({"security"}))
    assert states["security"].status == "skipped" and states["security"].due is None
    assert states["proposal"].status == "open"
    assert states["proposal"].due == D(2026, 3, 5) and states["proposal"].basis == "kickoff done"
    alone = plan(ms("security", 10, when={"StageName": {"eq": "Proposal"}}), ms("close", 2, ["security"]))
    states = schedule(alone, MON, today=MON, skipped=frozenset({"security"}))
    assert states["close"].status == "open" and states["close"].due == D(2026, 3, 4)
    assert states["close"].basis == "start"


def test_a_plan_is_ordered_after_its_dependencies_whatever_order_it_is_listed_in() -> None:
    listed = plan(ms("proposal", 2, ["business-case", "validation"]), ms("validation", 5, ["discovery"]),
                  ms("business-case", 3, ["discovery"]), ms("discovery", 2))
    order = [m.id for m in listed.order()]
    assert sorted(order) == sorted(m.id for m in listed.milestones)
    assert order.index("discovery") < order.index("validation") < order.index("proposal")
    assert order.index("business-case") < order.index("proposal")
    assert order == ["discovery", "validation", "business-case", "proposal"]  # listed order where free
    assert list(schedule(listed, MON, today=MON)) == order
    assert schedule(listed, MON, today=MON) == schedule(DEAL, MON, today=MON)


def test_a_task_key_names_the_plan_and_milestone() -> None:
    assert task_key("pursue:006A", "discovery") == "plan:pursue:006A:discovery"
    assert task_key("pursue:006A", "x") != task_key("pursue:006AB", "x")


# -- invariants over random plans ----------------------------------------------------------------------

PLACES = [Place(), Place("US"), Place("US", "US-CA"), Place("DE", "DE-BY"), Place("CA", "CA-QC"), Place("GB")]


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 9))
    ids = [f"m{i}" for i in range(n)]
    raw = []
    for i, mid in enumerate(ids):
        after = draw(st.lists(st.sampled_from(ids[:i]), unique=True, max_size=3)) if i else []
        raw.append(ms(mid, draw(st.integers(0, 15)), after, business_days=draw(st.booleans())))
    start = draw(st.dates(D(2025, 11, 1), D(2027, 2, 1)))
    chosen = draw(st.sets(st.sampled_from(ids)))
    completed_ids: set[str] = set()
    by_id = {m["id"]: m for m in raw}

    def close(mid: str) -> None:
        if mid not in completed_ids:
            completed_ids.add(mid)
            for dep in by_id[mid]["after"]:
                close(dep)

    for mid in chosen:
        close(mid)
    completed = {mid: start + dt.timedelta(days=draw(st.integers(0, 60))) for mid in sorted(completed_ids)}
    open_ids = [m for m in ids if m not in completed]
    skipped = frozenset(draw(st.sets(st.sampled_from(open_ids)))) if open_ids else frozenset()
    order = draw(st.permutations(raw))
    return {"raw": raw, "listed": order, "start": start, "completed": completed, "skipped": skipped,
            "today": start + dt.timedelta(days=draw(st.integers(0, 90))), "place": draw(st.sampled_from(PLACES))}


def _run(case: dict[str, Any], key: str = "raw") -> dict[str, MilestoneState]:
    return schedule(plan(*case[key]), case["start"], today=case["today"], place=case["place"],
                    completed=case["completed"], skipped=case["skipped"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_schedule_invariants(case: dict[str, Any]) -> None:
    states = _run(case)
    place: Place = case["place"]
    assert set(states) == {m["id"] for m in case["raw"]}
    for m in case["raw"]:
        s = states[m["id"]]
        live = [states[d] for d in m["after"] if states[d].status != "skipped"]
        all_done = all(p.status == "done" for p in live)
        if s.status == "skipped":
            assert m["id"] in case["skipped"] and s.due is None
            continue
        assert s.due is not None
        if s.status in ("open", "done"):
            assert all_done, (m, s, live)
        if s.status == "waiting":
            assert not all_done, (m, s, live)
            assert s.due >= case["today"]  # a projection never lies in the past
        if s.status == "open":
            floor = max([p.completed_on for p in live if p.completed_on] or [case["start"]])
            assert all(s.due >= p.completed_on for p in live if p.completed_on)
            assert s.due >= case["start"]
            if live:
                named = s.basis.removesuffix(" done")
                assert states[named].completed_on == floor  # counted from the last predecessor done
            if m["business_days"]:
                # a completion on a non-business day counts from the next business day
                rolled = first_business_day(floor, place.country, place.region)
                assert is_business_day(s.due, place.country, place.region)
                assert business_days_between(rolled, s.due, place.country, place.region) == m["offset_days"]
            else:
                assert s.due == floor + dt.timedelta(days=m["offset_days"])
        if m["id"] in case["completed"]:
            assert s.status == "done" and s.completed_on == case["completed"][m["id"]]
        elif not m["after"]:
            assert s.status == "open"  # nothing to wait for


@settings(max_examples=150, deadline=None)
@given(cases())
def test_schedule_is_deterministic_and_independent_of_the_listed_order(case: dict[str, Any]) -> None:
    first = _run(case)
    assert _run(case) == first
    assert _run(case, "listed") == first
    order = [m.id for m in plan(*case["listed"]).order()]
    position = {mid: i for i, mid in enumerate(order)}
    assert all(position[d] < position[m["id"]] for m in case["raw"] for d in m["after"])


@settings(max_examples=150, deadline=None)
@given(cases(), st.integers(1, 30))
def test_completing_a_predecessor_later_never_brings_a_dependent_forward(case: dict[str, Any], later: int) -> None:
    if not case["completed"]:
        return
    first = _run(case)
    mid = sorted(case["completed"])[0]
    slipped = {**case, "completed": {**case["completed"], mid: case["completed"][mid] + dt.timedelta(days=later)}}
    second = _run(slipped)
    for m in case["raw"]:
        a, b = first[m["id"]], second[m["id"]]
        assert a.status == b.status
        if a.due is not None and b.due is not None and m["id"] != mid:
            assert b.due >= a.due, m
