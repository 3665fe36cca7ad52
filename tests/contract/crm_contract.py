"""The CRM port's contract: every adapter (local, Salesforce against its local fake) passes these.

An adapter's test module subclasses ``CRMContract`` and provides the ``crm`` fixture.
"""

from __future__ import annotations

import datetime as dt

import pytest

from revloops.core.errors import NotFound, RecordRejected
from revloops.core.ids import is_valid_id
from revloops.core.records import (
    Account,
    Lead,
    ObjectTerritory2Association,
    Opportunity,
    OpportunityHistory,
    Task,
)
from revloops.ports.crm import CRM, Filter, Query


def _lead(i: int, **extra: object) -> Lead:
    return Lead(LastName=f"Person{i:04d}", Company=f"Company {i % 7}", Email=f"p{i}@c{i % 7}.example", **extra)


PAST = dt.datetime(2024, 3, 4, 9, 30, tzinfo=dt.UTC)
LATER = dt.datetime(2024, 3, 5, 16, 45, tzinfo=dt.UTC)


def _history(crm: CRM, opportunity_id: str) -> list[OpportunityHistory]:
    rows = crm.query_all(Query("OpportunityHistory", (Filter("OpportunityId", "eq", opportunity_id),),
                               order_by=(("CreatedDate", False),)))
    return [r for r in rows if isinstance(r, OpportunityHistory)]


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

    def test_audit_fields_are_kept_only_when_asked_and_the_modstamp_is_the_write(self, crm: CRM) -> None:
        start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)  # a little slack for the fake's clock
        kept = crm.create(_lead(40, CreatedDate=PAST, LastModifiedDate=LATER), audit_fields=True)
        created_only = crm.create(_lead(41, CreatedDate=PAST), audit_fields=True)
        ignored = crm.create(_lead(42, CreatedDate=PAST, LastModifiedDate=LATER))
        batch = [r.id or "" for r in crm.bulk_create([_lead(43, CreatedDate=PAST), _lead(44)], audit_fields=True)]
        stored = {i: crm.get("Lead", i) for i in (kept, created_only, ignored, *batch)}
        assert (stored[kept].CreatedDate, stored[kept].LastModifiedDate) == (PAST, LATER)
        assert (stored[created_only].CreatedDate, stored[created_only].LastModifiedDate) == (PAST, PAST)
        assert stored[batch[0]].CreatedDate == PAST
        for record_id in (ignored, batch[1]):  # not asked, or no date given: the write's time, as always
            record = stored[record_id]
            assert record.CreatedDate is not None and record.CreatedDate >= start
            assert record.LastModifiedDate is not None and record.LastModifiedDate >= start
        for record in stored.values():  # SystemModstamp is the write's time whatever was given
            assert record.SystemModstamp is not None and record.SystemModstamp >= start

    def test_opportunity_history_is_written_on_create_and_on_tracked_changes_only(self, crm: CRM) -> None:
        opp = crm.create(Opportunity(Name="Deal", StageName="Prospecting", CloseDate=dt.date(2026, 12, 1),
                                     Amount=1000.0, Probability=10.0, CreatedDate=PAST), audit_fields=True)
        [first] = _history(crm, opp)
        assert (first.CreatedDate, first.StageName, first.Amount, first.CloseDate, first.Probability) == (
            PAST, "Prospecting", 1000.0, dt.date(2026, 12, 1), 10.0)
        crm.update("Opportunity", opp, {"Description": "no tracked field"})
        crm.update("Opportunity", opp, {"StageName": "Prospecting"})  # the same value: no change
        assert len(_history(crm, opp)) == 1
        crm.update("Opportunity", opp, {"StageName": "Qualification", "Probability": 20.0})
        crm.bulk_update("Opportunity", [(opp, {"Amount": 1500.0})])
        rows = _history(crm, opp)
        assert sorted((r.StageName, r.Amount, r.Probability, r.CloseDate) for r in rows) == [
            ("Prospecting", 1000.0, 10.0, dt.date(2026, 12, 1)), ("Qualification", 1000.0, 20.0, dt.date(2026, 12, 1)),
            ("Qualification", 1500.0, 20.0, dt.date(2026, 12, 1))]
        assert all(r.CreatedDate is not None and r.CreatedDate > PAST for r in rows if r.Id != first.Id)
        assert all(r.SystemModstamp is not None for r in rows)

    def test_opportunity_history_cannot_be_written_through_the_api(self, crm: CRM) -> None:
        opp = crm.create(Opportunity(Name="Deal", StageName="Prospecting", CloseDate=dt.date(2026, 12, 1)))
        with pytest.raises(RecordRejected) as info:
            crm.create(OpportunityHistory(OpportunityId=opp, StageName="Closed Won"))
        assert info.value.status_code == "INVALID_TYPE_FOR_OPERATION"
        [row] = _history(crm, opp)
        with pytest.raises(RecordRejected) as info:
            crm.update("OpportunityHistory", row.Id or "", {"StageName": "Closed Won"})
        assert info.value.status_code == "INVALID_TYPE_FOR_OPERATION"
        [result] = crm.bulk_create([OpportunityHistory(OpportunityId=opp, StageName="Closed Won")])
        assert not result.success and result.errors[0].status_code == "INVALID_TYPE_FOR_OPERATION"
        assert [r.StageName for r in _history(crm, opp)] == ["Prospecting"]
