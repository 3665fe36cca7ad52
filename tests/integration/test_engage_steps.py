"""Engage composes, then lands: a CRM failure while landing is retried without drafting again.

With an LLM configured the chain drafts in a child run on the ``llm`` queue and lands the checkpointed plan in
a step of its own; the first Task upsert failing makes that step retry, and the LLM is still asked once per lead,
with one task per lead. Without an LLM, engaging stays one step with no child run.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
from dbos import DBOS
from pydantic import BaseModel

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.bootstrap import Platform, build
from revloops.chains.inbound import start_lead
from revloops.config.loader import load_config
from revloops.core.errors import UpstreamUnavailable
from revloops.core.records import Lead, Task, User
from revloops.engine import setup
from revloops.loops.engage.composer import LLMComposer
from revloops.loops.engage.config import FILES
from revloops.loops.engage.flow import EngagePlan, compose, land, task_key
from revloops.loops.engage.logic import EngageSequence
from revloops.loops.generate.roster import named_users_from_config
from revloops.loops.generate.seed import generate_org, write_org
from revloops.ports.crm import CRM, Query, SaveResult, eq
from revloops.ports.llm import LLM, LLMResult
from revloops.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
T = TypeVar("T", bound=BaseModel)


class CountingLLM(LLM):
    """An LLM at the port that writes one step per step the prompt lists, and counts the calls."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def structured(self, system: str, prompt: str, schema: type[T], *, tool_name: str, web_search: bool = False,
                   max_searches: int = 3) -> LLMResult[T]:
        with self._lock:
            self.calls += 1
        steps = [{"subject": f"Drafted {i}", "body": f"Drafted step {i}."} for i in range(prompt.count('"step":'))]
        return LLMResult(value=schema.model_validate({"steps": steps}), model="counting-1", cost_usd=0.01)


class FirstTaskUpsertFails(LocalCRM):
    """The local CRM answering 503 to the first Task upsert, then working; it counts the Task upserts."""

    def __init__(self, crm: CRM) -> None:
        assert isinstance(crm, LocalCRM)
        super().__init__(crm.engine)
        self.failures_left = 1
        self.task_upserts = 0

    def upsert(self, sobject: str, external_id_field: str, external_id: str, fields: Mapping[str, Any]) -> SaveResult:
        if sobject == "Task":
            self.task_upserts += 1
            if self.failures_left:
                self.failures_left -= 1
                raise UpstreamUnavailable("the CRM answered 503: server unavailable")
        return super().upsert(sobject, external_id_field, external_id, fields)


def _tasks(plat: Platform, lead_id: str) -> list[Any]:
    return list(plat.crm.query_all(eq("Task", Revloops_Key__c=task_key(lead_id))))


def test_landing_again_after_a_crm_failure_does_not_draft_again(tmp_path: Path) -> None:
    settings = Settings(db=f"sqlite:///{tmp_path / 'state.sqlite'}", config=EXAMPLE, anthropic_api_key=None)
    plat = Platform(settings, _config=load_config(EXAMPLE, specs=FILES, checks=[]))
    crm = FirstTaskUpsertFails(plat.crm)
    plat.__dict__["crm"] = crm
    llm = CountingLLM()
    owner = crm.create(User(Username="ava@acme.example", Email="ava@acme.example", FirstName="Ava", LastName="Chen"))
    lead = crm.create(Lead(FirstName="Dana", LastName="Ruiz", Company="Bluepeak Inc", Title="CFO", Country="US",
                           State="NY", Segment__c="enterprise"))

    plan = compose(plat, lead, owner, composer=LLMComposer(llm))
    checkpointed = plan.model_dump(mode="json")  # what the chain keeps between the two steps
    with pytest.raises(UpstreamUnavailable):
        land(plat, EngagePlan.model_validate(checkpointed))
    assert _tasks(plat, lead) == [] and plat.sequences.get(lead) is None  # the failed landing left nothing
    decision = land(plat, EngagePlan.model_validate(checkpointed))  # the step's retry

    assert llm.calls == 1 and crm.task_upserts == 2
    [task] = _tasks(plat, lead)
    stored = plat.sequences.get(lead)
    assert plan.decision is not None and stored is not None
    assert stored.task_id == task.Id and stored.decision.id == decision.id == plan.decision.id
    sequence = EngageSequence.model_validate(stored.sequence)
    assert sequence.composer == "llm" and sequence.steps[0].body == "Drafted step 0."
    assert "counting-1" in str(task.Description)


def _org(root: Path, leads: int) -> Platform:
    config = root / "config"
    shutil.copytree(EXAMPLE, config)
    plat = build(config=config, db=f"sqlite:///{root / 'state.sqlite'}", state_dir=root)
    org = generate_org(users=6, accounts=20, leads=leads, seed=11, named_users=named_users_from_config(plat.config),
                       history=False)  # fresh inbound leads, as the chain receives them
    write_org(plat.crm, org)
    return plat


def _lead_ids(plat: Platform) -> list[str]:
    return [str(lead.Id) for lead in plat.crm.query_all(Query("Lead", order_by=(("CreatedDate", False),)))]


@pytest.fixture
def engine_off() -> Iterator[None]:
    yield
    setup.shutdown()


@pytest.mark.timeout(120)
def test_the_chain_drafts_once_per_lead_when_landing_is_retried(tmp_path: Path, engine_off: None) -> None:
    plat = _org(tmp_path, leads=4)
    crm = FirstTaskUpsertFails(plat.crm)
    plat.__dict__["crm"] = crm  # the ports the steps use, swapped before the engine starts
    llm = CountingLLM()
    plat.__dict__["llm"] = llm
    ids = _lead_ids(plat)
    setup.launch(plat)
    results: list[dict[str, Any]] = [DBOS.retrieve_workflow(start_lead(i)).get_result() for i in ids]

    engaged = [r["lead_id"] for r in results if r["play"] is not None]
    assert engaged, "no lead was routed to a user, so none was engaged"
    assert crm.failures_left == 0 and crm.task_upserts == len(engaged) + 1  # one landing was retried
    assert llm.calls == len(engaged)  # ... and no lead was drafted twice
    for lead_id in engaged:
        [task] = _tasks(plat, lead_id)
        assert isinstance(task, Task) and "counting-1" in str(task.Description)
    drafts = DBOS.list_workflows(name="lead.draft")
    assert sorted(w.workflow_id for w in drafts) == sorted(f"draft-{i}" for i in engaged)
    assert {w.queue_name for w in drafts} == {"llm"}
    steps = [s["function_name"] for s in DBOS.list_workflow_steps(f"lead-{engaged[0]}")]
    assert "land_step" in steps and "engage_step" not in steps


@pytest.mark.timeout(120)
def test_without_an_llm_engaging_stays_one_step_with_no_child_run(tmp_path: Path, engine_off: None) -> None:
    plat = _org(tmp_path, leads=3)
    ids = _lead_ids(plat)
    setup.launch(plat)
    results: list[dict[str, Any]] = [DBOS.retrieve_workflow(start_lead(i)).get_result() for i in ids]

    engaged = [r["lead_id"] for r in results if r["play"] is not None]
    assert engaged
    assert DBOS.list_workflows(name="lead.draft") == []
    for lead_id in engaged:
        steps = [s["function_name"] for s in DBOS.list_workflow_steps(f"lead-{lead_id}")]
        assert steps.count("engage_step") == 1 and "compose_step" not in steps and "land_step" not in steps
        assert len(_tasks(plat, lead_id)) == 1
