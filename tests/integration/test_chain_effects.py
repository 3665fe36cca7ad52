"""What one inbound chain run must leave behind, per lead, checked against the CRM and the state database.

The other chain tests (crash, deliveries, faults, Postgres) call :func:`chain_problems` after their runs;
the tests here make sure the checker itself notices a doubled or missing effect, so a passing chain test
means something.

Per lead that the chain ran for:
- exactly one ``generate`` decision; a lead captured as a duplicate has nothing else;
- otherwise exactly one ``qualify`` decision (its total written to ``Lead_Score__c``) and exactly one
  ``route`` decision with the fixed id ``dec_route_<lead>``, named on the lead, whose owner is the lead's
  ``OwnerId`` (unless routing left it pending);
- when the owner is a user (005): exactly one ``engage`` decision, one stored sequence for that owner,
  and one Task keyed ``engage:<lead>`` whose id the sequence remembers, owned by the owner, about the lead;
- when it is not: no engage decision, no sequence, no task.
Across the org: no decision, sequence or Task for any lead the chain did not run for.

The milestone plans' runs (``chains/plans.py``) are checked the same way by :func:`plan_problems`; see there.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from revloops.adapters.sql.tables import decisions, engage_sequences
from revloops.app import Caller, app_on
from revloops.bootstrap import Platform, build
from revloops.core.events import CrmEvent, event_id
from revloops.core.records import Account, Opportunity
from revloops.ports.crm import Query

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
CHAIN_LOOPS = ("generate", "qualify", "route", "engage")


def seeded_org(root: Path, *, leads: int, accounts: int = 60, db: str | None = None, seed: int = 11,
               history: bool = False, **settings: Any) -> Platform:
    """A private copy of the example org's config, its local CRM seeded with ``leads`` leads: fresh inbound,
    every one waiting in a queue as the chain receives it (no seeded history, unless asked)."""
    config = root / "config"
    if not config.exists():
        shutil.copytree(EXAMPLE, config)
    plat = build(config=config, db=db or f"sqlite:///{root / 'state.sqlite'}", state_dir=root, **settings)
    app_on(plat).seed_org(Caller.operator("seed"), users=6, accounts=accounts, leads=leads, seed=seed, history=history)
    return plat


def lead_ids(plat: Platform) -> list[str]:
    """Every lead of the org, oldest first."""
    leads = plat.crm.query_all(Query("Lead", order_by=(("CreatedDate", False),)))
    return [str(lead.Id) for lead in leads]


def created_events(plat: Platform, ids: Iterable[str]) -> list[CrmEvent]:
    """The ``lead.created`` event of each lead, with the stable id the webhook and the poller both use."""
    out = []
    for lead_id in ids:
        lead = plat.crm.get("Lead", lead_id)
        out.append(CrmEvent(id=event_id("lead.created", lead_id), type="lead.created", object="Lead",
                            record_id=lead_id, occurred_at=lead.CreatedDate or dt.datetime.now(dt.UTC)))
    return out


def _decisions(engine: sa.Engine, loops: tuple[str, ...] = CHAIN_LOOPS) -> dict[tuple[str, str], list[Any]]:
    by_key: dict[tuple[str, str], list[Any]] = {}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(decisions.c.id, decisions.c.loop, decisions.c.record_id,
                                      decisions.c.outcome, decisions.c.detail)
                            .where(decisions.c.loop.in_(loops))).all()
    for row in rows:
        by_key.setdefault((row.loop, row.record_id), []).append(row)
    return by_key


def _sequences(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {row.lead_id: row for row in conn.execute(sa.select(engage_sequences))}


def _tasks_by_key(plat: Platform) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for task in plat.crm.query_all(Query("Task")):
        out.setdefault(str(task.Revloops_Key__c), []).append(task)
    return out


class _Problems:
    """Collects what is wrong, one line per problem, so a failure names every bad record at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def need(self, ok: bool, problem: str) -> bool:
        if not ok:
            self.problems.append(problem)
        return ok


