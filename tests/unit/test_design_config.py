"""Design's config: every kind of bad input is reported at its file and line; what other loops read."""

from __future__ import annotations

from pathlib import Path

import pytest

from revloops.loops.design.config import active_roster, active_roster_usernames
from revloops.loops.design.logic import segment_of
from tests.unit.test_design_support import (
    BASE,
    CAPACITY,
    CHILD,
    TERRITORIES,
    errors_of,
    find,
    line_of,
    load,
    write_config,
)

SCEN = "scenarios/base.yaml"


def test_the_small_config_and_the_example_org_load(tmp_path: Path) -> None:
    cfg = load(write_config(tmp_path))
    assert set(cfg.get("scenarios")) == {"base", "child"}
    example = load(Path(__file__).resolve().parents[2] / "examples" / "acme" / "config")
    assert set(example.get("scenarios")) == {"base", "aggressive_hiring", "flat"}


@pytest.mark.parametrize("field,old,new,words", [
    ("territory", "territory: EMEA, manager", "territory: Atlantis, manager", "unknown territory 'Atlantis'"),
    ("segment", "segment: smb, territory: NA_West", "segment: tiny, territory: NA_West", "unknown segment 'tiny'"),
    ("motion", "motion: inbound_ae, segment: ent, territory: EMEA",
     "motion: outbound_ae, segment: ent, territory: EMEA", "unknown motion 'outbound_ae'"),
    ("role", "role: Manager, territory: NA", "role: VP, territory: NA", "unknown role 'VP'"),
])
def test_roster_entry_naming_an_unknown_thing(tmp_path: Path, field: str, old: str, new: str, words: str) -> None:
    bad = BASE.replace(old, new)
    file, line = find(errors_of(write_config(tmp_path, base=bad)), SCEN, words)
    assert line == line_of(bad, new)


def test_unknown_segment_in_targets_split_is_reported_on_its_key(tmp_path: Path) -> None:
    bad = BASE.replace("by_segment: {smb: 600000, ent: 1200000}", "by_segment: {smb: 600000, midmarket: 1200000}")
    _, line = find(errors_of(write_config(tmp_path, base=bad)), SCEN, "unknown segment 'midmarket'")
    assert line == line_of(bad, "midmarket")


def test_ramp_curve_that_goes_down(tmp_path: Path) -> None:
    bad = BASE.replace("inbound_ae: {months: [0.25, 0.5, 1.0]}", "inbound_ae: {months: [0.25, 0.6, 0.5, 1.0]}")
    _, line = find(errors_of(write_config(tmp_path, base=bad)), SCEN, "not monotone: month 3 (0.5)")
    assert line == line_of(bad, "[0.25, 0.6, 0.5, 1.0]")


def test_ramp_curve_above_full_needs_saying_so(tmp_path: Path) -> None:
    bad = BASE.replace("sdr: {months: [0.5, 1.0]}", "sdr: {months: [0.5, 1.0, 1.2]}")
    _, line = find(errors_of(write_config(tmp_path, base=bad)), SCEN, "exceeds 100%")
    assert line == line_of(bad, "[0.5, 1.0, 1.2]")
    ok = BASE.replace("sdr: {months: [0.5, 1.0]}", "sdr: {allow_above_full: true, months: [0.5, 1.0, 1.2]}")
    assert load(write_config(tmp_path / "ok", base=ok)).get("scenarios")["base"].ramp_curves["sdr"].months[-1] == 1.2


def test_two_entries_holding_one_seat_over_overlapping_dates(tmp_path: Path) -> None:
    extra = "  - {id: s9, kind: seat, seat: NA_AE_2, role: AE, motion: inbound_ae, segment: ent, " \
            "territory: NA_East, start: 2026-09-01}\n"
    bad = BASE.replace("ramp_curves:\n", extra + "ramp_curves:\n")
    _, line = find(errors_of(write_config(tmp_path, base=bad)), SCEN, "seat 'NA_AE_2' is held by 's1'")
    assert line == line_of(bad, "id: s9")
    # the same slot is fine once the first holder has left
    ended = bad.replace("territory: NA_East, start: 2026-06-01}", "territory: NA_East, start: 2026-06-01, "
                                                                    "end: 2026-08-31}")
    load(write_config(tmp_path / "ok", base=ended))


