"""The CRM contract against the Salesforce adapter, pointed at the local fake Salesforce over HTTPS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from revloops.adapters.salesforce.auth import SessionAuth
from revloops.adapters.salesforce.crm import SalesforceCRM
from revloops.adapters.salesforce.transport import RetryPolicy, SalesforceClient
from revloops.testing.fake_salesforce import FakeSalesforce
from revloops.testing.servers import serve
from tests.contract.crm_contract import CRMContract


@pytest.fixture
def crm() -> Iterator[SalesforceCRM]:
    fake = FakeSalesforce()
    with serve(fake.app, tls=True) as server:
        client = SalesforceClient(SessionAuth(server.url, fake.new_session()), ca_bundle=server.ca_file, timeout=10,
                                  retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05))
        yield SalesforceCRM(client)
        client.close()


class TestSalesforceCRM(CRMContract):
    pass