class _Check(_Problems):
    """The inbound chain's effects, lead by lead."""

    def __init__(self, plat: Platform) -> None:
        super().__init__()
        self.decisions = _decisions(plat.engine)
        self.sequences = _sequences(plat.engine)
        self.leads = {str(lead.Id): lead for lead in plat.crm.query_all(Query("Lead"))}
        self.tasks = _tasks_by_key(plat)

    def count(self, loop: str, lead_id: str, expected: int) -> list[Any]:
        found = self.decisions.get((loop, lead_id), [])
        self.need(len(found) == expected, f"{lead_id}: {len(found)} {loop} decisions, expected {expected}")
        return found

    def lead(self, lead_id: str) -> None:
        generated = self.count("generate", lead_id, 1)
        if generated and str(generated[0].outcome).startswith("duplicate_of:"):
            for loop in ("qualify", "route", "engage"):
                self.count(loop, lead_id, 0)
            self.nothing_engaged(lead_id)
            return
        lead = self.leads[lead_id]
        qualified = self.count("qualify", lead_id, 1)
        if qualified:
            total = qualified[0].detail["total"]
            self.need(lead.Lead_Score__c == float(total), f"{lead_id}: Lead_Score__c {lead.Lead_Score__c} != {total}")
        routed = self.count("route", lead_id, 1)
        if not routed:
            return
        route = routed[0]
        owner = str(route.outcome)
        self.need(route.id == f"dec_route_{lead_id}", f"{lead_id}: route decision id {route.id}")
        self.need(lead.Routing_Decision_Id__c == route.id, f"{lead_id}: the lead names {lead.Routing_Decision_Id__c}")
        if not owner.startswith("pending:"):
            self.need(lead.OwnerId == owner, f"{lead_id}: OwnerId {lead.OwnerId}, routed to {owner}")
        if owner.startswith("005"):
            self.engaged(lead_id, owner)
        else:
            self.count("engage", lead_id, 0)
            self.nothing_engaged(lead_id)

    def engaged(self, lead_id: str, owner: str) -> None:
        self.count("engage", lead_id, 1)
        seq = self.sequences.get(lead_id)
        tasks = self.tasks.get(f"engage:{lead_id}", [])
        if not self.need(seq is not None, f"{lead_id}: no engage sequence"):
            return
        self.need(seq.owner_id == owner, f"{lead_id}: sequence owner {seq.owner_id}, routed to {owner}")
        if not self.need(len(tasks) == 1, f"{lead_id}: {len(tasks)} tasks keyed engage:{lead_id}"):
            return
        task = tasks[0]
        self.need(seq.task_id == task.Id, f"{lead_id}: the sequence remembers task {seq.task_id}, not {task.Id}")
        self.need(task.OwnerId == owner and task.WhoId == lead_id,
                  f"{lead_id}: task owned by {task.OwnerId} about {task.WhoId}")

    def nothing_engaged(self, lead_id: str) -> None:
        self.need(lead_id not in self.sequences, f"{lead_id}: a sequence without a user owner")
        self.need(not self.tasks.get(f"engage:{lead_id}"), f"{lead_id}: a task without a user owner")

    def nothing_else(self, ran: set[str]) -> None:
        strays = sorted({rid for (_loop, rid) in self.decisions if rid not in ran})
        self.need(not strays, f"decisions for leads the chain never ran for: {strays[:5]}")
        self.need(not (set(self.sequences) - ran), f"sequences for other leads: {sorted(set(self.sequences) - ran)[:5]}")
        keys = set(self.tasks) - {f"engage:{lead_id}" for lead_id in ran}
        self.need(not keys, f"tasks nobody asked for: {sorted(keys)[:5]}")


def chain_problems(plat: Platform, ran: Iterable[str]) -> list[str]:
    """Everything wrong with the effects of the chain having run once for each lead of ``ran``."""
    ran_set = set(ran)
    check = _Check(plat)
    for lead_id in sorted(ran_set):
        check.lead(lead_id)
    check.nothing_else(ran_set)
    return check.problems


def effect_counts(plat: Platform) -> Counter[str]:
    """How many decisions per chain loop, sequences and engage tasks the org holds (for messages)."""
    counts: Counter[str] = Counter()
    for (loop, _rid), rows in _decisions(plat.engine).items():
        counts[loop] += len(rows)
    counts["sequences"] = len(_sequences(plat.engine))
    counts["tasks"] = sum(1 for t in plat.crm.query_all(Query("Task")) if str(t.Revloops_Key__c).startswith("engage:"))
    return counts


# -- milestone plans (Pursue, Onboard): what their runs must leave behind, per deal -------------------------

#: the task statuses a stored milestone's status allows once it has a task (``loops/plays.py``)
TASK_STATUS = {"done": {"Completed"}, "open": {"Not Started", "In Progress"}, "skipped": {"Deferred"},
               "waiting": {"Waiting on someone else"}}
#: a spread of accounts, so that each of the example org's deal plays is chosen: (employees, deal amount)
DEAL_SIZES = ((60, 12_000.0), (450, 45_000.0), (3_000, 160_000.0), (120, 60_000.0), (800, 30_000.0))
STATES = ("CA", "NY", "TX", "WA", "MA", "IL")