def test_same_person_twice_over_overlapping_dates(tmp_path: Path) -> None:
    extra = "  - {id: a1b, user: a1@x.example, name: Ann One, role: AE, motion: inbound_ae, segment: ent, " \
            "territory: NA_East, start: 2026-01-01}\n"
    bad = BASE.replace("ramp_curves:\n", extra + "ramp_curves:\n")
    _, line = find(errors_of(write_config(tmp_path, base=bad)), SCEN, "user 'a1@x.example' is held by 'a1'")
    assert line == line_of(bad, "id: a1b")


@pytest.mark.parametrize("old,new,needle,words", [
    ("by_segment: {smb: 600000, ent: 1200000}", "by_segment: {smb: 600000, ent: 1100000}", "by_segment",
     "by_segment sums to 1,700,000 but annual_bookings is 1,800,000"),
    ("by_territory: {NA: 1200000, EMEA: 600000}", "by_territory: {NA: 1300000, EMEA: 600000}", "by_territory",
     "by_territory sums to 1,900,000"),
    ("quarterly: [400000, 400000, 500000, 500000]", "quarterly: [400000, 400000, 500000, 400000]",
     "quarterly:", "quarterly sums to 1,700,000"),
])
def test_targets_that_do_not_sum_to_the_annual_figure(tmp_path: Path, old: str, new: str, needle: str,
                                                      words: str) -> None:
    bad = BASE.replace(old, new)
    _, line = find(errors_of(write_config(tmp_path, base=bad)), SCEN, words)
    assert line == line_of(bad, needle)


def test_seat_ending_before_it_starts_and_rep_without_user(tmp_path: Path) -> None:
    bad = BASE.replace("start: 2026-06-01}", "start: 2026-06-01, end: 2026-01-31}").replace(
        "{id: a2, user: a2@x.example, ", "{id: a2, ")
    exc = errors_of(write_config(tmp_path, base=bad))
    assert find(exc, SCEN, "ends (2026-01-31) before it starts")[1] == line_of(bad, "id: s1")
    assert find(exc, SCEN, "needs user and name")[1] == line_of(bad, "id: a2")


def test_manager_that_is_not_a_roster_entry(tmp_path: Path) -> None:
    bad = BASE.replace("territory: EMEA, manager: mgr", "territory: EMEA, manager: boss")
    _, line = find(errors_of(write_config(tmp_path, base=bad)), SCEN, "manager 'boss' is not a roster entry")
    assert line == line_of(bad, "manager: boss")


def test_child_removing_the_manager_breaks_its_reports_in_the_child_only(tmp_path: Path) -> None:
    child = CHILD.replace("remove: [a2]", "remove: [mgr]")
    exc = errors_of(write_config(tmp_path, child=child))
    # the entries managed by mgr come from base.yaml, so that is where the line points
    assert {e.location.file.rsplit("/", 1)[-1] for e in exc.errors if e.location} == {"base.yaml"}
    assert any("manager 'mgr'" in e.message for e in exc.errors)


def test_active_scenario_without_file(tmp_path: Path) -> None:
    bad = CAPACITY.replace("active_scenario: base", "active_scenario: stretch")
    _, line = find(errors_of(write_config(tmp_path, capacity=bad)), "capacity_config.yaml", "'stretch'")
    assert line == line_of(bad, "active_scenario")


def test_extends_unknown_and_cycle(tmp_path: Path) -> None:
    bad = CHILD.replace("extends: base", "extends: nope")
    _, line = find(errors_of(write_config(tmp_path, child=bad)), "scenarios/child.yaml", "'nope' does not exist")
    assert line == line_of(bad, "extends")
    loop_a = "extends: loop_b\n"
    loop_b = "extends: loop_a\n"
    exc = errors_of(write_config(tmp_path / "cycle", loop_a=loop_a, loop_b=loop_b))
    assert find(exc, "scenarios/loop_a.yaml", "cycle")[1] == 1
    assert find(exc, "scenarios/loop_b.yaml", "cycle")[1] == 1


