"""The PDL adapter against the local fake: retries honour the reset header, failures map to our errors,
and every call's spend is logged."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from revloops.adapters.pdl.client import PdlEnrichment, reset_delay
from revloops.adapters.pdl.store import SpendLog
from revloops.adapters.sql.db import open_database
from revloops.core.errors import UpstreamRejected, UpstreamUnavailable
from revloops.ports.enrichment import EnrichmentTimeout
from revloops.testing.fake_pdl import FakePdl, Faults
from revloops.testing.servers import RunningServer, serve

KNOWN = "ava.chen@northwindtraders.com"


@pytest.fixture(scope="module")
def fake() -> FakePdl:
    return FakePdl()


@pytest.fixture(scope="module")
def server(fake: FakePdl) -> Iterator[RunningServer]:
    with serve(fake.app) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_faults(fake: FakePdl) -> Iterator[None]:
    fake.set_faults(Faults())
    yield
    fake.set_faults(Faults())


@pytest.fixture
def spend(tmp_path: Path) -> SpendLog:
    return SpendLog(open_database(f"sqlite:///{tmp_path / 'state.sqlite'}"))


class Sleeps:
    """A sleep that records what it was asked instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _adapter(server: RunningServer, sleeps: Sleeps | None = None, spend: SpendLog | None = None,
             key: str = "test-key", **kw: object) -> PdlEnrichment:
    return PdlEnrichment(key, f"{server.url}/v5", min_likelihood=2, spend=spend,
                         sleep=sleeps if sleeps is not None else Sleeps(), **kw)  # type: ignore[arg-type]


def test_429_waits_until_the_reset_header_then_succeeds(fake: FakePdl, server: RunningServer) -> None:
    fake.set_faults(Faults(count=1, statuses=(429,), reset_after=1.5))
    sleeps = Sleeps()
    answer = _adapter(server, sleeps).enrich_person(KNOWN)
    assert answer.facts is not None and answer.facts.full_name == "Ava Chen"
    assert len(sleeps.waits) == 1
    # the header named a moment 1.5 s after the fake answered; a little of it passed on the way back
    assert 1.0 < sleeps.waits[0] <= 1.5
    assert [status for _, _, status in fake.log[-2:]] == [429, 0]


def test_429_past_the_in_call_retry_raises_unavailable_with_retry_after(fake: FakePdl, server: RunningServer) -> None:
    fake.set_faults(Faults(count=2, statuses=(429,), reset_after=1.0))
    sleeps = Sleeps()
    with pytest.raises(UpstreamUnavailable) as info:
        _adapter(server, sleeps, retries=1).enrich_company("northwindtraders.com")
    assert len(sleeps.waits) == 1
    assert info.value.retry_after is not None and 0.5 < info.value.retry_after <= 1.0
    assert "rate_limit_error" in str(info.value)


def test_a_reset_beyond_max_wait_is_left_to_the_engine(fake: FakePdl, server: RunningServer) -> None:
    fake.set_faults(Faults(count=1, statuses=(429,), reset_after=30.0))
    sleeps = Sleeps()
    with pytest.raises(UpstreamUnavailable) as info:
        _adapter(server, sleeps, max_wait=2.0).enrich_person(KNOWN)
    assert sleeps.waits == []
    assert info.value.retry_after is not None and info.value.retry_after > 20


def test_500_is_retried_once_then_unavailable(fake: FakePdl, server: RunningServer) -> None:
    fake.set_faults(Faults(count=1, statuses=(500,)))
    sleeps = Sleeps()
    assert _adapter(server, sleeps).company("contoso.co.uk") is not None
    fake.set_faults(Faults(count=3, statuses=(500,)))
    with pytest.raises(UpstreamUnavailable) as info:
        _adapter(server, sleeps, retries=1).company("contoso.co.uk")
    assert info.value.retryable and "500" in str(info.value)
    assert [status for _, _, status in fake.log[-2:]] == [500, 500]


def test_a_slow_answer_is_a_timeout(fake: FakePdl, server: RunningServer) -> None:
    fake.set_faults(Faults(slow=1.0, slow_count=1))
    with pytest.raises(EnrichmentTimeout):
        _adapter(server, call_timeout=5.0).enrich_person(KNOWN, timeout=0.3)


def test_bad_key_and_no_credits_are_rejected(fake: FakePdl, server: RunningServer) -> None:
    with pytest.raises(UpstreamRejected, match="401"):
        _adapter(server, key="wrong").person(KNOWN)
    left = fake.credits_left
    fake.credits_left = 0
    try:
        with pytest.raises(UpstreamRejected, match="payment_required"):
            _adapter(server).person(KNOWN)
    finally:
        fake.credits_left = left


def test_unreachable_server_is_unavailable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    adapter = PdlEnrichment("test-key", f"http://127.0.0.1:{port}/v5", sleep=Sleeps())
    with pytest.raises(UpstreamUnavailable, match="unreachable"):
        adapter.person(KNOWN)


def test_every_call_is_logged_with_its_credits(fake: FakePdl, server: RunningServer, spend: SpendLog) -> None:
    adapter = _adapter(server, spend=spend)
    assert adapter.enrich_person(KNOWN).credits == 1.0
    assert adapter.enrich_person("nobody@nowhere.example").credits == 0.0
    fake.set_faults(Faults(count=1, statuses=(429,), reset_after=0.0))
    assert adapter.enrich_company("northwindtraders.com").facts is not None
    totals = spend.totals()
    assert totals.by_status == {"ok": 2, "not_found": 1, "rate_limited": 1}
    assert totals.calls == 4 and totals.credits == 2.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2026-11-29T10:00:05Z", 5.0),
        ("2026-11-29T10:00:05+00:00", 5.0),
        ("2026-11-29 10:00:07.500000+00:00", 7.5),
        (str(dt.datetime(2026, 11, 29, 10, 0, 3, tzinfo=dt.UTC).timestamp()), 3.0),
        ("Sun, 29 Nov 2026 10:00:09 GMT", 9.0),
        ("2026-11-29T09:59:00Z", 0.0),  # already past: no wait
        ("soon", None),
    ],
)
def test_reset_header_formats(header: str, expected: float | None) -> None:
    now = dt.datetime(2026, 11, 29, 10, 0, 0, tzinfo=dt.UTC)
    assert reset_delay({"x-ratelimit-reset": header}, now) == expected