def seeded_deals(root: Path, opportunities: int, *, db: str | None = None, seed: int = 11,
                 **settings: Any) -> tuple[Platform, list[str]]:
    """A private copy of the example org's config with its roster seeded (no accounts, no leads, so no seeded
    deal), then ``opportunities`` open deals in Prospecting, each on its own US account, owned in turn by the
    roster's active users. Answers the platform and the opportunity ids in creation order."""
    plat = seeded_org(root, leads=0, accounts=0, db=db, seed=seed, **settings)
    return plat, add_deals(plat, opportunities)


def add_deals(plat: Platform, n: int, *, tag: str = "deal") -> list[str]:
    """Create ``n`` accounts and an open opportunity on each through the CRM port; answers the opportunities."""
    users = sorted(str(u.Id) for u in plat.crm.query_all(Query("User")) if u.IsActive)
    sizes = [DEAL_SIZES[i % len(DEAL_SIZES)] for i in range(n)]
    accounts = [Account(Name=f"{tag.title()} Co {i}", BillingCountry="United States",
                        BillingState=STATES[i % len(STATES)], NumberOfEmployees=employees)
                for i, (employees, _) in enumerate(sizes)]
    account_ids = [str(r.id) for r in plat.crm.bulk_create(accounts)]
    close = dt.date.today() + dt.timedelta(days=90)
    opps = [Opportunity(Name=f"{tag.title()} {i}", StageName="Prospecting", CloseDate=close, Amount=amount,
                        AccountId=account_ids[i], OwnerId=users[i % len(users)])
            for i, (_, amount) in enumerate(sizes)]
    results = plat.crm.bulk_create(opps)
    assert all(r.success for r in results), [r.errors for r in results if not r.success]
    return [str(r.id) for r in results]


def deal_events(plat: Platform, kind: str, ids: Iterable[str]) -> list[CrmEvent]:
    """One ``opportunity.*`` event per deal with the ids the poller gives them (a stage change names its stage)."""
    now = dt.datetime.now(dt.UTC)
    out = []
    for opp_id in ids:
        stage = plat.crm.get("Opportunity", opp_id).StageName if kind == "opportunity.stage_changed" else None
        out.append(CrmEvent(id=event_id(kind, opp_id, stage), type=kind, object="Opportunity", record_id=opp_id,
                            occurred_at=now))
    return out


