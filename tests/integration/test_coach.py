"""Coach over a small org built by hand, so each insight's cause is known: a slow rep and a fast one, a deal
left alone, reps behind their ramp, a routing rule whose leads never convert; the manager's digest sees only
the team; the suggestion writes a scenario only when asked and never changes the active one."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from revloops.app import Caller, app_on
from revloops.bootstrap import Platform, build
from revloops.core.decisions import Decision
from revloops.core.errors import Forbidden
from revloops.core.records import Lead, Opportunity, Task
from revloops.ports.crm import Query
from tests.integration.conftest import EXAMPLE

OPS = Caller.operator("test")
TODAY = dt.datetime.now(dt.UTC).date()


def _user(plat: Platform, username: str) -> str:
    found = plat.crm.find_one(Query("User").where("Username", "eq", username))
    assert found is not None and found.Id
    return found.Id


def _lead(plat: Platform, owner: str, owned_after: dt.timedelta, touched_after: dt.timedelta | None,
          rule: str, converted: bool = False) -> str:
    lead_id = plat.crm.create(Lead(LastName="Lead", Company=f"Co {owner[-4:]}", OwnerId=owner,
                                   IsConverted=converted))
    created = plat.crm.get("Lead", lead_id).CreatedDate
    assert created is not None
    plat.decisions.record(Decision(loop="route", sobject="Lead", record_id=lead_id, outcome=owner,
                                   detail={"rule_id": rule, "action": "round_robin"}, config_version="test",
                                   inputs_digest="sha256:test", created_at=created + owned_after))
    if touched_after is not None:
        plat.crm.create(Task(Subject="First touch: call", WhoId=lead_id, OwnerId=owner, Type="Call",
                             Status="Completed", CompletedDateTime=created + owned_after + touched_after))
    return lead_id


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("coach")
    shutil.copytree(EXAMPLE, root / "config")
    plat = build(config=root / "config", db=f"sqlite:///{root / 'state.sqlite'}", state_dir=root,
                 warehouse_as_of=TODAY)
    app_on(plat).seed_org(OPS, users=20, accounts=10, leads=0, seed=1)
    ava, carla = _user(plat, "ava.chen@acme.example"), _user(plat, "carla.mendes@acme.example")
    for i in range(8):  # Ava touches within the hour; Carla after nine hours, and leaves two untouched
        _lead(plat, ava, dt.timedelta(minutes=2), dt.timedelta(minutes=20 + i), "smb-na", converted=i < 3)
        _lead(plat, carla, dt.timedelta(minutes=2), dt.timedelta(hours=9) if i < 6 else None, "never-converts")
    ben = _user(plat, "ben.ortiz@acme.example")
    for i in range(14):  # enough leads for the rule to be judged: 22 leads, none converted
        _lead(plat, ben, dt.timedelta(minutes=1), dt.timedelta(minutes=5 + i), "never-converts")
    plat.crm.create(Opportunity(Name="Left alone", StageName="Proposal", CloseDate=TODAY + dt.timedelta(days=20),
                                Amount=90_000, OwnerId=carla))
    yield plat
    plat.close()


def _insights(plat: Platform, caller: Caller, as_of: dt.date, kinds: list[str] | None = None) -> list[object]:
    plat.settings.warehouse_as_of = as_of
    app_on(plat).refresh_warehouse(OPS)
    return list(app_on(plat).coach_insights(caller, kinds=kinds).insights)


def test_the_slow_rep_and_only_the_slow_rep_is_flagged_with_the_leads_behind_it(org: Platform) -> None:
    found = _insights(org, OPS, TODAY, ["slow_first_touch"])
    carla = _user(org, "carla.mendes@acme.example")
    assert [i.owner_id for i in found] == [carla]  # type: ignore[attr-defined]
    insight = found[0]
    assert insight.severity == "high" and "p50 9.0 h" in insight.title  # type: ignore[attr-defined]
    assert len(insight.evidence) == 8  # six touched after nine hours, two never  # type: ignore[attr-defined]
    assert "FROM lead_facts" in insight.query and carla in insight.params  # type: ignore[attr-defined]


def test_team_performance_splits_the_system_delay_from_the_reps(org: Platform) -> None:
    org.settings.warehouse_as_of = TODAY
    app = app_on(org)
    app.refresh_warehouse(OPS)
    rows = {r.owner_name: r for r in app.team_performance(OPS).reps}
    ava, carla = rows["Ava Chen"], rows["Carla Mendes"]
    assert ava.leads_owned == carla.leads_owned == 8
    assert ava.first_touch_p50_h == pytest.approx((20 + 3.5) / 60, abs=0.01)
    assert carla.first_touch_p50_h == pytest.approx(9.0, abs=0.01)
    assert ava.sla_breaches == 0 and carla.sla_breaches == 8 and ava.sla_rate == 1.0
    assert ava.converted == 3 and carla.converted == 0


def test_a_deal_without_activity_for_a_month_is_stalled(org: Platform) -> None:
    fresh = _insights(org, OPS, TODAY, ["stalled_deal"])
    assert not any("Left alone" in i.title for i in fresh)  # type: ignore[attr-defined]
    later = _insights(org, OPS, TODAY + dt.timedelta(days=40), ["stalled_deal"])
    [alone] = [i for i in later if "Left alone" in i.title]  # type: ignore[attr-defined]
    assert alone.title == "Stalled: Left alone ($90k, Carla Mendes)"  # type: ignore[attr-defined]
    assert "no activity for 40 days" in alone.detail  # type: ignore[attr-defined]


def test_ramping_reps_without_bookings_are_behind_the_ramp(org: Platform) -> None:
    # on 2025-12-15 Dan (outbound AE since 2025-11) and Grace (inbound AE since 2025-09) are ramping
    found = _insights(org, OPS, dt.date(2025, 12, 15), ["ramp_behind"])
    names = {i.owner_name for i in found}  # type: ignore[attr-defined]
    assert {"Dan Kowalski", "Grace Lee"} <= names
    assert all("0% of plan" in i.title for i in found)  # type: ignore[attr-defined]


def test_a_rule_whose_leads_convert_far_below_the_rest_is_named(org: Platform) -> None:
    found = _insights(org, OPS, TODAY, ["weak_rule"])
    assert [i.title for i in found] == ["Rule never-converts: its leads convert at 0.0%"]  # type: ignore[attr-defined]
    assert "0 of 22 leads" in found[0].detail  # type: ignore[attr-defined]
    # a rep sees no rule-level insight: rules are the org's
    rep = Caller(user_id=_user(org, "ben.ortiz@acme.example"), tier="rep", name="ben")
    assert app_on(org).coach_insights(rep, kinds=["weak_rule"]).insights == []


def test_a_managers_digest_covers_their_team_only(org: Platform) -> None:
    org.settings.warehouse_as_of = TODAY
    app = app_on(org)
    app.refresh_warehouse(OPS)
    olivia = _user(org, "olivia.brown@acme.example")
    paul = _user(org, "paul.dubois@acme.example")
    digest = app.coach_digest(Caller(user_id=olivia, tier="manager", name="olivia"), "olivia.brown@acme.example")
    names = {r.owner_name for r in digest.team.reps}
    assert {"Ava Chen", "Carla Mendes"} <= names and "Emma Schulz" not in names  # Emma reports to Paul
    assert [i.owner_name for i in digest.insights if i.kind == "slow_first_touch"] == ["Carla Mendes"]
    with pytest.raises(Forbidden):
        app.coach_digest(Caller(user_id=paul, tier="manager", name="paul"), "olivia.brown@acme.example")


def test_suggest_writes_a_scenario_only_when_asked_and_never_changes_the_active_one(org: Platform) -> None:
    org.settings.warehouse_as_of = TODAY
    app = app_on(org)
    app.refresh_warehouse(OPS)
    config = Path(org.settings.config)
    capacity = (config / "design" / "capacity_config.yaml").read_text()
    shown = app.coach_suggest(OPS)
    target = config / "design" / "scenarios" / "base_actuals.yaml"
    assert not shown.written and not target.exists()
    assert shown.diff.startswith("--- a/design/scenarios/base_actuals.yaml") and "extends: base" in shown.diff
    written = app.coach_suggest(OPS, write=True)
    assert written.written and target.read_text() in "".join(line[1:] for line in written.diff.splitlines(True)
                                                              if line.startswith("+") and not line.startswith("+++"))
    assert (config / "design" / "capacity_config.yaml").read_text() == capacity
    assert app.validate_config(OPS).version  # the new scenario loads with the rest
    # no named rep booked anything: productivity goes down where reps are past their ramp
    assert shown.capacity_after < shown.capacity_before
    again = app.coach_suggest(OPS)
    assert again.diff == ""  # the file already says it
