"""Shared helpers of the Deploy tests: a config directory written from YAML text, a local CRM, a failing CRM."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.db import open_database
from revloops.adapters.sql.decisions import SqlDecisionStore
from revloops.config.loader import GtmConfig, load_config
from revloops.core.errors import UpstreamUnavailable
from revloops.core.records import SObject, User
from revloops.ports.crm import CRM, Page, Query, SaveResult

TERRITORIES = """\
model: {developer_name: Test_FY, name: Test FY}
types:
  - {developer_name: Geo_Top, label: Top, priority: 1}
  - {developer_name: Geo_Region, label: Region, priority: 2}
  - {developer_name: Geo_Sub, label: Sub-region, priority: 3}
territories:
  - {developer_name: World, name: World, type: Geo_Top}
  - {developer_name: NA, name: North America, type: Geo_Region, parent: World}
  - {developer_name: NA_West, name: NA West, type: Geo_Sub, parent: NA, account_access: Edit}
  - {developer_name: NA_East, name: NA East, type: Geo_Sub, parent: NA}
  - {developer_name: EMEA, name: EMEA, type: Geo_Region, parent: World}
  - {developer_name: EMEA_UKI, name: UK and Ireland, type: Geo_Sub, parent: EMEA}
  - {developer_name: EMEA_DACH, name: DACH, type: Geo_Sub, parent: EMEA}
  - {developer_name: APAC, name: APAC, type: Geo_Region, parent: World}
  - {developer_name: APAC_SG, name: Singapore, type: Geo_Sub, parent: APAC}
  - {developer_name: APAC_Strategic, name: APAC strategic, type: Geo_Sub, parent: APAC}
"""
MATCH_RULES = """\
version: 1
rules:
  - {id: west, priority: 10, when: {geo.region: {in: [US-CA, US-WA, US-OR]}}, action: {type: assign, territory: NA_West}}
  - id: east
    priority: 20
    when:
      all:
        - {geo.country: {eq: US}}
        - not: {geo.region: {in: [US-CA, US-WA, US-OR]}}
    action: {type: assign, territory: NA_East}
  - {id: uki, priority: 30, when: {geo.country: {in: [GB, IE]}}, action: {type: assign, territory: EMEA_UKI}}
  - {id: dach, priority: 40, when: {geo.country: {in: [DE, AT, CH]}}, action: {type: assign, territory: EMEA_DACH}}
  - {id: emea, priority: 45, when: {geo.country: {in: [GB, DE, FR]}}, action: {type: assign, territory: EMEA}}
  - {id: sg, priority: 50, when: {geo.country: {eq: SG}}, action: {type: assign, territory: APAC_SG}}
  - {id: sg-big, priority: 60, when: {all: [{geo.country: {eq: SG}}, {NumberOfEmployees: {gte: 1000}}]}, action: {type: assign, territory: APAC_Strategic}}
  - {id: rest, priority: 1000, action: {type: pending, reason: no-territory}}
"""
ASSIGNMENTS = """\
version: 1
assignments:
  - {user: ava@test.example, territory: NA_West, role: AE}
  - {user: ben@test.example, territory: NA_East, role: AE}
  - {user: ben@test.example, territory: NA, role: Manager}
  - {user: cleo@test.example, territory: EMEA_UKI, role: AE}
  - {user: cleo@test.example, territory: EMEA_DACH, role: SDR}
"""
ROLES = "roles:\n  - {name: AE}\n  - {name: SDR}\n  - {name: Manager}\n"
USERS = ("ava@test.example", "ben@test.example", "cleo@test.example")


def write_config(root: Path, files: Mapping[str, str] | None = None) -> Path:
    """A config directory with the test hierarchy, rules and assignments; ``files`` replaces or adds files."""
    chosen = {"rules.yaml": "version: 1\nrules: []\n", "design/territories.yaml": TERRITORIES, "design/roles.yaml": ROLES,
              "deploy/match_rules.yaml": MATCH_RULES, "deploy/assignments.yaml": ASSIGNMENTS, **(files or {})}
    for rel, text in chosen.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def config(root: Path, files: Mapping[str, str] | None = None) -> GtmConfig:
    return load_config(write_config(root, files))


def local_crm(root: Path, users: Sequence[str] = USERS) -> tuple[LocalCRM, SqlDecisionStore]:
    """A local CRM in a fresh SQLite file, with the users created, and the decision log beside it."""
    engine = open_database(f"sqlite:///{root / 'state.sqlite'}")
    crm = LocalCRM(engine)
    for name in users:
        first = name.split("@")[0].title()
        crm.create(User(Username=name, Email=name, FirstName=first, LastName="Test"))
    return crm, SqlDecisionStore(engine)


class FailingCRM(CRM):
    """A CRM at the port that passes everything to another one, but fails the Nth write batch."""

    name = "failing"

    def __init__(self, inner: CRM, fail_on: int) -> None:
        self.inner, self.fail_on, self.batches = inner, fail_on, 0

    def _batch(self) -> None:
        self.batches += 1
        if self.batches == self.fail_on:
            raise UpstreamUnavailable(f"connection lost on write batch {self.batches}")

    def get(self, sobject: str, record_id: str) -> SObject:
        return self.inner.get(sobject, record_id)

    def query(self, query: Query, page_size: int = 2000, page_token: str | None = None) -> Page:
        return self.inner.query(query, page_size, page_token)

    def create(self, record: SObject, *, audit_fields: bool = False) -> str:
        return self.inner.create(record, audit_fields=audit_fields)

    def update(self, sobject: str, record_id: str, changes: Mapping[str, Any], *, audit_fields: bool = False) -> None:
        self.inner.update(sobject, record_id, changes, audit_fields=audit_fields)

    def delete(self, sobject: str, record_id: str) -> None:
        self.inner.delete(sobject, record_id)

    def upsert(self, sobject: str, external_id_field: str, external_id: str, fields: Mapping[str, Any]) -> SaveResult:
        return self.inner.upsert(sobject, external_id_field, external_id, fields)

    def _create_batch(self, records: Sequence[SObject], *, audit_fields: bool = False) -> list[SaveResult]:
        self._batch()
        return self.inner.bulk_create(records, audit_fields=audit_fields)

    def _update_batch(self, sobject: str, changes: Sequence[tuple[str, Mapping[str, Any]]], *,
                      audit_fields: bool = False) -> list[SaveResult]:
        self._batch()
        return self.inner.bulk_update(sobject, changes, audit_fields=audit_fields)

    def _delete_batch(self, sobject: str, ids: Sequence[str]) -> list[SaveResult]:
        self._batch()
        return self.inner.bulk_delete(sobject, ids)
