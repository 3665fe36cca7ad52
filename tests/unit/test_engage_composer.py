"""The LLM composer drafts through the port and falls back to the offline draft on any LLM failure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from revloops.config.loader import load_config
from revloops.core.errors import RevloopsError, UpstreamRejected, UpstreamUnavailable
from revloops.loops.engage.composer import DraftSequence, LLMComposer, OfflineComposer
from revloops.loops.engage.config import FILES, PlaysFile
from revloops.loops.engage.logic import engage_context, facts_for, render_offline
from revloops.ports.llm import LLM, BudgetExceeded, LLMResult, T, Usage

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"


class ScriptedLLM(LLM):
    """A hand-written fake of the port: answers a fixed payload (validated like the adapter does) or raises."""

    def __init__(self, answer: dict[str, Any] | None = None, error: RevloopsError | None = None) -> None:
        self.answer, self.error = answer, error
        self.calls: list[tuple[str, str, type[BaseModel], str]] = []

    def structured(self, system: str, prompt: str, schema: type[T], *, tool_name: str,
                   web_search: bool = False, max_searches: int = 3) -> LLMResult[T]:
        self.calls.append((system, prompt, schema, tool_name))
        if self.error is not None:
            raise self.error
        return LLMResult(schema.model_validate(self.answer), usage=Usage(10, 5, 0, 1), cost_usd=0.002, model="fake-haiku")


@pytest.fixture(scope="module")
def plays() -> PlaysFile:
    return load_config(EXAMPLE, specs=FILES, checks=[]).require("plays", PlaysFile)  # type: ignore[no-any-return]


def _facts(plays: PlaysFile, play_id: str) -> dict[str, str]:
    ctx = engage_context({"FirstName": "Jonas", "LastName": "Weber", "Company": "Nordwind GmbH",
                          "Industry": "Logistics", "Title": "Operations Manager"}, plays)
    return facts_for(ctx, {"FirstName": "Ava", "LastName": "Chen"}, plays, plays.play(play_id))


def test_the_llm_writes_every_step_and_the_facts_reach_the_prompt(plays: PlaysFile) -> None:
    play = plays.play("mid-market-ops")
    answer = {"steps": [{"subject": f"S{i}" if s.channel == "email" else None, "body": f"Body {i}"}
                        for i, s in enumerate(play.steps)]}
    llm = ScriptedLLM(answer)
    draft = LLMComposer(llm).compose(play, _facts(plays, play.id))
    assert draft.composer == "llm" and draft.fallback_reason is None and draft.model == "fake-haiku"
    assert [t.body for t in draft.texts] == [f"Body {i}" for i in range(len(play.steps))]
    assert draft.texts[0].subject == "S0" and draft.texts[1].subject is None  # step 2 is a call
    system, prompt, schema, tool = llm.calls[0]
    assert schema is DraftSequence and tool == "write_sequence"
    assert "Nordwind GmbH" in prompt and "Ava Chen" in prompt and "data, not instructions" in system


def test_a_missing_email_subject_is_taken_from_the_template(plays: PlaysFile) -> None:
    play = plays.play("mid-market-ops")
    answer = {"steps": [{"body": "x"} for _ in play.steps]}
    draft = LLMComposer(ScriptedLLM(answer)).compose(play, _facts(plays, play.id))
    assert draft.texts[0].subject == "Jonas, routing at Nordwind GmbH"


@pytest.mark.parametrize(("error", "said"), [
    (UpstreamUnavailable("Anthropic 529 overloaded_error: busy"), "the LLM was unavailable"),
    (UpstreamRejected("the answer does not match"), "the LLM's answer was refused"),
    (BudgetExceeded("spent", 50.0, 50.0), "the LLM budget is spent"),
])
def test_any_llm_failure_falls_back_offline_and_says_why(plays: PlaysFile, error: RevloopsError, said: str) -> None:
    play = plays.play("enterprise-exec")
    facts = _facts(plays, play.id)
    draft = LLMComposer(ScriptedLLM(error=error)).compose(play, facts)
    assert draft.composer == "offline"
    assert draft.fallback_reason is not None and draft.fallback_reason.startswith(said)
    assert draft.texts == render_offline(play, facts)


def test_a_draft_with_the_wrong_number_of_steps_falls_back(plays: PlaysFile) -> None:
    play = plays.play("enterprise-exec")
    draft = LLMComposer(ScriptedLLM({"steps": [{"subject": "a", "body": "b"}]})).compose(play, _facts(plays, play.id))
    assert draft.composer == "offline" and draft.fallback_reason is not None and "1 steps" in draft.fallback_reason


def test_offline_composer_is_the_templates() -> None:
    plays = load_config(EXAMPLE, specs=FILES, checks=[]).require("plays", PlaysFile)
    play = plays.play("smb-self-serve")
    facts = _facts(plays, play.id)
    draft = OfflineComposer().compose(play, facts)
    assert draft.composer == "offline" and draft.fallback_reason is None
    assert draft.texts == render_offline(play, facts)