class _PlanCheck(_Problems):
    """One loop's plan instances, their decisions and their tasks, deal by deal."""

    def __init__(self, plat: Platform, loop: str) -> None:
        super().__init__()
        self.plat, self.loop = plat, loop
        self.instances = {i.id: i for i in plat.plans.instances(loop=loop)}
        self.decisions = _decisions(plat.engine, (loop,))
        self.tasks = _tasks_by_key(plat)

    def deal(self, record_id: str) -> None:
        iid = f"{self.loop}:{record_id}"
        inst = self.instances.get(iid)
        if not self.need(inst is not None, f"{record_id}: no {self.loop} plan instance {iid}"):
            return
        found = self.decisions.get((self.loop, record_id), [])
        if self.need(len(found) == 1, f"{record_id}: {len(found)} {self.loop} decisions, expected 1"):
            want = f"dec_{self.loop}_{iid.replace(':', '_')}"
            self.need((found[0].id, found[0].outcome) == (want, inst.play_id),
                      f"{record_id}: decision {found[0].id} chose {found[0].outcome}, the plan is {inst.play_id}")
        if self.loop == "pursue":
            play = self.plat.crm.get("Opportunity", record_id).Deal_Play__c
            self.need(play == inst.play_id, f"{record_id}: Deal_Play__c {play}, the plan is {inst.play_id}")
        if self.loop == "onboard":
            handoff = self.tasks.get(f"handoff:{record_id}", [])
            gaps = inst.facts.get("handoff_gaps") or []
            self.need(len(handoff) == (1 if gaps else 0),
                      f"{record_id}: {len(handoff)} handoff tasks for {len(gaps)} checklist gaps")
            kind = self.plat.crm.get("Account", inst.account_id).Type if inst.account_id else "Customer"
            self.need(str(kind or "").startswith("Customer"), f"{record_id}: its account is a {kind}, not a customer")
        self.milestones(inst)

    def milestones(self, inst: Any) -> None:
        from revloops.loops.plays import find_play

        play = find_play(self.plat, inst.loop, inst.play_id)
        stored = {m.milestone_id: m for m in self.plat.plans.milestones(inst.id)}
        self.need(set(stored) == {m.id for m in play.milestones},
                  f"{inst.id}: milestones stored {sorted(stored)}, its play has {sorted(m.id for m in play.milestones)}")
        prefix = f"plan:{inst.id}:"
        keyed = {key[len(prefix):]: tasks for key, tasks in self.tasks.items() if key.startswith(prefix)}
        with_task = {mid for mid, m in stored.items() if m.task_id}
        self.need(set(keyed) == with_task,
                  f"{inst.id}: tasks for {sorted(keyed)}, milestones with one {sorted(with_task)}")
        for mid, m in stored.items():
            tasks = keyed.get(mid, [])
            if m.status in ("open", "done"):
                self.need(len(tasks) == 1, f"{inst.id}: {m.status} milestone {mid} has {len(tasks)} tasks, expected 1")
            if len(tasks) != 1:
                continue
            task = tasks[0]
            self.need(task.Id == m.task_id, f"{inst.id}: {mid} remembers task {m.task_id}, not {task.Id}")
            self.need(task.Status in TASK_STATUS[m.status],
                      f"{inst.id}: {m.status} milestone {mid}'s task is {task.Status!r}")
            self.need(task.WhatId == inst.record_id, f"{inst.id}: {mid}'s task is about {task.WhatId}")
            if str(m.owner_id or "").startswith("005"):
                self.need(task.OwnerId == m.owner_id,
                          f"{inst.id}: {mid}'s task owned by {task.OwnerId}, not {m.owner_id}")
        done = {mid for mid, m in stored.items() if m.status == "done"}
        for ms in play.milestones:
            status = stored[ms.id].status if ms.id in stored else None
            if inst.status != "active":
                self.need(status in ("done", "skipped"), f"{inst.id} is closed but {ms.id} is {status}")
            elif ms.when is None and set(ms.after) <= done:  # nothing holds it back: it has its task
                self.need(status in ("open", "done"), f"{inst.id}: {ms.id} is {status}, though all it waits on is done")

    def nothing_else(self, ran: set[str]) -> None:
        strays = sorted(i.record_id for i in self.instances.values() if i.record_id not in ran)
        self.need(not strays, f"{self.loop} plans for deals never started: {strays[:5]}")
        others = sorted({rid for (_loop, rid) in self.decisions if rid not in ran})
        self.need(not others, f"{self.loop} decisions for deals never started: {others[:5]}")
        mine = {f"plan:{self.loop}:{rid}" for rid in ran}
        keys = sorted(k for k in self.tasks if k.startswith(f"plan:{self.loop}:") and k.rsplit(":", 1)[0] not in mine)
        self.need(not keys, f"{self.loop} tasks nobody asked for: {keys[:5]}")


def plan_problems(plat: Platform, ran: Iterable[str], loop: str = "pursue") -> list[str]:
    """Everything wrong with ``loop``'s plan having started once for each opportunity of ``ran``.

    Per deal: one instance ``<loop>:<opportunity>``; one ``<loop>`` decision, ``dec_<loop>_<instance>``, naming the
    instance's play (and, for Pursue, that play on ``Deal_Play__c``; for Onboard, one handoff task when the
    checklist had gaps, none otherwise, and the account a customer); one stored row per milestone of its play; one task keyed
    ``plan:<instance>:<milestone>`` for each milestone that opened (the task the row remembers, about the deal,
    owned by the milestone's owner, in the status the milestone's state allows) and none for any other; in an
    active plan every unconditional milestone whose predecessors are done is open or done, in a closed one
    everything not done is skipped. Across the org: no instance, decision or plan task of ``loop`` for any
    other deal.
    """
    ran_set = set(ran)
    check = _PlanCheck(plat, loop)
    for record_id in sorted(ran_set):
        check.deal(record_id)
    check.nothing_else(ran_set)
    return check.problems


# -- the checker's own tests: it must catch a doubled or missing effect ---------------------------------------


@pytest.fixture(scope="module")
def ran_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, list[str]]]:
    """A small org where the chain ran once, in this process, for its first eight leads."""
    from dbos import DBOS

    from revloops.chains.inbound import start_lead
    from revloops.engine import setup

    root = tmp_path_factory.mktemp("effects")
    plat = seeded_org(root, leads=12, accounts=20)
    ids = lead_ids(plat)[:8]
    setup.launch(plat)
    try:
        for key in [start_lead(lead_id) for lead_id in ids]:
            DBOS.retrieve_workflow(key).get_result()
    finally:
        setup.shutdown()
    yield plat, ids


def test_a_clean_run_has_no_problems_and_engages_user_owned_leads(ran_once: tuple[Platform, list[str]]) -> None:
    plat, ids = ran_once
    assert chain_problems(plat, ids) == []
    counts = effect_counts(plat)
    assert counts["generate"] == len(ids)
    # The example org's roster owns most leads by a user, so the run engaged some: the engage checks ran.
    assert 0 < counts["tasks"] == counts["sequences"] == counts["engage"]


