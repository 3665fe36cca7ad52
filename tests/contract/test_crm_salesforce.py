"""The CRM contract against the Salesforce adapter, pointed at the local fake Salesforce over HTTPS (an org
granting its integration user "Set Audit Fields upon Record Creation"), and what only Salesforce does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from revloops.adapters.salesforce.auth import SessionAuth
from revloops.adapters.salesforce.crm import SalesforceCRM
from revloops.adapters.salesforce.transport import RetryPolicy, SalesforceClient
from revloops.core.errors import RecordRejected
from revloops.core.records import Lead, Opportunity
from revloops.testing.fake_salesforce import FakeSalesforce
from revloops.testing.fake_sobjects import SObjectStore
from revloops.testing.servers import serve
from tests.contract.crm_contract import LATER, PAST, CRMContract


@pytest.fixture
def fake() -> FakeSalesforce:
    return FakeSalesforce(store=SObjectStore(audit_fields=True))


@pytest.fixture
def crm(fake: FakeSalesforce) -> Iterator[SalesforceCRM]:
    with serve(fake.app, tls=True) as server:
        client = SalesforceClient(SessionAuth(server.url, fake.new_session()), ca_bundle=server.ca_file, timeout=10,
                                  retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05))
        yield SalesforceCRM(client)
        client.close()


class TestSalesforceCRM(CRMContract):
    def test_audit_fields_need_the_permission(self, fake: FakeSalesforce, crm: SalesforceCRM) -> None:
        fake.store.audit_fields = False
        with pytest.raises(RecordRejected) as info:
            crm.create(Lead(LastName="Old", Company="Acme", CreatedDate=PAST), audit_fields=True)
        assert info.value.status_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
        crm.create(Lead(LastName="Old", Company="Acme", CreatedDate=PAST))  # not asked: not sent

    def test_an_update_cannot_set_audit_fields(self, crm: SalesforceCRM) -> None:
        opp = crm.create(Opportunity(Name="Deal", StageName="Prospecting", CloseDate=dt.date(2026, 12, 1)))
        with pytest.raises(RecordRejected) as info:  # Salesforce sets them on creation only
            crm.update("Opportunity", opp, {"StageName": "Qualification", "LastModifiedDate": LATER}, audit_fields=True)
        assert info.value.status_code == "INVALID_FIELD_FOR_INSERT_UPDATE"

    def test_the_fake_serves_opportunity_history_to_soql_and_describes_it_read_only(
            self, fake: FakeSalesforce, crm: SalesforceCRM) -> None:
        opp = crm.create(Opportunity(Name="Deal", StageName="Prospecting", CloseDate=dt.date(2026, 12, 1),
                                     Amount=500.0, CreatedDate=PAST), audit_fields=True)
        crm.update("Opportunity", opp, {"StageName": "Closed Won", "Probability": 100.0})
        text = ("SELECT Id, OpportunityId, StageName, Amount, Probability, CreatedDate FROM OpportunityHistory "
                f"WHERE OpportunityId = '{opp}' ORDER BY CreatedDate")
        answer: dict[str, Any] = crm.client.call(lambda sf: sf.query(text), what="history")
        rows = [(r["StageName"], r["Amount"], r["Probability"], r["CreatedDate"]) for r in answer["records"]]
        assert answer["totalSize"] == 2 and rows[0] == ("Prospecting", 500.0, None, "2024-03-04T09:30:00.000+0000")
        assert rows[1][:3] == ("Closed Won", 500.0, 100.0)
        described = fake.store.describe("OpportunityHistory")
        assert described["queryable"] and not (described["createable"] or described["updateable"]
                                               or described["deletable"])
        assert "LastModifiedDate" not in {f["name"] for f in described["fields"]}
