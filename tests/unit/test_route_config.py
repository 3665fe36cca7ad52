"""Bad rules fail validation with file:line and the rule id; cross-file references are checked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from revloops.config.loader import ConfigFileSpec, load_config
from revloops.core.errors import ConfigErrors
from revloops.core.rules import RulesFile
from revloops.loops.deploy.config import CHECKS as DEPLOY_CHECKS
from revloops.loops.deploy.config import FILES as DEPLOY_FILES
from revloops.loops.route.config import CHECKS as ROUTE_CHECKS

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"

GOOD = """version: 1
rules:
  - id: first
    priority: 10
    when:
      all:
        - geo.country: {in: [GB, DE]}
        - NumberOfEmployees: {gte: 1000}
    action: {type: queue, queue: Inbound_Triage}
  - id: second
    priority: 20
    action: {type: queue, queue: Inbound_Triage}
"""


def _errors(tmp_path: Path, text: str) -> list[tuple[int, str | None, str]]:
    (tmp_path / "rules.yaml").write_text(text)
    spec = ConfigFileSpec("rules", "rules.yaml", RulesFile, required=True, loop="route")
    with pytest.raises(ConfigErrors) as exc:
        load_config(tmp_path, specs=[spec], checks=[])
    return [(e.location.line if e.location else 0, e.rule_id, e.message) for e in exc.value.errors]


def test_good_file_loads(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(GOOD)
    spec = ConfigFileSpec("rules", "rules.yaml", RulesFile, required=True, loop="route")
    cfg = load_config(tmp_path, specs=[spec], checks=[])
    assert [r.id for r in cfg.get("rules").rules] == ["first", "second"]


@pytest.mark.parametrize(
    ("old", "new", "line", "rule", "words"),
    [
        ("NumberOfEmployees: {gte: 1000}", "NumberOfEmployees: {bigger: 1000}", 8, "first", "unknown operator"),
        ("NumberOfEmployees: {gte: 1000}", 'NumberOfEmployees: {gte: "abc"}', 8, "first", "type mismatch"),
        ("NumberOfEmployees: {gte: 1000}", 'Email: {matches: "(unclosed"}', 8, "first", "bad regular expression"),
        ("NumberOfEmployees: {gte: 1000}", "NumberOfEmployees: {between: [1, 2, 3]}", 8, "first", "pair"),
        ("geo.country: {in: [GB, DE]}", "geo.country: {in: GB}", 7, "first", "non-empty list"),
        ("geo.country: {in: [GB, DE]}", "{geo.country: {eq: GB}, Rating: {eq: Hot}}", 7, "first", "exactly one key"),
        ("priority: 20", "priority: 10", 11, "second", "duplicate priority"),
        ("id: second", "id: first", 10, "first", "duplicate rule id"),
    ],
)
def test_bad_rule_names_line_and_rule(tmp_path: Path, old: str, new: str, line: int, rule: str, words: str) -> None:
    assert old in GOOD
    errors = _errors(tmp_path, GOOD.replace(old, new, 1))
    assert any(ln == line and rid == rule and words in msg for ln, rid, msg in errors), errors


def _example_copy(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    shutil.copytree(EXAMPLE, root)
    return root


def _load_errors(root: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as exc:
        load_config(root)
    return [str(e) for e in exc.value.errors]


def test_example_org_loads() -> None:
    cfg = load_config(EXAMPLE)
    assert len(cfg.get("rules").rules) >= 25
    assert {"pools", "assignments", "match_rules"} <= set(cfg.files)


def test_unknown_pool_is_reported_at_the_rule(tmp_path: Path) -> None:
    root = _example_copy(tmp_path)
    path = root / "rules.yaml"
    path.write_text(path.read_text().replace("pool: smb-intl", "pool: smb-nowhere"))
    errors = _load_errors(root)
    assert any("unknown pool 'smb-nowhere'" in e and "rules.yaml:" in e and "[rule smb-intl]" in e for e in errors)


def test_unknown_role_and_territory_and_user(tmp_path: Path) -> None:
    root = _example_copy(tmp_path)
    rules = root / "rules.yaml"
    rules.write_text(rules.read_text().replace("action: {type: territory, role: SDR}", "action: {type: territory, role: VP}"))
    match = root / "deploy" / "match_rules.yaml"
    match.write_text(match.read_text().replace("territory: APAC_Japan}", "territory: APAC_Korea}"))
    assign = root / "deploy" / "assignments.yaml"
    assign.write_text(assign.read_text().replace("jonas.berg@acme.example", "nobody@acme.example"))
    errors = "\n".join(_load_errors(root))
    assert "unknown role 'VP'" in errors and "[rule any-territory]" in errors
    assert "unknown territory 'APAC_Korea'" in errors and "[rule apac-japan]" in errors
    assert "nobody@acme.example is not in the active roster" in errors


def test_assign_action_is_refused_in_route_rules(tmp_path: Path) -> None:
    root = _example_copy(tmp_path)
    rules = root / "rules.yaml"
    rules.write_text(rules.read_text().replace("action: {type: queue, queue: Partner_Leads}",
                                               "action: {type: assign, territory: NA}"))
    assert any("only for deploy/match_rules.yaml" in e for e in _load_errors(root))


def test_checks_are_registered() -> None:
    from revloops.config import layout

    assert set(ROUTE_CHECKS + DEPLOY_CHECKS) <= set(layout.CHECKS)
    assert {f.key for f in DEPLOY_FILES} | {"rules"} <= {f.key for f in layout.FILES}
