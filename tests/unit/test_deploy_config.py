"""Deploy's config errors name the file and line: cycles, orphans, duplicate developer names, unknown users,
Salesforce's limits (territories per model, rules per territory), a user holding a territory twice."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from revloops.config.loader import load_config
from revloops.core.errors import ConfigErrors

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
TERRITORIES = "design/territories.yaml"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "config"
    shutil.copytree(EXAMPLE, root)
    return root


def _edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _line_of(root: Path, rel: str, needle: str) -> int:
    return next(i for i, line in enumerate((root / rel).read_text().splitlines(), start=1) if needle in line)


def _errors(root: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_config(root)
    return [str(e) for e in caught.value.errors]


def _one(errors: list[str], fragment: str) -> str:
    found = [e for e in errors if fragment in e]
    assert len(found) == 1, errors
    return found[0]


def test_the_example_loads() -> None:
    assert load_config(EXAMPLE).get("match_rules") is not None


def test_a_cycle_is_reported_on_the_parent_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(root, TERRITORIES, "{developer_name: NA, name: North America, type: Geo_Region, parent: Global",
          "{developer_name: NA, name: North America, type: Geo_Region, parent: NA_West")
    err = _one(_errors(root), "territory 'NA' is its own ancestor")
    assert f"{TERRITORIES}:{_line_of(root, TERRITORIES, 'developer_name: NA, ')}:" in err


def test_an_orphan_names_its_missing_parent(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(root, TERRITORIES, "parent: APAC, account_access: Edit, opportunity_access: Edit}\n  - {developer_name: APAC_Japan",
          "parent: APAC_Nowhere, account_access: Edit, opportunity_access: Edit}\n  - {developer_name: APAC_Japan")
    err = _one(_errors(root), "parent 'APAC_Nowhere' of 'APAC_ANZ' is not a territory")
    assert f"{TERRITORIES}:{_line_of(root, TERRITORIES, 'APAC_Nowhere')}:" in err


def test_a_duplicate_developer_name_points_at_the_second(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _edit(root, TERRITORIES, "{developer_name: APAC_SEA, name: Southeast Asia",
          "{developer_name: APAC_Japan, name: Southeast Asia")
    err = _one(_errors(root), "duplicate territory 'APAC_Japan'")
    assert f"{TERRITORIES}:{_line_of(root, TERRITORIES, 'name: Southeast Asia')}:" in err


def test_an_assignment_naming_an_unknown_user(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    rel = "deploy/assignments.yaml"
    _edit(root, rel, "{user: hiro.tanaka@acme.example, territory: APAC_Japan",
          "{user: nobody@acme.example, territory: APAC_Japan")
    err = _one(_errors(root), "nobody@acme.example is not in the active roster")
    assert f"{rel}:{_line_of(root, rel, 'nobody@')}:" in err


def test_a_user_holding_a_territory_twice(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    rel = "deploy/assignments.yaml"
    _edit(root, rel, "  - {user: kai.nguyen@acme.example, territory: NA_West, role: SDR}\n",
          "  - {user: ava.chen@acme.example, territory: NA_West, role: SDR}\n")
    err = _one(_errors(root), "already holds NA_West")
    assert f"{rel}:{_line_of(root, rel, 'ava.chen@acme.example, territory: NA_West, role: SDR')}:" in err


def test_more_than_fifteen_rules_for_one_territory(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    rel = "deploy/match_rules.yaml"
    extra = "".join(f"  - {{id: jp-{i}, priority: {500 + i}, when: {{geo.postal: {{eq: '10{i:02d}'}}}}, "
                    f"action: {{type: assign, territory: APAC_Japan}}}}\n" for i in range(15))
    _edit(root, rel, "  - {id: unmatched", extra + "  - {id: unmatched")
    err = _one(_errors(root), "more than 15 assignment rules")
    assert f"{rel}:{_line_of(root, rel, 'id: jp-14,')}:" in err


def test_more_territories_than_a_model_may_hold(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    many = "".join(f"  - {{developer_name: T{i}, name: T{i}, type: Geo_Subregion, parent: Global}}\n" for i in range(990))
    with (root / TERRITORIES).open("a") as fh:
        fh.write(many)
    err = _one(_errors(root), "1000")
    assert f"{TERRITORIES}:" in err and "territories" in err
