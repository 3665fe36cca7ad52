"""Sign-in to Salesforce: the JWT bearer assertion, session ids, TLS trust and settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests

from revloops.adapters.salesforce.auth import JwtBearerAuth, SessionAuth
from revloops.adapters.salesforce.crm import SalesforceCRM
from revloops.adapters.salesforce.transport import RetryPolicy, SalesforceClient
from revloops.core.errors import InputError, UpstreamRejected, UpstreamUnavailable
from revloops.core.records import Account
from revloops.settings import Settings
from revloops.testing.fake_salesforce import ConnectedApp, FakeSalesforce, rsa_key_pair, running
from revloops.testing.servers import RunningServer

APP, USER = "3MVG9-test-app", "integration@acme.example"


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    return rsa_key_pair()


@pytest.fixture
def org(keys: tuple[bytes, bytes]) -> Iterator[tuple[FakeSalesforce, RunningServer]]:
    with running() as (fake, server):
        fake.connected_app = ConnectedApp(APP, USER, keys[1], audience=server.url)
        yield fake, server


def test_jwt_assertion_is_signed_with_the_apps_key_and_names_app_user_and_login_server(keys) -> None:  # type: ignore[no-untyped-def]
    auth = JwtBearerAuth("https://login.salesforce.com/", APP, USER, keys[0], clock=lambda: 1_800_000_000.0)
    claims = jwt.decode(auth.assertion(), keys[1], algorithms=["RS256"], audience="https://login.salesforce.com",
                        options={"verify_exp": False})
    assert claims == {"iss": APP, "sub": USER, "aud": "https://login.salesforce.com", "exp": 1_800_000_180}
    other_private, _ = rsa_key_pair()
    forged = JwtBearerAuth("https://login.salesforce.com", APP, USER, other_private).assertion()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, keys[1], algorithms=["RS256"], audience="https://login.salesforce.com")


def test_jwt_sign_in_posts_the_assertion_to_the_token_endpoint(org, keys) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    client = SalesforceClient(JwtBearerAuth(server.url, APP, USER, keys[0]), ca_bundle=server.ca_file, timeout=5)
    crm = SalesforceCRM(client)
    crm.create(Account(Name="Signed in"))
    (claims,) = fake.token_requests
    assert (claims["iss"], claims["sub"], claims["aud"]) == (APP, USER, server.url)
    assert 0 < claims["exp"] - time.time() <= 180
    assert client.token is not None and client.token.instance_url == server.url
    assert client.token.identity_url and client.token.identity_url.endswith(fake.user["user_id"])


def test_a_user_the_app_is_not_approved_for_is_rejected(org, keys) -> None:  # type: ignore[no-untyped-def]
    _, server = org
    client = SalesforceClient(JwtBearerAuth(server.url, APP, "intruder@acme.example", keys[0]),
                              ca_bundle=server.ca_file, timeout=5)
    with pytest.raises(UpstreamRejected, match="approved"):
        SalesforceCRM(client).create(Account(Name="No"))


def test_an_untrusted_certificate_is_rejected_not_retried(org) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    waits: list[float] = []
    client = SalesforceClient(SessionAuth(server.url, fake.new_session()), timeout=5, sleep=waits.append)
    with pytest.raises(UpstreamRejected, match="TLS"):
        SalesforceCRM(client).get("Account", "0018d0000000001AAA")
    assert waits == []


def test_calls_without_request_options_still_time_out(org) -> None:  # type: ignore[no-untyped-def]
    fake, server = org
    client = SalesforceClient(SessionAuth(server.url, fake.new_session()), ca_bundle=server.ca_file, timeout=0.3,
                              retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02))
    fake.inject("slow", times=2, delay=1.0)
    with pytest.raises(UpstreamUnavailable):
        SalesforceCRM(client).identity()  # simple-salesforce's oauth2() forwards no timeout


def test_session_auth_uses_the_given_session_as_is() -> None:
    token = SessionAuth("https://acme.my.salesforce.com/", "00D!abc").sign_in(requests.Session())
    assert (token.instance_url, token.access_token) == ("https://acme.my.salesforce.com", "00D!abc")


def test_from_settings_picks_the_sign_in_and_names_missing_settings(tmp_path: Path, keys) -> None:  # type: ignore[no-untyped-def]
    key_file = tmp_path / "server.key"
    key_file.write_bytes(keys[0])
    jwt_crm = SalesforceCRM.from_settings(Settings(crm="salesforce", sf_client_id=APP, sf_username=USER,
                                                   sf_private_key_file=key_file, sf_timeout=7))
    assert isinstance(jwt_crm.client.auth, JwtBearerAuth) and jwt_crm.client.request_kwargs["timeout"] == 7
    session_crm = SalesforceCRM.from_settings(Settings(crm="salesforce", sf_instance_url="https://acme.my.salesforce.com",
                                                       sf_access_token="00D!abc"))  # type: ignore[arg-type]
    assert isinstance(session_crm.client.auth, SessionAuth)
    with pytest.raises(InputError, match="REVLOOPS_SF_INSTANCE_URL"):
        SalesforceCRM.from_settings(Settings(crm="salesforce"))
    with pytest.raises(InputError) as info:
        SalesforceCRM.from_settings(Settings(crm="salesforce", sf_client_id=APP, sf_username=USER,
                                             sf_private_key_file=tmp_path / "missing.key"))
    assert info.value.field == "REVLOOPS_SF_PRIVATE_KEY_FILE"
