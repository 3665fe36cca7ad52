"""Salesforce large reads through Bulk API 2.0 query jobs, against the local fake Salesforce over HTTPS.

The frames a Bulk read answers must equal, column for column and dtype for dtype, the frames the REST
path (the port's default ``read_columns`` over ``query_all``) builds from the same records.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from revloops.adapters.salesforce.auth import SessionAuth
from revloops.adapters.salesforce.bulk import BulkOptions
from revloops.adapters.salesforce.crm import SalesforceCRM
from revloops.adapters.salesforce.transport import RetryPolicy, SalesforceClient
from revloops.core.errors import InputError, UpstreamRejected, UpstreamUnavailable
from revloops.core.frames import frame_schema
from revloops.core.records import Account
from revloops.ports.crm import CRM
from revloops.testing.fake_salesforce import FakeSalesforce
from revloops.testing.servers import RunningServer, serve

FAST = BulkOptions(page_records=100, poll_interval=0.005, max_poll_interval=0.01, poll_timeout=5.0)
ACCOUNT = list(Account.model_fields)
TRICKY = ["Acme, Inc.", 'The "gold" standard', "two\nlines", "crlf\r\ninside", '"', ",", " padded ", "a\"\",\n,\"b"]


@dataclass
class Org:
    fake: FakeSalesforce
    server: RunningServer
    crm: SalesforceCRM

    def add(self, sobject: str, **fields: Any) -> str:
        """A record stored straight into the fake (no HTTP), as if someone had created it."""
        return self.fake.store.create(sobject, fields)

    def results_calls(self) -> int:
        return sum(1 for _, path in self.fake.calls if path.endswith("/results"))

    def http(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.fake.new_session()}"}
        return requests.request(method, f"{self.server.url}/services/data/v59.0{path}", headers=headers,
                                verify=str(self.server.ca_file), timeout=10, **kwargs)


@pytest.fixture
def org() -> Iterator[Org]:
    fake = FakeSalesforce()
    with serve(fake.app, tls=True) as server:
        client = SalesforceClient(SessionAuth(server.url, fake.new_session()), ca_bundle=server.ca_file, timeout=10,
                                  retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05))
        yield Org(fake, server, SalesforceCRM(client, FAST))
        client.close()


def bulk_frame(crm: CRM, sobject: str, columns: list[str], **kwargs: Any) -> pl.DataFrame:
    frames = list(crm.read_columns(sobject, columns, **kwargs))
    assert all(f.schema == frame_schema(sobject, columns) for f in frames)
    return pl.concat(frames) if frames else pl.DataFrame(schema=frame_schema(sobject, columns))


def rest_frame(crm: CRM, sobject: str, columns: list[str], **kwargs: Any) -> pl.DataFrame:
    frames = list(CRM.read_columns(crm, sobject, columns, **kwargs))  # the port's default: query_all
    return pl.concat(frames) if frames else pl.DataFrame(schema=frame_schema(sobject, columns))


def assert_same(bulk: pl.DataFrame, rest: pl.DataFrame) -> None:
    assert bulk.schema == rest.schema
    assert_frame_equal(bulk.sort("Id"), rest.sort("Id"), check_exact=True)


def test_frames_equal_query_all_for_every_kind_of_value(org: Org) -> None:
    for i, name in enumerate(TRICKY):
        org.add("Account", Name=name, Description=TRICKY[-1 - i], NumberOfEmployees=i * 1000 or None,
                AnnualRevenue=[None, 1.5e6, 0.1, -2.25e-7][i % 4], Named__c=[None, True, False][i % 3])
    stamped = org.add("Account", Name="Stamped")
    org.fake.store.records["Account"][stamped]["CreatedDate"] = "2026-01-02T03:04:05.678+0000"
    bulk = bulk_frame(org.crm, "Account", ACCOUNT)
    assert bulk.height == len(TRICKY) + 1 and org.fake.jobs
    assert_same(bulk, rest_frame(org.crm, "Account", ACCOUNT))
    assert set(bulk["Name"]) == {*TRICKY, "Stamped"}
    row = bulk.filter(pl.col("Id") == stamped).row(0, named=True)
    assert row["CreatedDate"] == dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    assert row["Description"] is None and row["NumberOfEmployees"] is None and row["Named__c"] is None


def test_dates_booleans_and_numbers(org: Org) -> None:
    for i in range(5):
        org.add("Opportunity", Name=f"Deal {i}", StageName="Prospecting", CloseDate=f"2026-0{i + 1}-2{i}",
                Amount=[None, 12.5, 1e9, 0.0, 3.0][i], IsWon=i % 2 == 0, Probability=None if i else 10.0)
    columns = ["Id", "Name", "CloseDate", "Amount", "Probability", "IsWon", "IsClosed", "CreatedDate"]
    bulk = bulk_frame(org.crm, "Opportunity", columns)
    assert_same(bulk, rest_frame(org.crm, "Opportunity", columns))
    assert bulk.sort("CloseDate")["CloseDate"].to_list()[0] == dt.date(2026, 1, 20)
    assert bulk["IsWon"].sum() == 3


def test_many_pages_rechunked_smaller_than_a_page(org: Org) -> None:
    for i in range(250):
        org.add("Lead", LastName=f"Person{i:04d}", Company=f"Co {i % 7}", NumberOfEmployees=i)
    columns = ["Id", "LastName", "Company", "NumberOfEmployees", "IsConverted"]
    frames = list(org.crm.read_columns("Lead", columns, chunk_rows=30))
    assert [f.height for f in frames] == [30] * 8 + [10]
    assert org.results_calls() == 3  # pages of 100, 100 and 50, followed by two locators
    assert_same(pl.concat(frames), rest_frame(org.crm, "Lead", columns))
    bigger = [f.height for f in org.crm.read_columns("Lead", columns, chunk_rows=150)]
    assert bigger == [150, 100]


def test_limit_is_sent_and_small_limits_use_rest(org: Org) -> None:
    for i in range(40):
        org.add("Lead", LastName=f"P{i}", Company="Co")
    assert bulk_frame(org.crm, "Lead", ["Id"], limit=5).height == 5
    assert org.fake.jobs == {}  # at most rest_max_rows: the REST query, no job
    org.crm.bulk_options = dataclasses.replace(FAST, rest_max_rows=10)
    assert bulk_frame(org.crm, "Lead", ["Id", "LastName"], limit=25).height == 25
    (job,) = org.fake.jobs.values()
    assert job.query.limit == 25 and job.info["state"] == "JobComplete"
    assert bulk_frame(org.crm, "Lead", ["Id"]).height == 40


def test_no_records_no_frames(org: Org) -> None:
    assert list(org.crm.read_columns("Account", ACCOUNT)) == []


def test_failing_job_is_a_clear_error(org: Org) -> None:
    org.add("Account", Name="Acme")
    org.fake.inject("bulk_job_failed", message="InvalidBatch : Failed to process query: QUERY_TIMEOUT")
    with pytest.raises(UpstreamRejected) as info:
        list(org.crm.read_columns("Account", ["Id", "Name"]))
    (job_id,) = org.fake.jobs
    assert "QUERY_TIMEOUT" in str(info.value) and job_id in str(info.value) and "Account" in str(info.value)


def test_results_page_500_is_retried_nothing_lost_or_doubled(org: Org) -> None:
    for i in range(230):
        org.add("Lead", LastName=f"P{i}", Company="Co")
    columns = ["Id", "LastName"]
    org.fake.inject("bulk_results_error", status=500)
    frame = bulk_frame(org.crm, "Lead", columns)
    assert org.results_calls() == 4  # three pages, the first asked twice
    assert frame.height == 230 and frame["Id"].n_unique() == 230
    assert_same(frame, rest_frame(org.crm, "Lead", columns))


def test_unknown_column_or_object_is_an_input_error(org: Org) -> None:
    with pytest.raises(InputError) as info:
        org.crm.read_columns("Account", ["Id", "NoSuchField__c"])
    assert info.value.field == "NoSuchField__c"
    with pytest.raises(InputError):
        org.crm.read_columns("Nope", ["Id"])
    with pytest.raises(InputError):
        org.crm.read_columns("Account", ["Id", "Id"])
    with pytest.raises(InputError):
        org.crm.read_columns("Account", ["Id", "Nope"], limit=3)  # the REST path refuses the same
    with pytest.raises(InputError):
        org.crm.read_columns("Account", ["Id"], limit=-1)
    assert org.fake.jobs == {} and org.fake.calls == []


def test_query_refused_at_create_is_an_input_error(org: Org) -> None:
    org.fake.store.hidden_fields["Account"] = {"Named__c"}  # a field not deployed in this org
    with pytest.raises(InputError) as info:
        list(org.crm.read_columns("Account", ["Id", "Named__c"]))
    assert "INVALID_FIELD" in str(info.value)


def test_a_job_that_never_finishes_times_out_and_is_aborted(org: Org) -> None:
    org.fake.bulk_in_progress_polls = 10**6
    org.crm.bulk_options = dataclasses.replace(FAST, poll_timeout=0.05)
    with pytest.raises(UpstreamUnavailable) as info:
        list(org.crm.read_columns("Account", ["Id"]))
    (job,) = org.fake.jobs.values()
    assert "InProgress" in str(info.value) and "aborted" in str(info.value)
    assert job.info["state"] == "Aborted"


# -- the fake's wire format -----------------------------------------------------------------------------
def test_fake_job_lifecycle_and_csv_wire_format(org: Org) -> None:
    lead = org.add("Lead", LastName='O"Brien, Jr.', Company="Line\nBreak", ConvertedDate="2026-03-04",
                   IsConverted=True)
    org.fake.store.records["Lead"][lead]["CreatedDate"] = "2026-01-02T03:04:05.000+0000"
    soql = "SELECT Id, LastName, Company, Title, ConvertedDate, IsConverted, CreatedDate FROM Lead"
    created = org.http("POST", "/jobs/query", json={"operation": "query", "query": soql, "contentType": "CSV",
                                                    "columnDelimiter": "COMMA", "lineEnding": "LF"})
    assert created.status_code == 200
    job = created.json()
    assert (job["operation"], job["object"], job["state"], job["contentType"]) == ("query", "Lead", "UploadComplete",
                                                                                   "CSV")
    assert {"id", "createdById", "createdDate", "systemModstamp", "apiVersion", "lineEnding"} <= set(job)
    states = [org.http("GET", f"/jobs/query/{job['id']}").json()["state"] for _ in range(3)]
    assert states == ["InProgress", "JobComplete", "JobComplete"]
    page = org.http("GET", f"/jobs/query/{job['id']}/results", params={"maxRecords": 10})
    assert page.headers["Sforce-Locator"] == "null" and page.headers["Sforce-NumberOfRecords"] == "1"
    assert page.headers["content-type"].startswith("text/csv")
    assert page.text == (
        '"Id","LastName","Company","Title","ConvertedDate","IsConverted","CreatedDate"\n'
        f'"{lead}","O""Brien, Jr.","Line\nBreak",,"2026-03-04","true","2026-01-02T03:04:05.000+0000"\n'
    )


def test_fake_pages_by_locator(org: Org) -> None:
    for i in range(5):
        org.add("Account", Name=f"A{i}")
    org.fake.bulk_in_progress_polls = 0
    job = org.http("POST", "/jobs/query", json={"operation": "query", "query": "SELECT Name FROM Account"}).json()
    assert org.http("GET", f"/jobs/query/{job['id']}").json()["state"] == "JobComplete"
    names, locator, counts = [], None, []
    while locator != "null":
        params = {"maxRecords": 2, **({"locator": locator} if locator else {})}
        page = org.http("GET", f"/jobs/query/{job['id']}/results", params=params)
        names += page.text.splitlines()[1:]
        locator, counts = page.headers["Sforce-Locator"], [*counts, page.headers["Sforce-NumberOfRecords"]]
    assert counts == ["2", "2", "1"] and sorted(names) == [f'"A{i}"' for i in range(5)]


def test_fake_refuses_bad_queries_and_fails_unrunnable_ones(org: Org) -> None:
    bad = org.http("POST", "/jobs/query", json={"operation": "query", "query": "SELECT Nope FROM Account"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
    early = org.http("POST", "/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}).json()
    assert org.http("GET", f"/jobs/query/{early['id']}/results").status_code == 400  # not complete yet
    offset = org.http("POST", "/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account OFFSET 5"})
    job_id = offset.json()["id"]
    infos = [org.http("GET", f"/jobs/query/{job_id}").json() for _ in range(2)]
    assert infos[-1]["state"] == "Failed" and "OFFSET" in infos[-1]["errorMessage"]
    assert org.http("GET", "/jobs/query/7508d000000000AAAA").status_code == 404


# -- Bulk and REST agree over generated records ---------------------------------------------------------
_text = st.one_of(st.sampled_from(TRICKY), st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                                                   min_size=1, max_size=20))
_accounts = st.lists(st.fixed_dictionaries({}, optional={
    "Description": _text, "Industry": _text, "NumberOfEmployees": st.integers(-(2**31), 2**31 - 1),
    "AnnualRevenue": st.floats(allow_nan=False, allow_infinity=False), "Named__c": st.booleans(),
    "BillingCity": _text,
}), max_size=12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_text, min_size=12, max_size=12), accounts=_accounts)
def test_bulk_and_rest_agree_on_generated_records(org: Org, names: list[str], accounts: list[dict[str, Any]]) -> None:
    org.fake.store.records["Account"].clear()
    for name, fields in zip(names, accounts, strict=False):
        org.add("Account", Name=name, **fields)
    columns = ["Id", "Name", "Description", "Industry", "NumberOfEmployees", "AnnualRevenue", "Named__c",
               "BillingCity", "CreatedDate"]
    assert_same(bulk_frame(org.crm, "Account", columns, chunk_rows=5), rest_frame(org.crm, "Account", columns))

