"""`revloops test`: routing cases pass, a wrong expectation fails with its trace, a bad case fails validation."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from revloops.interfaces.cli.app import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"


def _copy(tmp_path: Path) -> Path:
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE, config)
    return config


def test_example_cases_pass(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["test", "--config", str(_copy(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    assert '"failed": 0' in result.output


def test_a_wrong_expectation_fails_and_prints_the_trace(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    (config / "tests" / "extra.yaml").write_text(
        "cases:\n"
        "  - name: UK enterprise expected at the wrong AE\n"
        "    record: {Email: jane@initech.co.uk, Company: Initech, Country: United Kingdom, NumberOfEmployees: 4200}\n"
        "    expect: {owner: ava.chen@acme.example}\n"
    )
    result = CliRunner().invoke(app, ["test", "--config", str(config)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "expected owner ava.chen@acme.example" in result.output
    # the country was written out in full: geo normalisation still found GB for the trace
    assert "geo.country" in result.output and "'GB'" in result.output


def test_a_case_naming_an_unknown_rule_fails_validation_with_its_line(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    (config / "tests" / "bad.yaml").write_text(
        "cases:\n  - name: x\n    record: {Company: A}\n    expect: {rule_id: no-such-rule}\n"
    )
    result = CliRunner().invoke(app, ["validate", "--config", str(config)])
    assert result.exit_code == 1
    assert "bad.yaml:4:" in result.output and "no-such-rule" in result.output