def test_a_second_task_for_a_lead_is_caught(ran_once: tuple[Platform, list[str]]) -> None:
    plat, ids = ran_once
    engaged = sorted(lead_id for lead_id in ids if plat.crm.get("Lead", lead_id).OwnerId.startswith("005")
                     and _sequences(plat.engine).get(lead_id) is not None)[0]
    from revloops.core.records import model_for

    extra = plat.crm.create(model_for("Task")(Subject="again", WhoId=engaged, Revloops_Key__c="engage-copy"))
    try:
        problems = chain_problems(plat, ids)
        assert any("tasks nobody asked for" in p for p in problems), problems
    finally:
        plat.crm.delete("Task", extra)
    with plat.engine.begin() as conn:
        row = dict(conn.execute(sa.select(decisions).where(decisions.c.record_id == engaged,
                                                           decisions.c.loop == "route")).one()._mapping)
        conn.execute(decisions.insert().values(row | {"id": "dec_route_again"}))
    try:
        assert f"{engaged}: 2 route decisions, expected 1" in chain_problems(plat, ids)
    finally:
        with plat.engine.begin() as conn:
            conn.execute(decisions.delete().where(decisions.c.id == "dec_route_again"))


def test_a_lead_the_chain_never_reached_is_caught(ran_once: tuple[Platform, list[str]]) -> None:
    plat, ids = ran_once
    untouched = lead_ids(plat)[-1]
    assert untouched not in ids
    problems = chain_problems(plat, [*ids, untouched])
    assert f"{untouched}: 0 generate decisions, expected 1" in problems


@pytest.fixture(scope="module")
def plans_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, list[str], str]]:
    """Five deals whose plays were started once, in this process without the engine, one task completed; and
    a sixth deal never started."""
    from revloops.loops.plays import complete_task
    from revloops.loops.pursue.flow import start_pursue

    plat, ids = seeded_deals(tmp_path_factory.mktemp("plans"), 6)
    started = ids[:5]
    for opp_id in started:
        start_pursue(plat, opp_id)
    first = _tasks_by_key(plat)[f"plan:pursue:{started[2]}:discovery"][0]
    complete_task(plat, str(first.Id))
    yield plat, started, ids[5]


def test_started_plans_have_no_problems_and_every_play_was_chosen(
        plans_once: tuple[Platform, list[str], str]) -> None:
    plat, ids, _ = plans_once
    assert plan_problems(plat, ids) == []
    plays = {i.play_id for i in plat.plans.instances(loop="pursue")}
    assert plays == {"enterprise-new-logo", "mid-market-velocity", "smb-fast-close"}
    # the completed discovery opened its dependents: the checker's "open or done" rule had something to check
    opened = {m.milestone_id for m in plat.plans.milestones(f"pursue:{ids[2]}") if m.status in ("open", "done")}
    assert len(opened) > 1, opened


def test_a_missing_or_extra_plan_effect_is_caught(plans_once: tuple[Platform, list[str], str]) -> None:
    from revloops.core.records import Task
    from revloops.loops.plays import reconcile

    plat, ids, never = plans_once
    iid = f"pursue:{ids[0]}"
    [first] = [m for m in plat.plans.milestones(iid) if m.status == "open"]
    plat.crm.delete("Task", str(first.task_id))
    problems = plan_problems(plat, ids)
    assert f"{iid}: open milestone {first.milestone_id} has 0 tasks, expected 1" in problems, problems
    reconcile(plat, iid)  # a re-run upserts what is missing
    assert plan_problems(plat, ids) == []

    extra = plat.crm.create(Task(Subject="stray", WhatId=never, Revloops_Key__c=f"plan:pursue:{never}:discovery"))
    try:
        assert any("pursue tasks nobody asked for" in p for p in plan_problems(plat, ids))
    finally:
        plat.crm.delete("Task", extra)
    with plat.engine.begin() as conn:
        row = dict(conn.execute(sa.select(decisions).where(decisions.c.record_id == ids[1])).one()._mapping)
        conn.execute(decisions.insert().values(row | {"id": "dec_pursue_again"}))
    try:
        assert f"{ids[1]}: 2 pursue decisions, expected 1" in plan_problems(plat, ids)
    finally:
        with plat.engine.begin() as conn:
            conn.execute(decisions.delete().where(decisions.c.id == "dec_pursue_again"))
    assert f"{never}: no pursue plan instance pursue:{never}" in plan_problems(plat, [*ids, never])
