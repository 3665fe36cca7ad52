"""The CRM contract against the embedded local CRM (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.db import open_database
from tests.contract.crm_contract import CRMContract


@pytest.fixture
def crm(tmp_path: Path) -> LocalCRM:
    return LocalCRM(open_database(f"sqlite:///{tmp_path / 'state.sqlite'}"))


class TestLocalCRM(CRMContract):
    pass
