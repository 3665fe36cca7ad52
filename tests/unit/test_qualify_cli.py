"""`revloops qualify score --record FILE`: the breakdown as a table or JSON, and clear input errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from revloops.interfaces.cli.qualify_cmd import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"


@pytest.fixture
def args(tmp_path: Path) -> list[str]:
    return ["--config", str(EXAMPLE), "--db", f"sqlite:///{tmp_path / 'state.sqlite'}"]


def _record(tmp_path: Path, body: object) -> Path:
    path = tmp_path / "lead.json"
    path.write_text(json.dumps(body) if not isinstance(body, str) else body)
    return path


def test_score_prints_the_breakdown(tmp_path: Path, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    rec = _record(tmp_path, {"LastName": "Ng", "Company": "Initech", "Title": "VP of Sales", "LeadSource": "Partner Referral",
                             "NumberOfEmployees": 450, "Country": "Canada",
                             "enrichment": {"status": "ok", "company": {"industry": "banking"}}})
    result = CliRunner().invoke(app, ["score", "--record", str(rec), *args])
    assert result.exit_code == 0, result.output
    # title-vp 20 + revenue-function 10 + size-mid-market 15 + target-industry 15 + target-country 10 + partner 25
    assert "MQL  total 95  (fit 70, intent 25)" in result.output
    for rule in ("title-vp", "size-mid-market", "target-industry", "partner-referral"):
        assert rule in result.output


def test_score_json_totals_add_up(tmp_path: Path, args: list[str]) -> None:
    rec = _record(tmp_path, {"LastName": "Doe", "Company": "-", "Email": "jd@gmail.com", "Title": "Student",
                             "LeadSource": "Content"})
    result = CliRunner().invoke(app, ["score", "--record", str(rec), "--no-enrich", "--json", *args])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    lines = body["score"]["breakdown"]
    assert body["score"]["total"] == sum(line["points"] for line in lines)
    assert body["score"]["band"] == "disqualified"
    assert {"free-mailbox", "student-or-job-seeker", "content-download"} <= {line["rule_id"] for line in lines}
    assert body["enrichment"] is None  # --no-enrich asked nobody


def test_enrichment_is_asked_by_default(tmp_path: Path, args: list[str]) -> None:
    rec = _record(tmp_path, {"LastName": "Chen", "Company": "Northwind", "Email": "ava@northwindtraders.com"})
    result = CliRunner().invoke(app, ["score", "--record", str(rec), "--json", *args])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["enrichment"]["status"] == "ok" and body["enrichment"]["provider"] == "offline"


def test_bad_json_names_the_file_and_line(tmp_path: Path, args: list[str]) -> None:
    rec = _record(tmp_path, '{\n  "LastName": "X",\n  oops\n}')
    result = CliRunner().invoke(app, ["score", "--record", str(rec), *args])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "line 3" in text and "lead.json is not JSON" in text


def test_missing_file_is_an_input_error(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, ["score", "--record", str(tmp_path / "nope.json"), *args])
    assert result.exit_code == 1 and "nope.json does not exist" in " ".join(result.output.split())