def test_remove_naming_an_entry_the_parent_does_not_have(tmp_path: Path) -> None:
    bad = CHILD.replace("remove: [a2]", "remove: [a2, zed]")
    _, line = find(errors_of(write_config(tmp_path, child=bad)), "scenarios/child.yaml", "'zed'")
    assert line == line_of(bad, "remove:")


@pytest.mark.parametrize("old,new,words", [
    ("{developer_name: NA_East, name: NA East, type: Geo, parent: NA}",
     "{developer_name: NA_East, name: NA East, type: Geo, parent: Nowhere}", "parent 'Nowhere'"),
    ("{developer_name: EMEA, name: EMEA, type: Geo, parent: Global}",
     "{developer_name: EMEA, name: EMEA, type: Geo}", "a second root 'EMEA'"),
    ("{developer_name: EMEA, name: EMEA, type: Geo, parent: Global}",
     "{developer_name: NA_West, name: EMEA, type: Geo, parent: Global}", "duplicate territory 'NA_West'"),
    ("{developer_name: EMEA, name: EMEA, type: Geo, parent: Global}",
     "{developer_name: EMEA, name: EMEA, type: Region, parent: Global}", "territory type 'Region'"),
    ("{developer_name: EMEA, name: EMEA, type: Geo, parent: Global}",
     "{developer_name: EMEA__West, name: EMEA, type: Geo, parent: Global}", "'EMEA__West'"),
    ("{developer_name: EMEA, name: EMEA, type: Geo, parent: Global}",
     "{developer_name: 9EMEA, name: EMEA, type: Geo, parent: Global}", "'9EMEA'"),
])
def test_territory_hierarchy_problems(tmp_path: Path, old: str, new: str, words: str) -> None:
    bad = TERRITORIES.replace(old, new)
    assert bad != TERRITORIES
    # scenarios refer to EMEA: keep them out so only the hierarchy's own problem is reported
    _, line = find(errors_of(write_config(tmp_path, territories=bad, base="", child="")), "territories.yaml", words)
    assert line == line_of(bad, new)


def test_territory_cycle(tmp_path: Path) -> None:
    bad = TERRITORIES.replace("name: NA, type: Geo, parent: Global}", "name: NA, type: Geo, parent: NA_West}")
    exc = errors_of(write_config(tmp_path, territories=bad, base="", child=""))
    assert find(exc, "territories.yaml", "'NA' is its own ancestor")[1] == line_of(bad, "parent: NA_West")


def test_too_many_territories(tmp_path: Path) -> None:
    rows = "".join(f"  - {{developer_name: T{i}, name: T{i}, type: Geo, parent: Global}}\n" for i in range(1000))
    exc = errors_of(write_config(tmp_path, territories=TERRITORIES + rows, base="", child=""))
    _, line = find(exc, "territories.yaml", "at most 1000")
    assert line == line_of(TERRITORIES, "territories:")


def test_segment_of_first_match_in_order(tmp_path: Path) -> None:
    capacity = load(write_config(tmp_path)).get("capacity")
    assert [segment_of(capacity, n) for n in (0, 199, 199.9, 200, 10**6)] == ["smb", "smb", "smb", "ent", "ent"]
    assert segment_of(capacity, None) is None
    assert segment_of(capacity, -5) is None
    assert segment_of(capacity, float("nan")) is None


def test_active_roster_follows_the_active_scenario_after_inheritance(tmp_path: Path) -> None:
    cfg = load(write_config(tmp_path))
    roster = active_roster(cfg)
    assert [e.user for e in roster] == ["mgr@x.example", "a1@x.example", "a2@x.example"]  # no seats
    assert roster[1].manager == "mgr" and roster[1].territory == "NA_West"
    child_active = CAPACITY.replace("active_scenario: base", "active_scenario: child")
    cfg = load(write_config(tmp_path / "child", capacity=child_active))
    assert active_roster_usernames(cfg) == {"mgr@x.example", "a1@x.example"}  # child removes a2


def test_no_design_config_means_no_roster(tmp_path: Path) -> None:
    cfg = load(write_config(tmp_path, capacity="", territories="", roles="", base="", child=""))
    assert active_roster_usernames(cfg) is None
    assert active_roster(cfg) == []
