"""The Anthropic adapter against the local fake of the Messages API (the wire format, not our own code)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from revloops.adapters.anthropic import AnthropicLLM, Prices, SpendLedger
from revloops.adapters.sql.db import open_database
from revloops.core.errors import UpstreamRejected, UpstreamUnavailable
from revloops.ports.llm import BudgetExceeded, Citation
from revloops.testing.fake_anthropic import FakeAnthropic, SearchHit, ToolRequest
from revloops.testing.servers import RunningServer, serve


class Region(BaseModel):
    """The region an account belongs to."""

    country: str = Field(min_length=2, max_length=2)
    confidence: float = Field(ge=0, le=1)


def _region(req: ToolRequest) -> dict[str, object]:
    return {"country": "DE", "confidence": 0.9 if req.searched else 0.5}


@pytest.fixture
def fake() -> FakeAnthropic:
    return FakeAnthropic(responder=_region)


@pytest.fixture
def server(fake: FakeAnthropic) -> Iterator[RunningServer]:
    with serve(fake.app) as running:
        yield running


@pytest.fixture
def ledger(tmp_path: Path) -> SpendLedger:
    return SpendLedger(open_database(f"sqlite:///{tmp_path / 'state.sqlite'}"))


def _llm(server: RunningServer, ledger: SpendLedger, *, budget: float = 10.0, key: str = "test-key",
         waits: list[float] | None = None, **kw: object) -> AnthropicLLM:
    record = waits.append if waits is not None else (lambda s: None)
    return AnthropicLLM(key, "claude-haiku-5-5", ledger, budget_usd=budget, base_url=server.url, timeout=5,
                        sleep=record, **kw)  # type: ignore[arg-type]


def test_structured_answer_is_validated_and_the_tool_is_forced(
    fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger
) -> None:
    result = _llm(server, ledger).structured("You place accounts.", "Where is Acme GmbH?", Region,
                                              tool_name="place_account")
    assert result.value == Region(country="DE", confidence=0.5)
    assert result.citations == ()
    body = fake.requests[0]
    assert body["tool_choice"] == {"type": "tool", "name": "place_account"}
    assert body["tools"][0]["input_schema"]["properties"]["country"]["maxLength"] == 2
    assert "temperature" not in body
    headers = fake.headers[0]
    assert headers["authorization"] == "Bearer test-key"
    assert headers["anthropic-version"]


def test_invalid_tool_input_is_rejected(fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger) -> None:
    fake.responder = lambda req: {"country": "Germany", "confidence": 3}
    with pytest.raises(UpstreamRejected) as err:
        _llm(server, ledger).structured("s", "p", Region, tool_name="place_account")
    assert "country" in str(err.value) and "confidence" in str(err.value)


def test_wrong_key_is_rejected_without_retry(fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger) -> None:
    waits: list[float] = []
    with pytest.raises(UpstreamRejected):
        _llm(server, ledger, key="wrong", waits=waits).structured("s", "p", Region, tool_name="t")
    assert waits == []


def test_429_is_retried_honouring_retry_after(fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger) -> None:
    fake.fail_next(429, times=2, retry_after=3)
    waits: list[float] = []
    result = _llm(server, ledger, waits=waits).structured("s", "p", Region, tool_name="t")
    assert result.value.country == "DE"
    assert waits == [3.0, 3.0]
    assert len(fake.requests) == 3


def test_529_retries_are_bounded_then_unavailable(
    fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger
) -> None:
    fake.fail_always(529)
    waits: list[float] = []
    with pytest.raises(UpstreamUnavailable) as err:
        _llm(server, ledger, waits=waits, max_attempts=3).structured("s", "p", Region, tool_name="t")
    assert err.value.retryable
    assert len(fake.requests) == 3
    assert len(waits) == 2 and waits[1] > waits[0]  # backoff without a retry-after
    assert ledger.spent_this_month() == 0.0  # failed answers cost nothing


def test_a_long_retry_after_is_left_to_the_caller(
    fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger
) -> None:
    fake.fail_next(429, retry_after=120)
    waits: list[float] = []
    with pytest.raises(UpstreamUnavailable) as err:
        _llm(server, ledger, waits=waits).structured("s", "p", Region, tool_name="t")
    assert err.value.retry_after == 120.0
    assert waits == []


def test_a_slow_answer_times_out_as_unavailable(
    fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger
) -> None:
    fake.slow_next(2.0)
    llm = AnthropicLLM("test-key", "m", ledger, budget_usd=1, base_url=server.url, timeout=0.3,
                       max_attempts=1, sleep=lambda s: None)
    with pytest.raises(UpstreamUnavailable):
        llm.structured("s", "p", Region, tool_name="t")


def test_web_search_returns_citations_and_searched_data(
    fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger
) -> None:
    fake.hits = [SearchHit("https://a.example/x", "A", "Acme is in Berlin."),
                 SearchHit("https://b.example/y", "B", "Acme GmbH, Berlin.")]
    result = _llm(server, ledger).structured("s", "Where is Acme?", Region, tool_name="place",
                                              web_search=True, max_searches=2)
    assert result.value.confidence == 0.9  # the answer came after the search
    assert result.citations == (Citation("https://a.example/x", "A", "Acme is in Berlin."),
                                Citation("https://b.example/y", "B", "Acme GmbH, Berlin."))
    assert result.usage.web_search_requests == 1
    search_tool = fake.requests[0]["tools"][0]
    assert search_tool == {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}


def test_paused_turn_is_continued(fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger) -> None:
    fake.pause_first = True
    result = _llm(server, ledger).structured("s", "p", Region, tool_name="place", web_search=True)
    assert result.value.country == "DE"
    assert len(fake.requests) == 2
    sent_back = fake.requests[1]["messages"][-1]
    assert sent_back["role"] == "assistant"
    assert [b["type"] for b in sent_back["content"]][:2] == ["server_tool_use", "web_search_tool_result"]
    assert len(result.citations) == 1 and result.usage.requests == 2


def test_answer_is_forced_when_the_search_turn_ends_in_text(
    fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger
) -> None:
    fake.answer_after_search = False
    result = _llm(server, ledger).structured("s", "p", Region, tool_name="place", web_search=True)
    assert result.value.confidence == 0.9
    assert fake.requests[0]["tool_choice"] == {"type": "auto"}
    assert fake.requests[1]["tool_choice"] == {"type": "tool", "name": "place"}
    assert result.citations  # the citations of the first turn are kept


def test_spend_is_recorded_and_the_budget_enforced(
    fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger
) -> None:
    fake.usage = (1_000_000, 200_000)  # $1 in + $1 out at the default prices
    llm = _llm(server, ledger, budget=2.5)
    first = llm.structured("s", "p", Region, tool_name="t", web_search=True)
    assert first.cost_usd == pytest.approx(1.0 + 1.0 + 0.01)
    assert ledger.spent_this_month() == pytest.approx(2.01)
    llm.structured("s", "p", Region, tool_name="t")  # 2.01 < 2.5: allowed, now 4.01
    sent = len(fake.requests)
    with pytest.raises(BudgetExceeded) as err:
        llm.structured("s", "p", Region, tool_name="t")
    assert len(fake.requests) == sent  # nothing was sent
    assert err.value.spent_usd == pytest.approx(4.01)
    assert Prices().cost(first.usage) == first.cost_usd


def test_a_failed_search_still_answers_without_citations(
    fake: FakeAnthropic, server: RunningServer, ledger: SpendLedger
) -> None:
    fake.search_error = "unavailable"
    result = _llm(server, ledger).structured("s", "p", Region, tool_name="place", web_search=True)
    assert result.value.country == "DE" and result.citations == ()


def test_build_llm_needs_a_key(tmp_path: Path, server: RunningServer) -> None:
    from revloops.adapters.anthropic import build_llm
    from revloops.settings import Settings

    engine = open_database(f"sqlite:///{tmp_path / 'b.sqlite'}")
    assert build_llm(Settings(anthropic_api_key=None), engine) is None
    llm = build_llm(Settings(anthropic_api_key="test-key", anthropic_base_url=server.url, llm_budget_usd=7), engine)
    assert isinstance(llm, AnthropicLLM) and llm.budget_usd == 7 and llm.model == "claude-haiku-5-5"
    assert llm.structured("s", "p", Region, tool_name="t").value.country == "DE"
