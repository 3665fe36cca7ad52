"""The CRM port's contract: every adapter (local, Salesforce against its local fake) passes these.

An adapter's test module subclasses ``CRMContract`` and provides the ``crm`` fixture.
"""

from __future__ import annotations

import datetime as dt

import pytest

from revloops.core.errors import NotFound, RecordRejected
from revloops.core.ids import is_valid_id
from revloops.core.records import Account, Lead, ObjectTerritory2Association, Task
from revloops.ports.crm import CRM, Filter, Query


def _lead(i: int, **extra: object) -> Lead:
    return Lead(LastName=f"Person{i:04d}", Company=f"Company {i % 7}", Email=f"p{i}@c{i % 7}.example", **extra)


class CRMContract:
    """Behaviour every CRM adapter must show."""

    def test_create_then_get_round_trips_fields(self, crm: CRM) -> None:
        lead_id = crm.create(_lead(1, NumberOfEmployees=250, Country="Deutschland", AnnualRevenue=1.5e6))
        assert is_valid_id(lead_id, "Lead")
        got = crm.get("Lead", lead_id)
        assert isinstance(got, Lead)
        assert (got.Id, got.LastName, got.NumberOfEmployees, got.Country) == (lead_id, "Person0001", 250, "Deutschland")
        assert got.AnnualRevenue == pytest.approx(1.5e6)
        assert got.CreatedDate is not None and got.SystemModstamp is not None

    def test_get_unknown_record_is_not_found(self, crm: CRM) -> None:
        with pytest.raises(NotFound):
            crm.get("Lead", "00Q8d0000000000AAA")

    def test_required_fields_are_enforced_naming_the_field(self, crm: CRM) -> None:
        with pytest.raises(RecordRejected) as info:
            crm.create(Lead(LastName="NoCompany"))
        assert info.value.status_code == "REQUIRED_FIELD_MISSING"
        assert "Company" in info.value.fields

    def test_update_changes_only_given_fields_and_bumps_modstamp(self, crm: CRM) -> None:
        lead_id = crm.create(_lead(2, Title="CTO"))
        before = crm.get("Lead", lead_id)
        crm.update("Lead", lead_id, {"Status": "Working - Contacted", "NumberOfEmployees": 40})
        after = crm.get("Lead", lead_id)
        assert (after.Status, after.NumberOfEmployees, after.Title) == ("Working - Contacted", 40, "CTO")
        assert after.SystemModstamp is not None and before.SystemModstamp is not None
        assert after.SystemModstamp >= before.SystemModstamp

    def test_update_unknown_field_is_rejected(self, crm: CRM) -> None:
        lead_id = crm.create(_lead(3))
        with pytest.raises(RecordRejected) as info:
            crm.update("Lead", lead_id, {"NoSuchField__c": 1})
        assert "NoSuchField__c" in str(info.value)

    def test_query_filters_order_and_pages(self, crm: CRM) -> None:
        for r in crm.bulk_create([_lead(i, NumberOfEmployees=i * 10) for i in range(30)]):
            assert r.success
        q = Query("Lead", (Filter("NumberOfEmployees", "gte", 100),), order_by=(("NumberOfEmployees", True),))
        first = crm.query(q, page_size=7)
        assert first.total == 20 and len(first.records) == 7 and first.next_token
        everything = list(crm.query_all(q, page_size=7))
        sizes = [r.NumberOfEmployees for r in everything]  # type: ignore[attr-defined]
        assert sizes == sorted(sizes, reverse=True) and len(sizes) == 20 and min(sizes) == 100
        assert len({r.Id for r in everything}) == 20

    def test_query_in_ne_like_and_null(self, crm: CRM) -> None:
        crm.bulk_create([_lead(i, LeadSource=src) for i, src in enumerate(["Web", "Partner", "Event", None])])
        got = list(crm.query_all(Query("Lead", (Filter("LeadSource", "in", ["Web", "Event"]),))))
        assert sorted(r.LeadSource for r in got) == ["Event", "Web"]  # type: ignore[attr-defined]
        nulls = list(crm.query_all(Query("Lead", (Filter("LeadSource", "eq", None),))))
        assert len(nulls) == 1
        not_web = list(crm.query_all(Query("Lead", (Filter("LeadSource", "ne", "Web"),))))
        assert len(not_web) == 3
        liked = list(crm.query_all(Query("Lead", (Filter("Email", "like", "p1@%"),))))
        assert [r.Email for r in liked] == ["p1@c1.example"]  # type: ignore[attr-defined]

    def test_query_values_with_quotes_are_data(self, crm: CRM) -> None:
        crm.create(Account(Name="O'Brien \\ Sons"))
        crm.create(Account(Name="Other"))
        got = list(crm.query_all(Query("Account", (Filter("Name", "eq", "O'Brien \\ Sons"),))))
        assert [a.Name for a in got] == ["O'Brien \\ Sons"]  # type: ignore[attr-defined]
        sneaky = list(crm.query_all(Query("Account", (Filter("Name", "eq", "x' OR Name != '"),))))
        assert sneaky == []

    def test_bulk_create_reports_each_record(self, crm: CRM) -> None:
        records = [_lead(i) for i in range(450)]
        records[17] = Lead(LastName="Broken")  # no Company
        results = crm.bulk_create(records)
        assert len(results) == 450
        assert [i for i, r in enumerate(results) if not r.success] == [17]
        assert results[17].errors[0].status_code == "REQUIRED_FIELD_MISSING"
        assert all(r.id and is_valid_id(r.id, "Lead") for i, r in enumerate(results) if i != 17)
        assert crm.query(Query("Lead")).total == 449

    def test_bulk_update_reports_each_record(self, crm: CRM) -> None:
        ids = [r.id for r in crm.bulk_create([_lead(i) for i in range(5)])]
        changes = [(i, {"Rating": "Hot"}) for i in ids if i] + [("00Q8d0000000000AAA", {"Rating": "Hot"})]
        results = crm.bulk_update("Lead", changes)
        assert [r.success for r in results] == [True] * 5 + [False]
        assert {crm.get("Lead", i).Rating for i in ids if i} == {"Hot"}  # type: ignore[attr-defined]

    def test_upsert_by_external_id_creates_once_then_updates(self, crm: CRM) -> None:
        first = crm.upsert("Task", "Revloops_Key__c", "engage:00Qx:1", {"Subject": "Call", "Priority": "High"})
        second = crm.upsert("Task", "Revloops_Key__c", "engage:00Qx:1", {"Subject": "Call back"})
        assert first.created and not second.created and first.id == second.id
        got = crm.get("Task", first.id or "")
        assert isinstance(got, Task) and (got.Subject, got.Priority) == ("Call back", "High")
        assert crm.query(Query("Task", (Filter("Revloops_Key__c", "eq", "engage:00Qx:1"),))).total == 1

    def test_delete_and_create_delete_only_objects(self, crm: CRM) -> None:
        acc = crm.create(Account(Name="Acme"))
        link = crm.create(
            ObjectTerritory2Association(ObjectId=acc, Territory2Id="0MI8d0000000001AAA", AssociationCause="Territory2Manual")
        )
        with pytest.raises(RecordRejected):
            crm.update("ObjectTerritory2Association", link, {"Territory2Id": "0MI8d0000000002AAA"})
        crm.delete("ObjectTerritory2Association", link)
        with pytest.raises(NotFound):
            crm.get("ObjectTerritory2Association", link)

    def test_dates_round_trip(self, crm: CRM) -> None:
        task = crm.create(Task(Subject="Follow up", ActivityDate=dt.date(2026, 12, 3)))
        got = crm.get("Task", task)
        assert got.ActivityDate == dt.date(2026, 12, 3)  # type: ignore[attr-defined]
