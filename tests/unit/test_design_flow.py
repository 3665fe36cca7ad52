"""Design's flows and CLI: inheritance, run, compare, promote (with --commit), validate, the demo."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from revloops.core.errors import NotFound
from revloops.interfaces.cli.design import app
from revloops.loops.design import flow
from revloops.loops.design.inherit import resolve_scenario
from tests.unit.test_design_support import copy_example, load, write_config

runner = CliRunner()


def test_child_scenario_inherits_and_overrides(tmp_path: Path) -> None:
    cfg = load(write_config(tmp_path))
    base, child = resolve_scenario(cfg, "base"), resolve_scenario(cfg, "child")
    assert child.chain == ("child", "base")
    assert [e.id for e in child.roster] == ["mgr", "a1", "s1", "s2"]  # a2 removed, s2 added at the end
    assert child.targets == base.targets and child.fiscal_year == 2026 and child.months == 12
    assert child.ramp_curves == base.ramp_curves and child.productivity == base.productivity
    assert child.assumptions.hiring_lag_months == 1  # overridden
    assert child.assumptions.annual_attrition == {"AE": 0.1}  # kept from base
    assert child.origins[("roster", "s2")] == ("child", ("roster", 0))
    assert child.origins[("roster", "a1")] == ("base", ("roster", 1))


def test_child_entry_with_same_id_replaces_the_parent_entry_in_place(tmp_path: Path) -> None:
    child = (
        "extends: base\n"
        "roster:\n"
        "  - {id: a1, user: a1@x.example, name: Ann One, role: AE, motion: inbound_ae, segment: ent,"
        " territory: NA_East, start: 2025-01-01}\n"
    )
    resolved = resolve_scenario(load(write_config(tmp_path, child=child)), "child")
    assert [e.id for e in resolved.roster] == ["mgr", "a1", "a2", "s1"]
    a1 = resolved.roster[1]
    assert (a1.territory, a1.segment) == ("NA_East", "ent")


def test_run_unknown_scenario_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="'ghost' does not exist"):
        flow.run_scenario(load(write_config(tmp_path)), "ghost")


def test_compare_deltas_are_b_minus_a(tmp_path: Path) -> None:
    cfg = load(write_config(tmp_path))
    a, b = flow.run_scenario(cfg, "base", draws=200), flow.run_scenario(cfg, "child", draws=200)
    cmp = flow.compare_scenarios(cfg, "base", "child", draws=200)
    rows = {(r.section, r.key): r for r in cmp.rows}
    assert rows[("total", "capacity")].delta == pytest.approx(b.total.capacity - a.total.capacity)
    assert rows[("total", "target")].delta == 0
    for qa, qb in zip(a.quarters, b.quarters, strict=True):
        assert rows[("quarter", qa.key)].delta == pytest.approx(qb.capacity - qa.capacity)
    seats = rows[("headcount", "seats to hire")]
    assert (seats.a, seats.b, seats.delta) == (1, 2, 1)
    assert rows[("headcount", "named reps")].delta == -1  # child removes a2
    assert {k for s, k in rows if s == "territory"} == {"NA", "EMEA"}  # only territories with a target


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True).stdout


def _repo(tmp_path: Path) -> Path:
    config = copy_example(tmp_path)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "planner@acme.example")
    _git(tmp_path, "config", "user.name", "Planner")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "initial")
    return config


def test_promote_rewrites_only_the_active_line_and_commits(tmp_path: Path) -> None:
    config = _repo(tmp_path)
    path = config / "design" / "capacity_config.yaml"
    before = path.read_text()
    result = runner.invoke(app, ["promote", "aggressive_hiring", "--commit", "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    after = path.read_text()
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [("active_scenario: base", "active_scenario: aggressive_hiring")]
    assert after.endswith("\n") and len(after.splitlines()) == len(before.splitlines())
    assert payload["previous"] == "base" and payload["commit"] == _git(tmp_path, "rev-parse", "HEAD").strip()
    assert _git(tmp_path, "status", "--porcelain") == ""
    assert "promote scenario aggressive_hiring" in _git(tmp_path, "log", "-1", "--format=%s")
    assert _git(tmp_path, "show", "--name-only", "--format=", "HEAD").split() == [
        "config/design/capacity_config.yaml"]


def test_promote_keeps_quotes_and_trailing_comment_and_dry_run_writes_nothing(tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    path = config / "design" / "capacity_config.yaml"
    path.write_text(path.read_text().replace("active_scenario: base", "active_scenario: 'base'   # live"))
    dry = flow.promote_scenario(config, "flat", dry_run=True)
    assert dry.changed and "+active_scenario: 'flat'   # live" in dry.diff
    assert "active_scenario: 'base'   # live" in path.read_text()
    flow.promote_scenario(config, "flat")
    assert "active_scenario: 'flat'   # live\n" in path.read_text()
    again = flow.promote_scenario(config, "flat")
    assert not again.changed


def test_promote_unknown_scenario_fails_and_changes_nothing(tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    before = (config / "design" / "capacity_config.yaml").read_text()
    result = runner.invoke(app, ["promote", "stretch", "--config", str(config)])
    assert result.exit_code == 1
    assert "'stretch' does not exist" in result.output
    assert (config / "design" / "capacity_config.yaml").read_text() == before


def test_cli_run_json_and_chart(tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    chart = tmp_path / "out" / "capacity.html"
    result = runner.invoke(app, ["run", "flat", "--config", str(config), "--json", "--draws", "300",
                                 "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scenario"] == "flat" and data["active"] is False and data["monte_carlo"]["draws"] == 300
    assert sum(data["month_capacity"]) == pytest.approx(data["total"]["capacity"])
    assert sum(r["capacity"] for r in data["segments"]) == pytest.approx(data["total"]["capacity"])
    assert chart.read_text().startswith("<!doctype html>") and "data:image/png;base64," in chart.read_text()


def test_cli_compare_tables_and_png_chart(tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    chart = tmp_path / "cmp.png"
    result = runner.invoke(app, ["compare", "base", "flat", "--config", str(config), "--draws", "200",
                                 "--chart", str(chart)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "base vs flat" in result.output and "seats to hire" in result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_validate_reports_file_and_line(tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    assert runner.invoke(app, ["validate", "--config", str(config)]).exit_code == 0
    scenario = config / "design" / "scenarios" / "base.yaml"
    text = scenario.read_text().replace("territory: APAC_Japan", "territory: APAC_Korea")
    scenario.write_text(text)
    result = runner.invoke(app, ["validate", "--config", str(config)], env={"COLUMNS": "200"})
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "APAC_Korea" in row)
    assert result.exit_code == 1
    assert f"base.yaml:{line}:" in result.output and "unknown territory 'APAC_Korea'" in result.output


def test_cli_uses_the_environment_config_and_explains(tmp_path: Path) -> None:
    config = copy_example(tmp_path)
    result = runner.invoke(app, ["explain", "--segment", "smb", "--period", "FY2026-Q1", "--json"],
                           env={"REVLOOPS_CONFIG": str(config)})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["scenario"] == "base" and data["value"] == pytest.approx(
        sum(c["capacity"] for c in data["contributions"]))
    bad = runner.invoke(app, ["explain", "--period", "FY2031-Q1"], env={"REVLOOPS_CONFIG": str(config)})
    assert bad.exit_code == 1 and "not in the horizon" in bad.output


def test_the_design_overview_runs_every_scenario_active_first_and_writes_the_chart(tmp_path: Path) -> None:
    from revloops.app import Caller, open_app
    from revloops.interfaces.cli import design_tables

    me = Caller.operator("test")
    with open_app(config=copy_example(tmp_path), db=f"sqlite:///{tmp_path / 'state.sqlite'}") as revloops:
        results = revloops.design_overview(me, chart=tmp_path / "demo" / "design_capacity.png")
        runs = [r.run for r in results]
        console = Console(record=True, width=160)
        console.print(design_tables.scenarios_table(runs))
        console.print(design_tables.comparison_table(revloops.compare_scenarios(me, runs[0].scenario, "flat").comparison))
    text = console.export_text()
    assert runs[0].active and not any(r.active for r in runs[1:])
    assert {r.scenario for r in runs} == {"base", "flat", "aggressive_hiring"}
    assert "aggressive_hiring" in text and "base vs flat" in text
    assert (tmp_path / "demo" / "design_capacity.png").stat().st_size > 10_000
