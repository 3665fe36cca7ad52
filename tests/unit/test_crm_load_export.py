"""`revloops crm load` takes a real Salesforce export: the standard fields we do not hold are skipped with one
warning, Salesforce's formatting is read, a second load upserts instead of duplicating, and a bad value still
rejects the whole file naming line and field."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from revloops.app import open_app
from revloops.core.identity import Caller
from revloops.core.ids import new_id, to18
from revloops.interfaces.cli.app import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
RNG = random.Random(20240105)
USER_IDS = [new_id("User", RNG) for _ in range(3)]
LEAD_IDS = [new_id("Lead", RNG)[:15] for _ in range(2)]  # a Data Loader export may carry 15-character ids

USER_HEADER = ["Id", "Username", "LastName", "FirstName", "Name", "CompanyName", "Title", "Email", "Alias",
               "CommunityNickname", "IsActive", "TimeZoneSidKey", "LocaleSidKey", "EmailEncodingKey",
               "LanguageLocaleKey", "ProfileId", "UserRoleId", "ManagerId", "UserType", "Country", "CreatedDate",
               "CreatedById", "LastModifiedDate", "SystemModstamp"]
SKIPPED_USER_COLUMNS = ["CompanyName", "Alias", "CommunityNickname", "LocaleSidKey", "EmailEncodingKey",
                        "LanguageLocaleKey", "ProfileId", "UserRoleId", "UserType", "CreatedById"]


def _users(title: str = "Account Executive", ids: list[str] = USER_IDS) -> list[dict[str, str]]:
    """Three users as a Bulk API export has them (every column, empty strings for nulls)."""
    stamp = "2024-01-05T10:00:00.000+0000"
    org = {"CompanyName": "Acme", "LanguageLocaleKey": "en_US", "ProfileId": "00e5g000004ZkRtAAK", "UserType": "Standard",
           "CreatedDate": stamp, "CreatedById": ids[0], "LastModifiedDate": stamp, "SystemModstamp": stamp}
    people = [
        ("maya.ross", "Ross", "Maya", "Sales Director", "true", "Europe/London", "en_GB", "UTF-8", "", "United Kingdom"),
        ("li.wei", "Wei", "Li", title, "true", "Asia/Singapore", "en_SG", "UTF-8", ids[0][:15], "Singapore"),
        ("sam.okafor", "Okafor", "Sam", "SDR", "false", "Africa/Lagos", "en_NG", "ISO-8859-1", ids[0][:15], "Nigeria"),
    ]
    return [{**org, "Id": rid, "Username": f"{login}@acme.example", "Email": f"{login}@acme.example", "LastName": last,
             "FirstName": first, "Name": f"{first} {last}", "Title": job, "Alias": login[:5], "CommunityNickname": login,
             "IsActive": active, "TimeZoneSidKey": zone, "LocaleSidKey": locale, "EmailEncodingKey": encoding,
             "UserRoleId": "00E5g000001XyZaEAK" if active == "true" else "", "ManagerId": manager, "Country": country}
            for rid, (login, last, first, job, active, zone, locale, encoding, manager, country) in zip(ids, people,
                                                                                                     strict=True)]


def _csv(path: Path, header: list[str], rows: list[dict[str, str]] | list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        if rows and isinstance(rows[0], dict):
            writer: Any = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n", extrasaction="ignore")
            writer.writeheader()  # Data Loader writes CRLF
        else:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def args(tmp_path: Path) -> list[str]:
    return ["--config", str(EXAMPLE), "--db", f"sqlite:///{tmp_path / 'state.sqlite'}"]


def _load(path: Path, sobject: str, args: list[str], *extra: str) -> Result:
    return CliRunner().invoke(app, ["crm", "load", str(path), "--object", sobject, *extra, *args])


def _loaded(path: Path, sobject: str, args: list[str], *extra: str) -> dict[str, Any]:
    result = _load(path, sobject, args, "--json", *extra)
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def _records(sobject: str, args: list[str]) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(app, ["crm", "export", "--object", sobject, "--json", *args])
    assert result.exit_code == 0, result.output
    return {row["Id"]: row for row in json.loads(result.stdout)}


def test_a_user_export_loads_with_one_warning(tmp_path: Path, args: list[str]) -> None:
    path = _csv(tmp_path / "User.csv", USER_HEADER, _users())
    result = _load(path, "User", args)
    assert result.exit_code == 0, result.output
    assert "User: 3 created, 0 updated, 0 unchanged (matched on Id)" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    for column in SKIPPED_USER_COLUMNS:
        assert column in result.stderr
    assert "CreatedDate, LastModifiedDate, SystemModstamp not written" in result.stderr

    users = _records("User", args)
    assert set(users) == set(USER_IDS)
    maya, li, sam = (users[i] for i in USER_IDS)
    assert maya["TimeZoneSidKey"] == "Europe/London"  # a standard field our record holds is kept
    assert maya["IsActive"] is True and sam["IsActive"] is False
    assert li["ManagerId"] == sam["ManagerId"] == USER_IDS[0]  # 15 characters in the file, 18 stored
    assert "Alias" not in maya and "ManagerId" not in maya  # skipped, and an empty value is no value


def test_the_json_answer_lists_what_was_skipped(tmp_path: Path, args: list[str]) -> None:
    body = _loaded(_csv(tmp_path / "User.csv", USER_HEADER, _users()), "User", args)
    assert (body["created"], body["updated"], body["unchanged"], body["upsert_key"]) == (3, 0, 0, "Id")
    assert body["skipped_columns"] == [*SKIPPED_USER_COLUMNS, "CreatedDate", "LastModifiedDate", "SystemModstamp"]
    assert len(body["warnings"]) == 1 and "values on 3 of 3 row(s)" in body["warnings"][0]


LEAD_HEADER = ["ID", "ISDELETED", "MASTERRECORDID", "LASTNAME", "FIRSTNAME", "NAME", "TITLE", "COMPANY", "CITY",
               "COUNTRY", "EMAIL", "LEADSOURCE", "STATUS", "INDUSTRY", "NUMBEROFEMPLOYEES", "ANNUALREVENUE", "OWNERID",
               "ISCONVERTED", "CONVERTEDDATE", "CONVERTEDACCOUNTID", "ISUNREADBYOWNER", "CREATEDDATE", "CREATEDBYID",
               "LASTACTIVITYDATE", "JIGSAW", "PRODUCTINTEREST__C", "OWNER.NAME"]


def _leads(employees: str = "450", title: str = "VP Sales") -> list[list[str]]:
    owner = USER_IDS[0][:15]
    stamp = "2024-02-10T09:15:00.000+0000"
    return [
        [LEAD_IDS[0], "false", "", "Chen", "Ava", "Ava Chen", title, "Northwind", "Toronto", "Canada",
         "ava@northwind.example", "Web", "Open - Not Contacted", "Banking", employees, "1.5E7", owner, "false", "", "",
         "true", stamp, owner, "", "", "GC1000 series", "Maya Ross"],
        [LEAD_IDS[1], "false", "", "Ng", "", "Ng", "", "Initech", "", "", "", "", "Working - Contacted", "", "", "",
         owner, "false", "", "", "false", stamp, owner, "2024-02-12", "", "", "Maya Ross"],
    ]


def test_a_data_loader_lead_export_loads(tmp_path: Path, args: list[str]) -> None:
    body = _loaded(_csv(tmp_path / "Lead.csv", LEAD_HEADER, _leads()), "Lead", args)
    assert body["created"] == 2 and len(body["warnings"]) == 1
    for column in ("ISDELETED", "MASTERRECORDID", "NAME", "JIGSAW", "PRODUCTINTEREST__C", "OWNER.NAME"):
        assert column in body["skipped_columns"]
    leads = _records("Lead", args)
    assert set(leads) == {to18(i) for i in LEAD_IDS}  # headers in capitals, ids of 15 characters
    ava, ng = leads[to18(LEAD_IDS[0])], leads[to18(LEAD_IDS[1])]
    assert ava["NumberOfEmployees"] == 450 and ava["AnnualRevenue"] == 15_000_000 and ava["OwnerId"] == USER_IDS[0]
    assert ava["IsConverted"] is False and "ConvertedDate" not in ava
    assert "NumberOfEmployees" not in ng and "Email" not in ng and ng["Status"] == "Working - Contacted"


def test_loading_twice_upserts_by_id(tmp_path: Path, args: list[str]) -> None:
    path = _csv(tmp_path / "User.csv", USER_HEADER, _users())
    _loaded(path, "User", args)
    again = _loaded(path, "User", args)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert len(_records("User", args)) == 3

    _csv(path, USER_HEADER, _users(title="Senior Account Executive"))
    changed = _loaded(path, "User", args)
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 2)
    users = _records("User", args)
    assert len(users) == 3 and users[USER_IDS[1]]["Title"] == "Senior Account Executive"


def test_the_same_export_with_18_character_ids_changes_nothing(tmp_path: Path, args: list[str]) -> None:
    _loaded(_csv(tmp_path / "Lead.csv", LEAD_HEADER, _leads()), "Lead", args)
    rows = [[to18(row[0]), *row[1:]] for row in _leads()]
    again = _loaded(_csv(tmp_path / "Lead18.csv", LEAD_HEADER, rows), "Lead", args)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_an_update_writes_only_the_given_fields(tmp_path: Path, args: list[str]) -> None:
    _loaded(_csv(tmp_path / "User.csv", USER_HEADER, _users()), "User", args)
    # neither Username, LastName nor Email: a record that exists needs only what changes
    body = _loaded(_csv(tmp_path / "titles.csv", ["Id", "Title", "Country"],
                        [[USER_IDS[2][:15], "Account Executive", ""]]), "User", args)
    assert (body["created"], body["updated"]) == (0, 1)
    sam = _records("User", args)[USER_IDS[2]]
    assert sam["Title"] == "Account Executive"
    assert sam["Country"] == "Nigeria" and sam["Email"] == "sam.okafor@acme.example"  # empty never clears


def test_upsert_key_matches_on_email(tmp_path: Path, args: list[str]) -> None:
    header = ["LastName", "Company", "Email", "Title"]
    path = _csv(tmp_path / "leads.csv", header, [["Chen", "Northwind", "ava@northwind.example", "VP Sales"],
                                                 ["Ng", "Initech", "ng@initech.example", "CFO"]])
    first = _loaded(path, "Lead", args, "--upsert-key", "Email")
    assert (first["created"], first["upsert_key"]) == (2, "Email")
    _csv(path, header, [["Chen", "Northwind", "ava@northwind.example", "CRO"],
                        ["Ng", "Initech", "ng@initech.example", "CFO"]])
    second = _loaded(path, "Lead", args, "--upsert-key", "Email")
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 1, 1)
    leads = list(_records("Lead", args).values())
    assert len(leads) == 2 and {lead["Title"] for lead in leads} == {"CRO", "CFO"}


def test_upsert_key_matches_another_orgs_export(tmp_path: Path, args: list[str]) -> None:
    _loaded(_csv(tmp_path / "User.csv", USER_HEADER, _users()), "User", args)
    sandbox = [new_id("User", random.Random(i)) for i in range(3)]  # the same people under other ids
    header = [c for c in USER_HEADER if c != "ManagerId"]  # (a manager's id would be the other org's too)
    body = _loaded(_csv(tmp_path / "sandbox.csv", header, _users(title="AE", ids=sandbox)), "User", args,
                   "--upsert-key", "username")
    assert (body["created"], body["updated"], body["unchanged"], body["upsert_key"]) == (0, 1, 2, "Username")
    assert any("3 row(s) matched on Username carry another Id" in w for w in body["warnings"])
    users = _records("User", args)
    assert set(users) == set(USER_IDS) and users[USER_IDS[1]]["Title"] == "AE"


def test_a_bad_value_rejects_the_file_and_writes_nothing(tmp_path: Path, args: list[str]) -> None:
    _loaded(_csv(tmp_path / "Lead.csv", LEAD_HEADER, _leads()), "Lead", args)
    rows = _leads(title="Head of Sales")
    rows[1][LEAD_HEADER.index("NUMBEROFEMPLOYEES")] = "lots"
    result = _load(_csv(tmp_path / "bad.csv", LEAD_HEADER, rows), "Lead", args)
    assert result.exit_code == 1
    assert "line 3, field NumberOfEmployees" in result.stderr
    leads = _records("Lead", args)
    assert len(leads) == 2 and leads[to18(LEAD_IDS[0])]["Title"] == "VP Sales"  # line 2's change not written

    body = json.loads(_load(tmp_path / "bad.csv", "Lead", args, "--json").stdout)
    assert [(e["line"], e["field"]) for e in body["errors"]] == [(3, "NumberOfEmployees")]


def test_a_bad_id_and_a_header_that_is_no_field_are_refused(tmp_path: Path, args: list[str]) -> None:
    path = _csv(tmp_path / "leads.csv", ["Id", "Last Name", "LastName", "Company", "OwnerId"],
                [["00Qnotanid", "", "Chen", "Northwind", ""], ["", "", "Ng", "Initech", "005-bad"]])
    body = json.loads(_load(path, "Lead", args, "--json").stdout)
    found = {(e["line"], e["field"]): e["message"] for e in body["errors"]}
    assert set(found) == {(1, "Last Name"), (2, "Id"), (3, "OwnerId")}
    assert "did you mean LastName?" in found[(1, "Last Name")]
    assert _records("Lead", args) == {}


def test_rows_repeating_a_key_are_refused(tmp_path: Path, args: list[str]) -> None:
    rows = [["Chen", "Northwind", "ava@northwind.example"], ["Chen", "Northwind Ltd", "ava@northwind.example"]]
    path = _csv(tmp_path / "leads.csv", ["LastName", "Company", "Email"], rows)
    body = json.loads(_load(path, "Lead", args, "--json", "--upsert-key", "Email").stdout)
    assert [(e["line"], e["field"], e["message"]) for e in body["errors"]] == [(3, "Email", "the same Email as line 2")]
    unknown = json.loads(_load(path, "Lead", args, "--json", "--upsert-key", "Colour").stdout)
    assert unknown["field"] == "--upsert-key"


def test_a_large_file_reports_progress_in_batches_of_200(tmp_path: Path) -> None:
    path = _csv(tmp_path / "leads.csv", ["LastName", "Company"], [[f"Lead {i}", "Acme"] for i in range(450)])
    seen: list[tuple[int, int]] = []
    revloops = open_app(config=EXAMPLE, db=f"sqlite:///{tmp_path / 'state.sqlite'}")
    try:
        result = revloops.load_records(Caller.operator("test"), "Lead", path,
                                       progress=lambda done, total: seen.append((done, total)))
    finally:
        revloops.close()
    assert result.created == 450
    assert seen == [(0, 450), (200, 450), (400, 450), (450, 450)]
