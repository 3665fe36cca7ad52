"""The vectorised capacity model against the reference loop, the Monte Carlo, the hiring gap, explanations."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revloops.loops.design import logic
from revloops.loops.design.config import (
    Assumptions,
    CapacityConfig,
    Productivity,
    RampCurve,
    RosterEntry,
    ScenarioFile,
    Targets,
    TerritoriesFile,
)
from revloops.loops.design.gap import HireSuggestion, hiring_gap, seats_closing
from revloops.loops.design.inherit import Scenario, merge
from revloops.loops.design.plan import Plan, compile_plan
from revloops.loops.design.reference import reference_figures, reference_percentiles, reference_simulate
from tests.unit.test_design_support import load, write_config

TERRITORIES = TerritoriesFile.model_validate({
    "model": {"developer_name": "M", "name": "M"},
    "types": [{"developer_name": "Geo", "label": "Geo", "priority": 1}],
    "territories": [{"developer_name": "Global", "name": "G", "type": "Geo"},
                    {"developer_name": "NA", "name": "NA", "type": "Geo", "parent": "Global"},
                    {"developer_name": "NA_West", "name": "W", "type": "Geo", "parent": "NA"},
                    {"developer_name": "EMEA", "name": "E", "type": "Geo", "parent": "Global"}],
})
NAMES = ["Global", "NA", "NA_West", "EMEA"]
SEGMENTS = ["smb", "ent"]
MOTIONS = ["in", "out"]


def _capacity(start_month: int) -> CapacityConfig:
    return CapacityConfig.model_validate({
        "active_scenario": "s", "fiscal_year_start": start_month,
        "segments": [{"id": "smb", "label": "S", "employees": {"max": 199}}, {"id": "ent", "label": "E"}],
        "motions": [{"id": "in", "label": "In", "role": "AE"}, {"id": "out", "label": "Out", "role": "AE"},
                    {"id": "mgr", "label": "Mgr", "role": "Manager"}],
    })


dates = st.dates(min_value=date(2023, 1, 1), max_value=date(2028, 12, 31))


@st.composite
def entries(draw: st.DrawFn, i: int) -> RosterEntry:
    start = draw(dates)
    end = draw(st.none() | st.dates(min_value=start, max_value=date(2029, 12, 31)))
    rep = draw(st.booleans())
    return RosterEntry(id=f"e{i}", kind="rep" if rep else "seat", user=f"u{i}@x.example" if rep else None,
                       name=f"U{i}" if rep else None, role=draw(st.sampled_from(["AE", "SDR"])),
                       motion=draw(st.sampled_from([*MOTIONS, None])), segment=draw(st.sampled_from(SEGMENTS)),
                       territory=draw(st.sampled_from(NAMES)), start=start, end=end)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Scenario, CapacityConfig]:
    n = draw(st.integers(0, 8))
    roster = [draw(entries(i)) for i in range(n)]
    ramps = {}
    for motion in MOTIONS:
        steps = draw(st.lists(st.floats(0, 0.5), min_size=1, max_size=6))
        ramps[motion] = RampCurve(months=[min(1.0, float(v)) for v in np.cumsum(steps)])
    rows = {}
    for _ in range(draw(st.integers(1, 5))):
        row = Productivity(motion=draw(st.sampled_from(MOTIONS)), segment=draw(st.sampled_from(["*", *SEGMENTS])),
                           territory=draw(st.sampled_from(["*", *NAMES])), monthly=draw(st.floats(0, 1e5)),
                           quarterly=draw(st.dictionaries(st.sampled_from(["Q1", "Q2", "Q3", "Q4"]),
                                                          st.floats(0, 1e5), max_size=2)))
        rows[row.key()] = row
    file = ScenarioFile(
        fiscal_year=2026, months=draw(st.integers(1, 30)), roster=roster, ramp_curves=ramps,
        productivity=list(rows.values()),
        targets=Targets(annual_bookings=1e6, quarterly=[1e5, 2e5, 3e5, 4e5], by_segment={"smb": 4e5, "ent": 6e5},
                        annual_growth=draw(st.floats(0, 0.5))),
        assumptions=Assumptions(annual_attrition={"AE": draw(st.floats(0, 0.6))},
                                default_attrition=draw(st.floats(0, 0.5)),
                                productivity_cv={"in": draw(st.floats(0, 1))}),
    )
    return merge({"s": file}, "s"), _capacity(draw(st.integers(1, 12)))


def _close(a: np.ndarray, b: np.ndarray) -> bool:  # type: ignore[type-arg]
    return bool(np.allclose(a, b, rtol=1e-9, atol=1e-6))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(0, 2**31 - 1))
def test_vectorised_model_agrees_with_the_reference_loop(case: tuple[Scenario, CapacityConfig], seed: int) -> None:
    scenario, capacity = case
    plan = compile_plan(scenario, capacity, TERRITORIES)
    fast, slow = logic.figures(plan), reference_figures(scenario, capacity, TERRITORIES)
    assert fast.months == slow.months
    assert _close(fast.rep_month, slow.rep_month)
    assert _close(fast.month_capacity, slow.month_capacity) and _close(fast.month_target, slow.month_target)
    for name in ("by_segment", "by_territory", "by_motion", "segment_target"):
        left, right = getattr(fast, name), getattr(slow, name)
        assert left.keys() == right.keys()
        assert all(_close(left[k], right[k]) for k in left)
    draws = logic.make_draws(25, plan.size, seed)
    sim, ref = logic.simulate(plan, draws), reference_simulate(scenario, capacity, TERRITORIES, draws)
    assert _close(sim.totals, ref.totals) and _close(sim.by_segment, ref.by_segment)
    assert np.allclose(logic.percentiles(sim.totals), reference_percentiles(ref.totals.tolist()), rtol=1e-9)


def _example_plan(tmp_path: Path, scenario: str = "base") -> Plan:
    cfg = load(write_config(tmp_path))
    from revloops.loops.design.flow import load_plan

    return load_plan(cfg, scenario)


def test_hand_computed_capacity_of_one_rep(tmp_path: Path) -> None:
    plan = _example_plan(tmp_path)
    fig = logic.figures(plan)
    a2 = [e.id for e in plan.entries].index("a2")
    # a2 starts 2026-03 (horizon month 2) on ramp [0.25, 0.5, 1.0] at 50,000/month (EMEA has no own row),
    # AE attrition 10%/yr: survival (0.9)^(k/12) k months after the first month
    p = 1 - 0.9 ** (1 / 12)
    expected = [0, 0, 12500, 25000 * (1 - p), 50000 * (1 - p) ** 2]
    assert np.allclose(fig.rep_month[a2, :5], expected)
    s1 = [e.id for e in plan.entries].index("s1")
    assert fig.rep_month[s1, 5] == 0.25 * 80000  # NA_East inherits the NA enterprise row


def test_monte_carlo_percentiles_are_ordered_deterministic_and_centred(tmp_path: Path) -> None:
    plan = _example_plan(tmp_path)
    first = logic.simulate(plan, logic.make_draws(4000, plan.size, 11))
    again = logic.simulate(plan, logic.make_draws(4000, plan.size, 11))
    other = logic.simulate(plan, logic.make_draws(4000, plan.size, 12))
    p10, p50, p90 = logic.percentiles(first.totals)
    assert p10 < p50 < p90
    assert np.array_equal(first.totals, again.totals)
    assert not np.array_equal(first.totals, other.totals)
    # the draws are built so their mean is the expected (attrition-adjusted) capacity
    expected = logic.figures(plan).month_capacity.sum()
    assert abs(first.totals.mean() - expected) / expected < 0.03


def test_hiring_gap_seats_close_the_gap(tmp_path: Path) -> None:
    plan = _example_plan(tmp_path)
    gap = hiring_gap(plan, plan.capacity, plan.hierarchy)
    short = [g for g in gap if g.shortfall > 0]
    assert short, "the small config is built to fall short"
    roster = list(plan.entries)
    for g in short:
        assert g.seats and g.start_by and g.open_requisition_by
        assert g.start_by >= g.earliest_start  # type: ignore[operator]
        roster += seats_closing(g)
    closed = logic.figures(compile_plan(plan.scenario.with_roster(tuple(roster)), plan.capacity, plan.hierarchy))
    for g in short:
        assert closed.by_segment[g.group].sum() >= closed.segment_target[g.group].sum() * (1 - 1e-9)


def _capacity_with(plan: Plan, g: HireSuggestion, seats: int, start: date) -> float:
    extra = seats_closing(g.model_copy(update={"seats": seats, "start_by": start}))
    figs = logic.figures(compile_plan(plan.scenario.with_roster(plan.entries + tuple(extra)),
                                      plan.capacity, plan.hierarchy))
    return float(figs.by_segment[g.group].sum())


def test_hiring_gap_is_minimal_and_start_by_is_the_latest(tmp_path: Path) -> None:
    plan = _example_plan(tmp_path)
    for g in (g for g in hiring_gap(plan, plan.capacity, plan.hierarchy) if g.seats):
        assert g.earliest_start is not None and g.start_by is not None and g.seats is not None
        # one fewer seat is not enough, even at the earliest start
        assert _capacity_with(plan, g, g.seats - 1, g.earliest_start) < g.target
        later = date(g.start_by.year + g.start_by.month // 12, g.start_by.month % 12 + 1, 1)
        if later <= date(2026, 12, 1):
            assert _capacity_with(plan, g, g.seats, later) < g.target  # a month later is too late


def test_explanation_adds_up_to_the_figure(tmp_path: Path) -> None:
    plan = _example_plan(tmp_path)
    figs = logic.figures(plan)
    ex = logic.explain(plan, {"territory": "NA"}, "FY2026-Q2")
    assert np.isclose(ex.value, figs.by_territory["NA"][3:6].sum())
    assert {c.id for c in ex.contributions} == {"mgr", "a1", "s1"}  # all NA entries, NA_West and NA_East too
    assert ex.target is not None and np.isclose(ex.target, 1.2e6 * 400000 / 1.8e6)
    s1 = next(c for c in ex.contributions if c.id == "s1")
    assert [d.tenure_month for d in s1.months] == [0] and s1.months[0].ramp == 0.25
    assert np.isclose(sum(d.capacity for c in ex.contributions for d in c.months), ex.value)
