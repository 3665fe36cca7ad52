"""Engage on the real Anthropic adapter against the local fake: drafts by Claude, and when Claude keeps
answering 529, every lead still completes with the offline draft and a task that says so."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from revloops.adapters.anthropic import AnthropicLLM, SpendLedger
from revloops.bootstrap import Platform
from revloops.config.loader import load_config
from revloops.core.records import Lead, Task, User
from revloops.loops.engage.config import FILES
from revloops.loops.engage.flow import engage_lead
from revloops.loops.engage.logic import EngageSequence
from revloops.loops.engage.metrics import engage_metrics
from revloops.ports.crm import Query
from revloops.settings import Settings
from revloops.testing.fake_anthropic import FakeAnthropic, ToolRequest
from revloops.testing.servers import RunningServer, serve

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
NOW = dt.datetime(2026, 11, 25, 6, 0, tzinfo=dt.UTC)


def _drafts(req: ToolRequest) -> dict[str, Any]:
    """Writes one step per step listed in the prompt, naming the lead's company it was given."""
    count = req.prompt.count('"step":')
    company = "Bluepeak Inc" if "Bluepeak Inc" in req.prompt else "?"
    return {"steps": [{"subject": f"Claude {i} for {company}", "body": f"Claude wrote step {i} for {company}."}
                      for i in range(count)]}


@pytest.fixture
def fake() -> FakeAnthropic:
    return FakeAnthropic(responder=_drafts)


@pytest.fixture
def server(fake: FakeAnthropic) -> Iterator[RunningServer]:
    with serve(fake.app) as running:
        yield running


@pytest.fixture
def plat(tmp_path: Path, server: RunningServer) -> Platform:
    settings = Settings(db=f"sqlite:///{tmp_path / 'state.sqlite'}", config=EXAMPLE)
    plat = Platform(settings, _config=load_config(EXAMPLE, specs=FILES, checks=[]))
    plat.llm = AnthropicLLM("test-key", "claude-haiku-5-5", SpendLedger(plat.engine), budget_usd=5.0,
                            base_url=server.url, timeout=5, max_attempts=2, sleep=lambda s: None)
    return plat


def _seed(plat: Platform, n: int) -> tuple[str, list[str]]:
    owner = plat.crm.create(User(Username="ava@acme.example", Email="ava@acme.example", FirstName="Ava",
                                 LastName="Chen"))
    leads = [plat.crm.create(Lead(FirstName="Dana", LastName=f"Ruiz{i}", Company="Bluepeak Inc", Title="CFO",
                                  Country="US", State="NY", Segment__c="enterprise")) for i in range(n)]
    return owner, leads


def test_claude_drafts_the_sequence_and_the_spend_is_logged(fake: FakeAnthropic, plat: Platform) -> None:
    owner, (lead,) = _seed(plat, 1)
    decision = engage_lead(plat, lead, owner, now=NOW)
    assert decision.detail["composer"] == "llm" and decision.detail["model"] == "claude-haiku-5-5"
    stored = plat.sequences.get(lead)
    assert stored is not None
    assert EngageSequence.model_validate(stored.sequence).steps[0].body == "Claude wrote step 0 for Bluepeak Inc."
    assert EngageSequence.model_validate(stored.sequence).steps[0].subject == "Claude 0 for Bluepeak Inc"
    assert EngageSequence.model_validate(stored.sequence).steps[2].subject is None  # a call has no subject whatever the model says
    assert fake.requests[0]["tool_choice"] == {"type": "tool", "name": "write_sequence"}
    assert "Drafted by: Claude (claude-haiku-5-5)" in decision.detail["task"]["Description"]
    assert engage_metrics(plat.sequences, plat.llm_spend).llm_cost_usd == pytest.approx(decision.detail["cost_usd"])
    assert decision.detail["cost_usd"] > 0


def test_overloaded_llm_every_lead_completes_offline_and_nothing_is_lost(
    fake: FakeAnthropic, plat: Platform
) -> None:
    fake.fail_always(529)
    owner, leads = _seed(plat, 6)
    decisions = [engage_lead(plat, lead, owner, now=NOW) for lead in leads]
    assert [d.outcome for d in decisions] == ["enterprise-exec"] * 6
    tasks = [t for t in plat.crm.query_all(Query("Task")) if isinstance(t, Task)]
    assert sorted(t.WhoId or "" for t in tasks) == sorted(leads)  # one task per lead, none missing
    for task in tasks:
        assert task.Description is not None
        assert "drafted offline because the LLM was unavailable" in task.Description
        assert "529" in task.Description
        assert "Subject: Revenue operations as code at Bluepeak Inc" in task.Description
    assert len(fake.requests) == 6 * 2  # each lead tried twice (bounded), then fell back
    m = engage_metrics(plat.sequences, plat.llm_spend)
    assert m.sequences == 6 and m.fallbacks == 6 and m.fallback_rate == 1.0 and m.tasks_landed == 6
    fake.fail_always(None)
    assert engage_lead(plat, leads[0], owner, now=NOW) == decisions[0]  # a rerun keeps the first outcome
    assert len(fake.requests) == 12
