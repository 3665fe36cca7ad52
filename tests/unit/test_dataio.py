"""crm load / export: a bad row rejects the whole file, naming line and field; a known Id is updated."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from revloops.adapters.localcrm.crm import LocalCRM
from revloops.adapters.sql.db import open_database
from revloops.core.errors import InputErrors
from revloops.core.ids import new_id
from revloops.dataio import export_rows, load_file, write_csv
from revloops.ports.crm import Query


@pytest.fixture
def crm(tmp_path: Path) -> LocalCRM:
    return LocalCRM(open_database(f"sqlite:///{tmp_path / 's.sqlite'}"))


def test_csv_loads_keeping_given_ids(tmp_path: Path, crm: LocalCRM) -> None:
    given = new_id("Lead")
    path = tmp_path / "leads.csv"
    path.write_text(f"Id,LastName,Company,NumberOfEmployees\n{given},Ng,Acme,120\n,Lee,Beta,\n")
    assert load_file(crm, path, "Lead").created == 2
    assert crm.get("Lead", given).NumberOfEmployees == 120  # type: ignore[attr-defined]
    assert crm.query(Query("Lead")).total == 2


def test_bad_rows_reject_the_file_with_line_and_field(tmp_path: Path, crm: LocalCRM) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("LastName,Company,NumberOfEmployees\nNg,Acme,120\nLee,,5\nKim,Gamma,many\n")
    with pytest.raises(InputErrors) as info:
        load_file(crm, path, "Lead")
    found = {(e.line, e.field) for e in info.value.errors}
    assert found == {(3, "Company"), (4, "NumberOfEmployees")}
    assert crm.query(Query("Lead")).total == 0  # nothing written


def test_jsonl_unknown_field_and_bad_json(tmp_path: Path, crm: LocalCRM) -> None:
    path = tmp_path / "accounts.jsonl"
    path.write_text('{"Name": "Acme", "Colour__c": "red"}\n{"Name": "B", "Colour (hex)": "red"}\nnot json\n')
    with pytest.raises(InputErrors) as info:
        load_file(crm, path, "Account")
    # a custom field we do not hold is skipped; a key that cannot be a field API name is a mistake
    assert [(e.line, e.field) for e in info.value.errors] == [(2, "Colour (hex)"), (3, None)]
    assert crm.query(Query("Account")).total == 0


def test_existing_id_is_updated_not_rejected(tmp_path: Path, crm: LocalCRM) -> None:
    path = tmp_path / "a.jsonl"
    rid = new_id("Account")
    path.write_text(json.dumps({"Id": rid, "Name": "Acme", "Industry": "Retail"}) + "\n")
    load_file(crm, path, "Account")
    path.write_text(json.dumps({"Name": "New"}) + "\n" + json.dumps({"Id": rid, "Name": "Again"}) + "\n")
    loaded = load_file(crm, path, "Account")
    assert (loaded.created, loaded.updated, loaded.unchanged) == (1, 1, 0)
    assert crm.query(Query("Account")).total == 2
    again = crm.get("Account", rid)
    assert again.Name == "Again" and again.Industry == "Retail"  # type: ignore[attr-defined]


def test_export_round_trips_through_load(tmp_path: Path, crm: LocalCRM) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"LastName": "Ng", "Company": "Acme", "Country": "Deutschland"}\n')
    load_file(crm, path, "Lead")
    buf = io.StringIO()
    assert write_csv(export_rows(crm, "Lead"), "Lead", buf) == 1
    out = tmp_path / "out.csv"
    out.write_text(buf.getvalue())
    other = LocalCRM(open_database(f"sqlite:///{tmp_path / 'other.sqlite'}"))
    assert load_file(other, out, "Lead").created == 1
    [a] = list(export_rows(crm, "Lead"))
    [b] = list(export_rows(other, "Lead"))
    assert a["Id"] == b["Id"] and a["Country"] == b["Country"] == "Deutschland"
