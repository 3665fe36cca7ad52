"""`crm check` against the fake Salesforce and the embedded local CRM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from revloops.adapters.salesforce.auth import SessionAuth
from revloops.adapters.salesforce.crm import SalesforceCRM
from revloops.adapters.salesforce.transport import RetryPolicy, SalesforceClient
from revloops.app.crm_check import NEEDS, crm_check
from revloops.app.models import CrmCheck
from revloops.bootstrap import Platform
from revloops.interfaces.cli.crm_cmds import render_check
from revloops.settings import Settings
from revloops.testing.fake_salesforce import FakeSalesforce, running


@pytest.fixture
def org() -> Iterator[tuple[FakeSalesforce, SalesforceCRM]]:
    with running() as (fake, server):
        client = SalesforceClient(SessionAuth(server.url, fake.new_session()), ca_bundle=server.ca_file, timeout=5,
                                  retry=RetryPolicy(attempts=1))
        yield fake, SalesforceCRM(client)
        client.close()


def _text(report: dict) -> str:  # type: ignore[type-arg]
    console = Console(record=True, width=160)
    render_check(CrmCheck.model_validate(report), console)
    return console.export_text()


def test_a_ready_org_passes_with_identity_and_usage(org) -> None:  # type: ignore[no-untyped-def]
    fake, crm = org
    report = crm_check(Settings(crm="salesforce"), lambda: crm)
    assert report["ok"] and report["sign_in"]["ok"] and report["crm"] == "salesforce"
    assert report["user"]["preferred_username"] == fake.user["preferred_username"]
    assert report["api_usage"]["limit"] == fake.api_limit and 0 < report["api_usage"]["used"] <= fake.api_used
    assert [row["object"] for row in report["objects"]] == list(NEEDS)
    json.dumps(report)  # the --json output
    assert "ready" in _text(report) and "integration@acme.example" in _text(report)


def test_missing_fields_and_permissions_are_named(org) -> None:  # type: ignore[no-untyped-def]
    fake, crm = org
    fake.store.hidden_fields["Lead"] = {"Routing_Decision_Id__c"}
    fake.store.access["Territory2"] = {"createable": False}
    report = crm_check(Settings(crm="salesforce"), lambda: crm)
    rows = {row["object"]: row for row in report["objects"]}
    assert not report["ok"]
    assert rows["Lead"]["missing_fields"] == ["Routing_Decision_Id__c"] and not rows["Lead"]["ok"]
    assert rows["Territory2"]["lacking"] == ["create"]
    assert rows["ObjectTerritory2Association"]["ok"]  # not updateable, and the loops never update it
    text = _text(report)
    assert "Routing_Decision_Id__c" in text and "not ready" in text


def test_a_refused_sign_in_is_reported_not_raised(org) -> None:  # type: ignore[no-untyped-def]
    fake, crm = org
    fake.expire_sessions()
    report = crm_check(Settings(crm="salesforce"), lambda: crm)
    assert not report["ok"] and not report["sign_in"]["ok"]
    assert "INVALID_SESSION_ID" in report["sign_in"]["error"] and report["objects"] == []
    assert "failed" in _text(report)


def test_missing_salesforce_settings_are_reported() -> None:
    settings = Settings(crm="salesforce")
    report = crm_check(settings, lambda: Platform(settings).crm)
    assert not report["sign_in"]["ok"] and "REVLOOPS_SF_INSTANCE_URL" in report["sign_in"]["error"]


def test_the_local_crm_checks_out(tmp_path: Path) -> None:
    settings = Settings(crm="local", db=f"sqlite:///{tmp_path / 'state.sqlite'}")
    report = crm_check(settings, lambda: Platform(settings).crm)
    assert report["crm"] == "local" and report["ok"] and len(report["objects"]) == len(NEEDS)
