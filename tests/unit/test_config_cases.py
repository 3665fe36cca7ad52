"""`revloops test` over every kind of case: score, assign, play (Engage and Pursue) and health cases pass on the
example org, fail when the config they test changes, name an unknown id at its line, and say which file they
need when the config has none; the CLI's exit code and its JSON, and the API's answer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from revloops.app import app_on
from revloops.bootstrap import build
from revloops.config.loader import load_config
from revloops.core.errors import ConfigErrors
from revloops.interfaces.api.app import create_app
from revloops.interfaces.cli.app import app
from revloops.loops.route.cases import KINDS
from revloops.loops.testing import run_cases

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
OPS = '[{"token": "ops-token", "user": "ops@acme.example", "tier": "ops"}]'


def _copy(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE, config)
    return config


def _test(tmp_path: Path, config: Path, *args: str) -> tuple[int, dict[str, object]]:
    db = f"sqlite:///{tmp_path / 'state.sqlite'}"
    result = CliRunner().invoke(app, ["test", "--config", str(config), "--db", db, "--json", *args])
    return result.exit_code, json.loads(result.output)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def _failed(run: dict[str, object]) -> dict[str, dict[str, object]]:
    cases = run["cases"]
    assert isinstance(cases, list)
    return {c["name"]: c for c in cases if not c["passed"]}


def test_every_kind_of_example_case_passes_and_the_json_says_what_each_got(tmp_path: Path) -> None:
    code, run = _test(tmp_path, EXAMPLE)
    assert code == 0, run
    assert run["failed"] == 0 and run["directory"] == "config"
    cases = run["cases"]
    assert isinstance(cases, list) and run["passed"] == len(cases)
    assert {c["kind"] for c in cases} == set(KINDS)
    by_name = {c["name"]: c for c in cases}
    vp = by_name["a VP of Sales at an enterprise software company asking for a demo is an MQL"]
    assert vp["got"].startswith("band mql, total 110 (fit 75, intent 35)")
    assert vp["file"] == "tests/scoring.yaml" and vp["trace"][0]["rule_id"] == "title-c-level"
    assert set(vp) >= {"file", "name", "kind", "passed", "expected", "got", "explanation", "trace"}
    london = by_name["London with no country is read as the UK's capital"]
    assert (london["got"], london["rule_id"]) == ("territory EMEA_UKI, rule emea-uki", "emea-uki")
    assert "the resolver answered GB" in london["explanation"]


def test_only_the_kinds_asked_for_run(tmp_path: Path) -> None:
    code, run = _test(tmp_path, EXAMPLE, "--kind", "health", "--kind", "assign")
    assert code == 0
    assert {c["kind"] for c in run["cases"]} == {"health", "assign"}  # type: ignore[attr-defined]
    assert run["directory"] is None  # no route case ran: the CRM was not asked for its users


def test_an_unknown_kind_is_refused(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'state.sqlite'}"
    result = CliRunner().invoke(app, ["test", "--config", str(EXAMPLE), "--db", db, "--kind", "scores"])
    assert result.exit_code == 1
    assert "unknown case kind 'scores'" in result.output


def test_a_raised_mql_threshold_fails_the_score_cases_it_moves(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    _edit(config / "qualify" / "scoring.yaml", "  mql: 60\n", "  mql: 120\n")
    code, run = _test(tmp_path, config, "--kind", "score")
    assert code == 1
    failed = _failed(run)
    vp = failed["a VP of Sales at an enterprise software company asking for a demo is an MQL"]
    assert vp["expected"].startswith("band mql, total 110")
    assert vp["got"].startswith("band nurture, total 110")
    assert "< mql 120" in vp["explanation"]
    # the cases below the old line do not move
    assert "a student on a personal mailbox is disqualified" not in failed


def test_a_score_case_reads_the_given_enrichment(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    (config / "tests" / "extra.yaml").write_text(
        "cases:\n"
        "  - name: a seniority enrichment does not give is no C-level\n"
        "    kind: score\n"
        "    record: {Title: Growth, Company: Umbrella, enrichment.person.seniority: manager}\n"
        "    expect: {rules: [title-c-level]}\n")
    code, run = _test(tmp_path, config, "--kind", "score")
    assert code == 1
    case = _failed(run)["a seniority enrichment does not give is no C-level"]
    assert "rules title-manager" in case["got"]
    matched = {s["rule_id"]: s["matched"] for s in case["trace"]}
    assert matched["title-c-level"] is False and matched["title-manager"] is True


def test_a_wrong_territory_fails_with_the_rule_that_decided(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    (config / "tests" / "extra.yaml").write_text(
        "cases:\n"
        "  - name: a German account expected in France\n"
        "    kind: assign\n"
        "    record: {Name: Umbrella GmbH, BillingCountry: Deutschland}\n"
        "    expect: {territory: EMEA_France}\n")
    code, run = _test(tmp_path, config, "--kind", "assign")
    assert code == 1
    case = _failed(run)["a German account expected in France"]
    assert case["got"] == "territory EMEA_DACH, rule emea-dach"
    dach = next(s for s in case["trace"] if s["rule_id"] == "emea-dach")
    assert dach["matched"] and dach["conditions"][0]["actual"] == "DE"


def test_a_raised_deal_size_moves_the_deal_play(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    _edit(config / "pursue" / "deal_plays.yaml", "Amount: {gte: 100000}", "Amount: {gte: 200000}")
    code, run = _test(tmp_path, config, "--kind", "play")
    assert code == 1
    failed = _failed(run)
    assert list(failed) == ["a six-figure deal at a small account is run as an enterprise new logo"]
    case = failed["a six-figure deal at a small account is run as an enterprise new logo"]
    assert case["got"].startswith("deal play smb-fast-close")
    assert [s["rule_id"] for s in case["trace"]] == ["enterprise-new-logo", "mid-market-velocity", "smb-fast-close"]


def test_a_lead_play_follows_the_persona_engage_derives(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    # directors become executives: an enterprise director, a practitioner of the catch-all play until now, is
    # now an enterprise executive
    _edit(config / "engage" / "plays.yaml", "title_matches: '\\b(director|manager|lead)\\b'",
          "title_matches: '\\b(manager|lead)\\b'")
    _edit(config / "engage" / "plays.yaml", "|managing director)\\b'", "|managing director|director)\\b'")
    (config / "tests" / "extra.yaml").write_text(
        "cases:\n"
        "  - name: an enterprise director\n"
        "    kind: play\n"
        "    record: {Title: Director of IT, Company: Initech, NumberOfEmployees: 5000, LeadSource: Web}\n"
        "    expect: {play: smb-self-serve}\n")
    code, run = _test(tmp_path, config, "--kind", "play")
    assert code == 1
    case = _failed(run)["an enterprise director"]
    assert case["got"].startswith("play enterprise-exec (persona exec, segment enterprise")


def test_a_higher_green_band_fails_the_health_cases_below_it(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    _edit(config / "expand" / "health.yaml", "{name: green, min: 70}", "{name: green, min: 90}")
    code, run = _test(tmp_path, config, "--kind", "health")
    assert code == 1
    failed = _failed(run)
    assert list(failed) == ["a new customer is not held to a seat trend it has had no time to build"]
    case = failed["a new customer is not held to a seat trend it has had no time to build"]
    assert (case["expected"], case["got"]) == ("band green", "band yellow, score 83.5")
    assert "new-account weights" in case["explanation"]


@pytest.mark.parametrize(("case", "line", "message"), [
    ("    kind: score\n    record: {Title: CEO}\n    expect: {rules: [demo-request, no-such-rule]}\n", 5,
     "scoring rule 'no-such-rule' does not exist"),
    ("    kind: assign\n    record: {BillingCountry: France}\n    expect: {territory: EMEA_Mars}\n", 5,
     "territory 'EMEA_Mars' does not exist"),
    ("    kind: assign\n    record: {BillingCountry: France}\n    expect:\n      rule_id: emea-paris\n", 6,
     "match rule 'emea-paris' does not exist"),
    ("    kind: assign\n    record: {BillingCountry: France}\n    expect: {territory: 'pending:no-territory'}\n", 5,
     "'pending:no-territory' is not a state Deploy parks an account in"),
    ("    kind: play\n    record: {Title: CEO}\n    expect: {play: no-such-play}\n", 5,
     "play 'no-such-play' does not exist in engage/plays.yaml"),
    ("    kind: play\n    loop: pursue\n    record: {Amount: 10}\n    expect: {play: smb-slow-close}\n", 6,
     "deal play 'smb-slow-close' does not exist"),
    ("    kind: health\n    features: {nps: 10}\n    expect: {band: amber}\n", 5,
     "band 'amber' does not exist in expand/health.yaml"),
    ("    kind: health\n    features: {nps: 10, happiness: 3}\n    expect: {band: green}\n", 4,
     "features.happiness: Input should be"),
    ("    kind: scores\n    record: {}\n    expect: {band: mql}\n", 2, "kind must be one of"),
    ("    kind: score\n    record: {Title: CEO}\n    expect: {}\n", 5, "cases[0].expect: expect needs band"),
    ("    kind: assign\n    record: {geo.country: FR}\n    expect: {territory: EMEA_France}\n", 4,
     "an assign case gives Account fields only"),
], ids=["score-rule", "territory", "match-rule", "pending-state", "play", "deal-play", "band", "feature", "kind",
        "no-expectation", "dotted-account"])
def test_a_bad_case_is_a_load_error_at_its_line(tmp_path: Path, case: str, line: int, message: str) -> None:
    config = _copy(tmp_path)
    (config / "tests" / "bad.yaml").write_text("cases:\n  - name: bad\n" + case)
    with pytest.raises(ConfigErrors) as caught:
        load_config(config)
    [error] = caught.value.errors
    assert error.location is not None and error.location.line == line, str(error)
    assert error.location.file.endswith("bad.yaml") and message in error.message


def test_a_kind_without_its_config_file_fails_naming_the_file(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    (config / "expand" / "health.yaml").unlink()
    results = [r for r in run_cases(load_config(config)) if not r.passed]
    assert results and {r.kind for r in results} == {"health"}
    assert results[0].explanation == "a health case needs expand/health.yaml, which the config directory does not have"


def test_the_api_runs_the_kinds_asked_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLOOPS_API_TOKENS", OPS)
    plat = build(db=f"sqlite:///{tmp_path / 's.sqlite'}", config=EXAMPLE, state_dir=tmp_path)
    client = TestClient(create_app(app_on(plat)))
    auth = {"Authorization": "Bearer ops-token"}
    answer = client.post("/api/config/test", params={"kind": ["score", "play"]}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert {c["kind"] for c in answer.json()["cases"]} == {"score", "play"} and answer.json()["failed"] == 0
    assert client.post("/api/config/test", params={"kind": "scores"}, headers=auth).status_code == 422
    # the route loop's own endpoint answers its cases
    route = client.post("/api/loops/route/test", headers=auth).json()
    assert {c["kind"] for c in route["cases"]} == {"route"} and route["directory"] == "config"
