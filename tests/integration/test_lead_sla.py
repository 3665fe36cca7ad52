"""A lead's first-touch SLA state, as `my_leads` (MCP), `GET /api/leads` and the rep's lists show it: owned at its
first route decision naming a user, touched at its first completed task, against `coach/metrics.yaml`'s hours."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from revloops.app import Caller, app_on
from revloops.bootstrap import Platform
from revloops.core.decisions import Decision
from revloops.core.errors import InputError
from revloops.core.records import Lead, Task
from revloops.ports.crm import Query
from tests.integration.test_chain_effects import seeded_org

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday morning
HOURS = 4  # the example org's first_touch_hours


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Platform:
    return seeded_org(tmp_path_factory.mktemp("sla"), leads=0, accounts=0)


def _lead(org: Platform, name: str, owner: str, *, routed_to: str | None, touched_after: float | None,
          done: bool = True) -> str:
    lead = org.crm.create(Lead(LastName=name, Company=f"{name} Co", Email=f"{name.lower()}@example.com",
                               OwnerId=owner, CreatedDate=T0 - dt.timedelta(minutes=5)), audit_fields=True)
    if routed_to is not None:
        org.decisions.record(Decision(loop="route", sobject="Lead", record_id=lead, outcome=routed_to,
                                      explanation="routed", config_version="test", inputs_digest="x",
                                      created_at=T0))
    if touched_after is not None:
        at = T0 + dt.timedelta(hours=touched_after)
        org.crm.create(Task(Subject="Call", WhoId=lead, OwnerId=owner, Status="Completed" if done else "Not Started",
                            CompletedDateTime=at if done else None, CreatedDate=at), audit_fields=True)
    return lead


def test_each_state_and_its_filter(org: Platform) -> None:
    app = app_on(org)
    rep = next(u for u in org.crm.query_all(Query("User")) if u.IsActive)
    me = Caller(user_id=rep.Id or "", tier="rep", name="rep")
    queue = "00G000000000001AAA"
    leads = {
        "met": _lead(org, "Met", rep.Id or "", routed_to=rep.Id, touched_after=HOURS - 1),
        "late": _lead(org, "Late", rep.Id or "", routed_to=rep.Id, touched_after=HOURS + 3),
        "open task": _lead(org, "Planned", rep.Id or "", routed_to=rep.Id, touched_after=1, done=False),
        "untouched": _lead(org, "Quiet", rep.Id or "", routed_to=rep.Id, touched_after=None),
        "unowned": _lead(org, "Queued", rep.Id or "", routed_to=queue, touched_after=None),
    }
    early, later = T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=HOURS + 1)
    at_early = {r.id: r.sla for r in app.my_leads(me, now=early, limit=50).items}
    at_later = {r.id: r.sla for r in app.my_leads(me, now=later, limit=50).items}
    assert at_early[leads["met"]] == at_later[leads["met"]] == "met"
    assert at_early[leads["late"]] == "late"
    assert at_early[leads["unowned"]] == "unowned"
    # an open task is no touch: the clock runs on
    assert (at_early[leads["open task"]], at_later[leads["open task"]]) == ("due", "breached")
    assert (at_early[leads["untouched"]], at_later[leads["untouched"]]) == ("due", "breached")
    breached = app.my_leads(me, sla="breached", now=later, limit=1)
    assert breached.total == 2 and len(breached.items) == 1 and breached.next_cursor == "1"
    rest = app.my_leads(me, sla="breached", now=later, limit=1, cursor=breached.next_cursor)
    assert {breached.items[0].id, rest.items[0].id} == {leads["open task"], leads["untouched"]}
    assert rest.next_cursor is None
    with pytest.raises(InputError) as bad:
        app.my_leads(me, sla="overdue")  # type: ignore[arg-type]
    assert bad.value.field == "sla"


def test_without_an_sla_configured_the_filter_is_refused(org: Platform, tmp_path: Path) -> None:
    import shutil

    from revloops.bootstrap import build

    config = tmp_path / "config"
    shutil.copytree(Path(org.settings.config), config)
    (config / "coach" / "metrics.yaml").unlink()
    plat = build(config=config, db=org.settings.db, state_dir=tmp_path)
    app = app_on(plat)
    op = Caller.operator("t")
    assert all(r.sla is None for r in app.my_leads(op, limit=5).items)
    with pytest.raises(InputError) as refused:
        app.my_leads(op, sla="due")
    assert refused.value.field == "sla" and "coach/metrics.yaml" in refused.value.message
