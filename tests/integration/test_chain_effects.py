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
from revloops.ports.crm import Query

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
CHAIN_LOOPS = ("generate", "qualify", "route", "engage")


def seeded_org(root: Path, *, leads: int, accounts: int = 60, db: str | None = None, seed: int = 11,
               **settings: Any) -> Platform:
    """A private copy of the example org's config, its local CRM seeded with ``leads`` leads."""
    config = root / "config"
    if not config.exists():
        shutil.copytree(EXAMPLE, config)
    plat = build(config=config, db=db or f"sqlite:///{root / 'state.sqlite'}", state_dir=root, **settings)
    app_on(plat).seed_org(Caller.operator("seed"), users=6, accounts=accounts, leads=leads, seed=seed)
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


def _decisions(engine: sa.Engine) -> dict[tuple[str, str], list[Any]]:
    by_key: dict[tuple[str, str], list[Any]] = {}
    with engine.connect() as conn:
        rows = conn.execute(sa.select(decisions.c.id, decisions.c.loop, decisions.c.record_id,
                                      decisions.c.outcome, decisions.c.detail)
                            .where(decisions.c.loop.in_(CHAIN_LOOPS))).all()
    for row in rows:
        by_key.setdefault((row.loop, row.record_id), []).append(row)
    return by_key


def _sequences(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {row.lead_id: row for row in conn.execute(sa.select(engage_sequences))}


class _Check:
    """Collects what is wrong, one line per problem, so a failure names every bad lead at once."""

    def __init__(self, plat: Platform) -> None:
        self.problems: list[str] = []
        self.decisions = _decisions(plat.engine)
        self.sequences = _sequences(plat.engine)
        self.leads = {str(lead.Id): lead for lead in plat.crm.query_all(Query("Lead"))}
        self.tasks: dict[str, list[Any]] = {}
        for task in plat.crm.query_all(Query("Task")):
            self.tasks.setdefault(str(task.Revloops_Key__c), []).append(task)

    def need(self, ok: bool, problem: str) -> bool:
        if not ok:
            self.problems.append(problem)
        return ok

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
