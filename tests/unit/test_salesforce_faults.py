"""The fault policy of the Salesforce adapter, against the fake Salesforce's injected faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from revloops.adapters.salesforce.auth import Authenticator, JwtBearerAuth, SessionAuth
from revloops.adapters.salesforce.crm import SalesforceCRM
from revloops.adapters.salesforce.transport import ApiUsage, RetryPolicy, SalesforceClient
from revloops.core.errors import UpstreamRejected, UpstreamUnavailable
from revloops.core.records import Account, Lead
from revloops.testing.fake_salesforce import ConnectedApp, FakeSalesforce, rsa_key_pair, running
from revloops.testing.servers import RunningServer

POLICY = RetryPolicy(attempts=3, base_delay=0.2, max_delay=1.0)


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    return rsa_key_pair()


@pytest.fixture
def org() -> Iterator[tuple[FakeSalesforce, RunningServer]]:
    with running() as (fake, server):
        yield fake, server


class Sleeps(list[float]):
    """Records backoff waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_crm(server: RunningServer, auth: Authenticator, sleeps: Sleeps, timeout: float = 5.0) -> SalesforceCRM:
    client = SalesforceClient(auth, ca_bundle=server.ca_file, timeout=timeout, retry=POLICY, sleep=sleeps)
    return SalesforceCRM(client)


def jwt_auth(fake: FakeSalesforce, server: RunningServer, keys: tuple[bytes, bytes]) -> JwtBearerAuth:
    fake.connected_app = ConnectedApp("3MVG9-test-app", "integration@acme.example", keys[1], audience=server.url)
    return JwtBearerAuth(server.url, "3MVG9-test-app", "integration@acme.example", keys[0])


def data_calls(fake: FakeSalesforce, method: str, fragment: str) -> int:
    return sum(1 for m, path in fake.calls if m == method and fragment in path)


def test_expired_session_signs_in_again_once_and_the_call_succeeds(org, keys) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    crm = make_crm(server, jwt_auth(fake, server, keys), Sleeps())
    first = crm.create(Account(Name="Before"))
    fake.inject("expired_session")
    second = crm.create(Account(Name="After"))
    assert len(fake.token_requests) == 2  # the first sign-in and exactly one renewal
    assert {crm.get("Account", i).Name for i in (first, second)} == {"Before", "After"}  # type: ignore[attr-defined]


def test_a_session_refused_twice_is_not_renewed_again(org, keys) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    crm = make_crm(server, jwt_auth(fake, server, keys), Sleeps())
    crm.create(Account(Name="Warm-up"))
    fake.inject("expired_session", times=2)
    with pytest.raises(UpstreamRejected, match="INVALID_SESSION_ID"):
        crm.get("Account", "0018d0000000001AAA")
    assert len(fake.token_requests) == 2


def test_an_expired_session_id_cannot_be_renewed(org) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    sleeps = Sleeps()
    crm = make_crm(server, SessionAuth(server.url, fake.new_session()), sleeps)
    fake.expire_sessions()
    with pytest.raises(UpstreamRejected, match="cannot renew"):
        crm.create(Account(Name="Nope"))
    assert sleeps == [] and data_calls(fake, "POST", "/sobjects/Account") == 1


def test_request_limit_is_retried_with_backoff_then_succeeds(org) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    sleeps = Sleeps()
    crm = make_crm(server, SessionAuth(server.url, fake.new_session()), sleeps)
    fake.inject("limit", times=2)
    record_id = crm.create(Lead(LastName="Ng", Company="Acme"))
    assert crm.get("Lead", record_id).Id == record_id
    assert len(sleeps) == 2
    # exponential with half jitter: the n-th wait lies in [ceiling/2, ceiling], ceiling = base * 2**(n-1)
    for n, waited in enumerate(sleeps, start=1):
        ceiling = min(POLICY.max_delay, POLICY.base_delay * 2 ** (n - 1))
        assert ceiling / 2 <= waited <= ceiling


@pytest.mark.parametrize("kind", ["limit", "server_error"])
def test_persistent_transient_failure_ends_as_upstream_unavailable(org, kind: str) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    sleeps = Sleeps()
    crm = make_crm(server, SessionAuth(server.url, fake.new_session()), sleeps)
    fake.inject(kind, times=10)
    with pytest.raises(UpstreamUnavailable) as info:
        crm.update("Lead", "00Q8d0000000001AAA", {"Rating": "Hot"})
    assert info.value.retryable
    assert data_calls(fake, "PATCH", "/sobjects/Lead/") == POLICY.attempts
    assert len(sleeps) == POLICY.attempts - 1


def test_retry_after_is_honoured_and_a_long_one_is_handed_back(org) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    sleeps = Sleeps()
    crm = make_crm(server, SessionAuth(server.url, fake.new_session()), sleeps)
    fake.inject("server_error", status=503, retry_after=0.9)
    crm.create(Account(Name="Patient"))
    assert sleeps and sleeps[0] >= 0.9
    fake.inject("server_error", status=503, retry_after=120)
    with pytest.raises(UpstreamUnavailable) as info:
        crm.create(Account(Name="Parked"))
    assert info.value.retry_after == 120  # longer than we wait in a call: the engine parks the work
    assert len(sleeps) == 1


def test_slow_reads_time_out_and_are_retried(org) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    sleeps = Sleeps()
    crm = make_crm(server, SessionAuth(server.url, fake.new_session()), sleeps, timeout=0.3)
    record_id = crm.create(Account(Name="Slowpoke"))
    fake.inject("slow", delay=1.0)
    assert crm.get("Account", record_id).Id == record_id  # first answer too late, the retry is on time
    assert len(sleeps) == 1
    fake.inject("slow", times=POLICY.attempts, delay=1.0)
    with pytest.raises(UpstreamUnavailable, match="in time"):
        crm.get("Account", record_id)


def test_a_create_that_timed_out_is_not_repeated(org) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    sleeps = Sleeps()
    crm = make_crm(server, SessionAuth(server.url, fake.new_session()), sleeps, timeout=0.3)
    fake.inject("slow", delay=1.0)
    with pytest.raises(UpstreamUnavailable, match="not repeated"):
        crm.create(Account(Name="Maybe"))
    assert data_calls(fake, "POST", "/sobjects/Account") == 1 and sleeps == []


def test_api_usage_follows_the_limit_header(org) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    crm = make_crm(server, SessionAuth(server.url, fake.new_session()), Sleeps())
    assert crm.api_usage is None
    crm.create(Account(Name="One"))
    crm.create(Account(Name="Two"))
    assert crm.api_usage == ApiUsage(2, 15000)
    fake.api_limit = 3
    crm.create(Account(Name="Three"))
    with pytest.raises(UpstreamUnavailable, match="limit"):
        crm.create(Account(Name="Four"))
    assert crm.api_usage == ApiUsage(3, 3)  # read from the refusals too


def test_a_closed_port_is_unavailable_not_rejected() -> None:
    with running() as (fake, server):
        token = fake.new_session()
    sleeps = Sleeps()
    crm = SalesforceCRM(SalesforceClient(SessionAuth(server.url, token), timeout=2, retry=POLICY, sleep=sleeps))
    with pytest.raises(UpstreamUnavailable):
        crm.get("Account", "0018d0000000001AAA")
    assert len(sleeps) == POLICY.attempts - 1
