"""The config loader: every kind of problem reported at once, each with file and line."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from pydantic import field_validator

from revloops.config.issues import ConfigIssue
from revloops.config.loader import ConfigFileSpec, GtmConfig, load_config
from revloops.core.errors import ConfigErrors
from revloops.core.model import ConfigModel


class Member(ConfigModel):
    user: str
    weight: int = 1


class Pool(ConfigModel):
    id: str
    members: list[Member]


class PoolsFile(ConfigModel):
    pools: list[Pool]


class Rule(ConfigModel):
    id: str
    priority: int
    pool: str

    @field_validator("priority")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 0:
            raise ValueError("priority must be 0 or more")
        return v


class RulesFile(ConfigModel):
    version: int = 1
    rules: list[Rule]


def refs(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    pools = cfg.get("pools")
    rules = cfg.get("rules")
    if pools is None or rules is None:
        return
    known = {p.id for p in pools.pools}
    for i, rule in enumerate(rules.rules):
        if rule.pool not in known:
            yield ConfigIssue("rules", ("rules", i, "pool"), f"pool {rule.pool!r} does not exist")


SPECS = [
    ConfigFileSpec("rules", "rules.yaml", RulesFile, required=True, loop="route"),
    ConfigFileSpec("pools", "deploy/pools.yaml", PoolsFile, loop="deploy"),
    ConfigFileSpec("scenarios", "design/scenarios/*.yaml", PoolsFile, loop="design"),
]
GOOD_RULES = """version: 1
rules:
  - id: smb
    priority: 10
    pool: smb-ae
"""
GOOD_POOLS = """pools:
  - id: smb-ae
    members:
      - user: ava@acme.example
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(root: Path) -> GtmConfig:
    return load_config(root, SPECS, [refs])


def problems(root: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        load(root)
    return [str(e) for e in info.value.errors]


def test_a_good_directory_loads(tmp_path: Path) -> None:
    write(tmp_path, "rules.yaml", GOOD_RULES)
    write(tmp_path, "deploy/pools.yaml", GOOD_POOLS)
    cfg = load(tmp_path)
    assert cfg.get("rules").rules[0].pool == "smb-ae"
    assert cfg.get("scenarios") == {}
    assert cfg.version.startswith("sha256:")


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "rules.yaml", "version: 1\nrules:\n  - id: a\n    priority: [10\n")
    [msg] = problems(tmp_path)
    assert "rules.yaml:" in msg and "invalid YAML" in msg
    line = int(msg.split("rules.yaml:")[1].split(":")[0])
    assert line in (4, 5)


def test_duplicate_key_is_an_error_with_its_line(tmp_path: Path) -> None:
    write(tmp_path, "rules.yaml", "version: 1\nversion: 2\nrules: []\n")
    [msg] = problems(tmp_path)
    assert "rules.yaml:2:" in msg and "duplicate" in msg


def test_unknown_key_points_at_the_key(tmp_path: Path) -> None:
    write(tmp_path, "rules.yaml", GOOD_RULES + "    colour: blue\n")
    write(tmp_path, "deploy/pools.yaml", GOOD_POOLS)
    [msg] = problems(tmp_path)
    assert msg.startswith(f"{tmp_path / 'rules.yaml'}:6:5:") or "rules.yaml:6:5:" in msg
    assert "colour" in msg and "unknown key" in msg and "[rule smb]" in msg


def test_wrong_type_points_at_the_value_line(tmp_path: Path) -> None:
    write(tmp_path, "rules.yaml", GOOD_RULES.replace("priority: 10", "priority: high"))
    write(tmp_path, "deploy/pools.yaml", GOOD_POOLS)
    [msg] = problems(tmp_path)
    assert "rules.yaml:4:5:" in msg and "priority" in msg


def test_validator_error_and_missing_field(tmp_path: Path) -> None:
    write(tmp_path, "rules.yaml", "rules:\n  - id: a\n    priority: -1\n    pool: p\n  - id: b\n    priority: 2\n")
    write(tmp_path, "deploy/pools.yaml", GOOD_POOLS)
    msgs = problems(tmp_path)
    assert any("rules.yaml:3:5:" in m and "priority must be 0 or more" in m for m in msgs)
    # a missing key is reported at the item that lacks it
    assert any("rules.yaml:5:" in m and "pool" in m and "Field required" in m for m in msgs)


def test_dangling_reference_is_reported_at_the_reference(tmp_path: Path) -> None:
    write(tmp_path, "rules.yaml", GOOD_RULES.replace("pool: smb-ae", "pool: nope"))
    write(tmp_path, "deploy/pools.yaml", GOOD_POOLS)
    [msg] = problems(tmp_path)
    assert "rules.yaml:5:5:" in msg and "pool 'nope' does not exist" in msg


def test_all_problems_in_all_files_come_at_once(tmp_path: Path) -> None:
    write(tmp_path, "rules.yaml", GOOD_RULES + "    extra: 1\n")
    write(tmp_path, "deploy/pools.yaml", "pools:\n  - id: x\n    members:\n      - user: a\n        weight: lots\n")
    write(tmp_path, "design/scenarios/bad.yaml", "pools: 3\n")
    msgs = problems(tmp_path)
    assert len(msgs) == 3
    assert {m.split(":")[0].rsplit("/", 1)[-1] for m in msgs} == {"rules.yaml", "pools.yaml", "bad.yaml"}
    assert any("pools.yaml:5:9:" in m for m in msgs)


def test_missing_required_file(tmp_path: Path) -> None:
    write(tmp_path, "deploy/pools.yaml", GOOD_POOLS)
    [msg] = problems(tmp_path)
    assert "rules.yaml" in msg and "required file is missing" in msg


def test_config_version_follows_git(tmp_path: Path) -> None:
    write(tmp_path, "rules.yaml", GOOD_RULES)
    write(tmp_path, "deploy/pools.yaml", GOOD_POOLS)
    outside = load(tmp_path).version
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "config"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert load(tmp_path).version == head != outside
    write(tmp_path, "rules.yaml", GOOD_RULES.replace("10", "11"))
    dirty = load(tmp_path).version
    assert dirty.startswith(head + "+dirty.")
    write(tmp_path, "rules.yaml", GOOD_RULES.replace("10", "12"))
    assert load(tmp_path).version != dirty
