"""Collections, paging and describe of the Salesforce adapter against the fake Salesforce."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from revloops.adapters.salesforce.auth import SessionAuth
from revloops.adapters.salesforce.crm import SalesforceCRM
from revloops.adapters.salesforce.transport import SalesforceClient
from revloops.core.records import Group, Lead, Territory2, Territory2Model, Territory2Type
from revloops.ports.crm import Filter, Query
from revloops.testing.fake_salesforce import FakeSalesforce, running


@pytest.fixture
def org() -> Iterator[tuple[FakeSalesforce, SalesforceCRM]]:
    with running() as (fake, server):
        client = SalesforceClient(SessionAuth(server.url, fake.new_session()), ca_bundle=server.ca_file, timeout=10)
        yield fake, SalesforceCRM(client)
        client.close()


def _calls(fake: FakeSalesforce, method: str, fragment: str) -> list[str]:
    return [path for m, path in fake.calls if m == method and fragment in path]


def test_bulk_create_goes_in_collections_of_200_with_a_result_per_record(org) -> None:  # type: ignore[no-untyped-def]
    fake, crm = org
    leads = [Lead(LastName=f"P{i}", Company="Acme") for i in range(401)]
    leads[250] = Lead(LastName="NoCompany")
    results = crm.bulk_create(leads)
    assert len(_calls(fake, "POST", "/composite/sobjects")) == 3  # 200 + 200 + 1
    assert [i for i, r in enumerate(results) if not r.success] == [250]
    bad = results[250]
    assert bad.id is None and bad.errors[0].status_code == "REQUIRED_FIELD_MISSING"
    assert bad.errors[0].fields == ("Company",)
    assert len(fake.store.records["Lead"]) == 400


def test_bulk_update_reports_the_record_salesforce_refused(org) -> None:  # type: ignore[no-untyped-def]
    fake, crm = org
    ids = [r.id for r in crm.bulk_create([Lead(LastName=f"P{i}", Company="Acme") for i in range(3)])]
    assert all(ids)
    results = crm.bulk_update("Lead", [(ids[0], {"Rating": "Hot"}), (ids[1], {"NumberOfEmployees": "many"}),
                                       (ids[2], {"Lead_Score__c": 87.5})])
    assert [r.success for r in results] == [True, False, True]
    assert results[1].errors[0].fields == ("NumberOfEmployees",)
    assert fake.store.records["Lead"][ids[2]]["Lead_Score__c"] == 87.5  # type: ignore[index]
    assert "NumberOfEmployees" not in fake.store.records["Lead"][ids[1]]  # type: ignore[index]


def test_bulk_delete_reports_unknown_ids_per_record(org) -> None:  # type: ignore[no-untyped-def]
    fake, crm = org
    made = crm.bulk_create([Lead(LastName="A", Company="Acme")])[0].id
    assert made
    results = crm.bulk_delete("Lead", [made, "00Q8d0000000000AAA"])
    assert [r.success for r in results] == [True, False]
    assert results[1].errors[0].status_code == "ENTITY_IS_DELETED"
    assert fake.store.records["Lead"] == {}


def test_query_pages_follow_next_records_url(org) -> None:  # type: ignore[no-untyped-def]
    fake, crm = org
    crm.bulk_create([Lead(LastName=f"P{i:03d}", Company="Acme", NumberOfEmployees=i) for i in range(450)])
    q = Query("Lead", (Filter("NumberOfEmployees", "gte", 0),), order_by=(("NumberOfEmployees", False),))
    pages, token = [], None
    while True:
        page = crm.query(q, page_size=200, page_token=token)
        pages.append(page)
        token = page.next_token
        if token is None:
            break
    assert [len(p.records) for p in pages] == [200, 200, 50]
    assert {p.total for p in pages} == {450}
    more = _calls(fake, "GET", "/query/01g")
    assert len(more) == 2 and more[0].endswith("-200") and more[1].endswith("-400")
    sizes = [r.NumberOfEmployees for p in pages for r in p.records]  # type: ignore[attr-defined]
    assert sizes == list(range(450))


def test_small_pages_slice_salesforce_batches_without_losing_records(org) -> None:  # type: ignore[no-untyped-def]
    _, crm = org
    crm.bulk_create([Lead(LastName=f"P{i:03d}", Company="Acme", NumberOfEmployees=i) for i in range(230)])
    seen = [r.NumberOfEmployees for r in crm.query_all(Query("Lead", order_by=(("NumberOfEmployees", True),)), 60)]
    assert seen == list(range(229, -1, -1))  # type: ignore[attr-defined]


def test_upsert_by_a_standard_field_reads_then_writes(org) -> None:  # type: ignore[no-untyped-def]
    fake, crm = org
    first = crm.upsert("Group", "DeveloperName", "EMEA_Queue", {"Name": "EMEA queue"})
    second = crm.upsert("Group", "DeveloperName", "EMEA_Queue", {"Name": "EMEA inbound"})
    assert first.created and not second.created and first.id == second.id
    got = crm.get("Group", first.id or "")
    assert isinstance(got, Group) and (got.Name, got.DeveloperName) == ("EMEA inbound", "EMEA_Queue")


def test_territory_objects_round_trip(org) -> None:  # type: ignore[no-untyped-def]
    _, crm = org
    model = crm.create(Territory2Model(Name="FY27", DeveloperName="FY27"))
    kind = crm.create(Territory2Type(DeveloperName="Geo", MasterLabel="Geo", Priority=1))
    terr = crm.create(Territory2(Name="DACH", DeveloperName="DACH", Territory2ModelId=model, Territory2TypeId=kind,
                                 AccountAccessLevel="Edit"))
    found = crm.find_one(Query("Territory2").where("Territory2ModelId", "eq", model))
    assert isinstance(found, Territory2) and (found.Id, found.AccountAccessLevel) == (terr, "Edit")


def test_describe_and_object_access(org) -> None:  # type: ignore[no-untyped-def]
    fake, crm = org
    fake.store.hidden_fields["Lead"] = {"Lead_Score__c"}
    fake.store.access["Territory2"] = {"createable": False}
    info = crm.describe()
    assert info["crm"] == "salesforce" and info["user"]["preferred_username"] == "integration@acme.example"
    assert info["api_usage"]["limit"] == 15000 and info["api_usage"]["used"] >= 1
    lead = crm.object_access("Lead")
    assert lead["read"] and lead["update"] and lead["missing_fields"] == ["Lead_Score__c"]
    assert crm.object_access("Territory2")["create"] is False
    assert crm.object_access("ObjectTerritory2Association")["update"] is False
