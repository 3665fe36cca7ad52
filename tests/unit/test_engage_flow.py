"""engage_lead: one sequence and one task per lead, however often it runs; the decision is logged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from revloops.adapters.sql.tables import engage_sequences
from revloops.bootstrap import Platform
from revloops.config.loader import load_config
from revloops.core.records import Lead, Task, User
from revloops.loops.engage.config import FILES, PlaysFile
from revloops.loops.engage.flow import engage_lead, task_key
from revloops.loops.engage.logic import EngageSequence
from revloops.loops.engage.metrics import engage_metrics
from revloops.ports.crm import Query, eq
from revloops.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
NOW = dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC)  # Wednesday before Thanksgiving


@pytest.fixture
def plat(tmp_path: Path) -> Platform:
    settings = Settings(db=f"sqlite:///{tmp_path / 'state.sqlite'}", config=EXAMPLE, anthropic_api_key=None)
    return Platform(settings, _config=load_config(EXAMPLE, specs=FILES, checks=[]))


def _owner(plat: Platform) -> str:
    return plat.crm.create(User(Username="ava@acme.example", Email="ava@acme.example", FirstName="Ava",
                                LastName="Chen"))


def _lead(plat: Platform, **fields: object) -> str:
    base: dict[str, object] = {"FirstName": "Dana", "LastName": "Ruiz", "Company": "Bluepeak Inc", "Title": "CFO",
                               "Industry": "Software", "Country": "United States", "State": "CA",
                               "NumberOfEmployees": 2500, "Segment__c": "enterprise", "LeadSource": "Web"}
    base.update(fields)
    return plat.crm.create(Lead(**base))  # type: ignore[arg-type]


def _tasks(plat: Platform, lead_id: str) -> list[Task]:
    return [t for t in plat.crm.query_all(Query("Task")) if isinstance(t, Task) and t.WhoId == lead_id]


def test_engage_stores_a_sequence_lands_a_task_and_logs_the_decision(plat: Platform) -> None:
    owner, lead = _owner(plat), _lead(plat)
    decision = engage_lead(plat, lead, owner, actor="workflow:lead-1", now=NOW)
    assert decision.loop == "engage" and decision.outcome == "enterprise-exec"
    assert plat.decisions.get(decision.id) == decision
    stored = plat.sequences.get(lead)
    assert stored is not None and stored.decision.id == decision.id
    assert EngageSequence.model_validate(stored.sequence).timezone == "America/Los_Angeles"
    assert EngageSequence.model_validate(stored.sequence).steps[1].date == dt.date(2026, 11, 30)  # day 3 is Saturday: moved to Monday
    (task,) = _tasks(plat, lead)
    assert task.Revloops_Key__c == task_key(lead) and task.OwnerId == owner and task.Id == stored.task_id
    assert task.ActivityDate == dt.date(2026, 11, 25)
    assert task.Subject is not None and "Dana Ruiz" in task.Subject
    assert task.Description is not None
    assert "Why this play: Matched enterprise-exec" in task.Description
    assert "Subject: Revenue operations as code at Bluepeak Inc" in task.Description
    assert "Ava Chen" in task.Description and "drafted offline" not in task.Description


def test_a_second_run_changes_nothing(plat: Platform) -> None:
    owner, lead = _owner(plat), _lead(plat)
    first = engage_lead(plat, lead, owner, now=NOW)
    task_before = _tasks(plat, lead)[0]
    # Later, different inputs: still the first run's sequence, task and decision.
    second = engage_lead(plat, lead, owner, {"segment": "smb"}, now=NOW + dt.timedelta(days=3))
    assert second == first
    assert _tasks(plat, lead) == [task_before]
    with plat.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(engage_sequences)).scalar_one() == 1
    assert [d.id for d in plat.decisions.for_record(lead, loop="engage")] == [first.id]


def test_a_rerun_after_a_crash_lands_the_missing_task(plat: Platform) -> None:
    owner, lead = _owner(plat), _lead(plat)
    first = engage_lead(plat, lead, owner, now=NOW)
    (task,) = _tasks(plat, lead)
    plat.crm.delete("Task", task.Id or "")  # as if the run died between storing the sequence and the task
    again = engage_lead(plat, lead, owner, now=NOW)
    assert again.id == first.id
    (new_task,) = _tasks(plat, lead)
    assert new_task.Subject == task.Subject and new_task.Description == task.Description
    stored = plat.sequences.get(lead)
    assert stored is not None and stored.task_id == new_task.Id


def test_a_queue_owner_leaves_the_task_unowned(plat: Platform) -> None:
    lead = _lead(plat, Segment__c="smb", NumberOfEmployees=20, Title="Analyst")
    decision = engage_lead(plat, lead, "00G000000000001AAA", now=NOW)
    assert decision.outcome == "smb-self-serve"
    (task,) = _tasks(plat, lead)
    assert task.OwnerId is None
    assert task.Description is not None and "Your account team" in task.Description


def test_the_callers_context_drives_the_play(plat: Platform) -> None:
    owner, lead = _owner(plat), _lead(plat)
    ctx = {"FirstName": "Dana", "LastName": "Ruiz", "Company": "Bluepeak Inc", "geo.country": "DE",
           "signal.type": "funding", "signal.summary": "Bluepeak raised a Series C"}
    decision = engage_lead(plat, lead, owner, ctx, now=NOW)
    assert decision.outcome == "outbound-funding"
    assert decision.detail["timezone"] == "Europe/Berlin"
    assert "Bluepeak raised a Series C" in decision.detail["task"]["Description"]


def test_no_play_is_a_pending_decision_and_no_task(plat: Platform, tmp_path: Path) -> None:
    cfg = tmp_path / "cfg" / "engage"
    cfg.mkdir(parents=True)
    (cfg / "plays.yaml").write_text(
        "plays:\n  - id: only-partners\n    name: P\n    priority: 1\n    when: {LeadSource: {eq: Partner}}\n"
        "    steps: [{day: 0, channel: email, template: 'Hi {first_name}'}]\n")
    plat._config = load_config(cfg.parent, specs=FILES, checks=[])
    owner, lead = _owner(plat), _lead(plat)
    decision = engage_lead(plat, lead, owner, now=NOW)
    assert decision.outcome == "pending:no_play"
    assert _tasks(plat, lead) == [] and plat.sequences.get(lead) is None


def test_metrics_count_sequences_by_play_and_tasks(plat: Platform) -> None:
    owner = _owner(plat)
    for i in range(3):
        engage_lead(plat, _lead(plat, LastName=f"L{i}"), owner, now=NOW)
    engage_lead(plat, _lead(plat, LeadSource="Partner"), owner, now=NOW)
    m = engage_metrics(plat.sequences, plat.llm_spend)
    assert m.sequences == 4 and m.by_play == {"enterprise-exec": 3, "partner-sourced": 1}
    assert m.by_composer == {"offline": 4} and m.fallbacks == 0 and m.fallback_rate == 0.0
    assert m.tasks_landed == 4 and len(list(plat.crm.query_all(eq("Task", Status="Not Started")))) == 4
    assert isinstance(plat.config.get("plays"), PlaysFile)
