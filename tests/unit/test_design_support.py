"""A small, valid design config for the Design tests to copy and break (no tests of its own)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from revloops.config.loader import GtmConfig, load_config
from revloops.core.errors import ConfigErrors
from revloops.loops.design import checks, config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"

CAPACITY = """\
# which plan is live
active_scenario: base   # promote rewrites only this line
fiscal_year_start: 1

segments:
  - {id: smb, label: SMB, employees: {min: 0, max: 199}}
  - {id: ent, label: Enterprise, employees: {min: 200}}
motions:
  - {id: inbound_ae, label: Inbound AE, role: AE}
  - {id: sdr, label: SDR, role: SDR}
"""

TERRITORIES = """\
model: {developer_name: Test_Model, name: Test model}
types:
  - {developer_name: Geo, label: Geo, priority: 1}
territories:
  - {developer_name: Global, name: Global, type: Geo}
  - {developer_name: NA, name: NA, type: Geo, parent: Global}
  - {developer_name: NA_West, name: NA West, type: Geo, parent: NA}
  - {developer_name: NA_East, name: NA East, type: Geo, parent: NA}
  - {developer_name: EMEA, name: EMEA, type: Geo, parent: Global}
"""

ROLES = """\
roles:
  - {name: AE}
  - {name: SDR}
  - {name: Manager}
"""

BASE = """\
name: Base
fiscal_year: 2026
months: 12
roster:
  - {id: mgr, user: mgr@x.example, name: Manager One, role: Manager, territory: NA, start: 2024-01-01}
  - {id: a1, user: a1@x.example, name: Ann One, role: AE, motion: inbound_ae, segment: smb, territory: NA_West, manager: mgr, start: 2025-01-01}
  - {id: a2, user: a2@x.example, name: Bo Two, role: AE, motion: inbound_ae, segment: ent, territory: EMEA, manager: mgr, start: 2026-03-01}
  - {id: s1, kind: seat, seat: NA_AE_2, role: AE, motion: inbound_ae, segment: ent, territory: NA_East, start: 2026-06-01}
ramp_curves:
  inbound_ae: {months: [0.25, 0.5, 1.0]}
  sdr: {months: [0.5, 1.0]}
productivity:
  - {motion: inbound_ae, monthly: 50000}
  - {motion: inbound_ae, segment: ent, territory: NA, monthly: 80000}
  - {motion: sdr, monthly: 0}
targets:
  annual_bookings: 1800000
  quarterly: [400000, 400000, 500000, 500000]
  by_segment: {smb: 600000, ent: 1200000}
  by_territory: {NA: 1200000, EMEA: 600000}
assumptions:
  annual_attrition: {AE: 0.1}
  hiring_lag_months: 2
"""

CHILD = """\
name: More hires
extends: base
roster:
  - {id: s2, kind: seat, role: AE, motion: inbound_ae, segment: smb, territory: NA_East, start: 2026-04-01}
remove: [a2]
assumptions:
  hiring_lag_months: 1
"""


def write_config(root: Path, **files: str) -> Path:
    """Write the config under ``root/config``; ``files`` overrides by name (capacity, territories, roles,
    or a scenario id), and a value of ``""`` leaves that file out."""
    texts = {"capacity": CAPACITY, "territories": TERRITORIES, "roles": ROLES, "base": BASE, "child": CHILD}
    texts.update(files)
    paths = {"capacity": "design/capacity_config.yaml", "territories": "design/territories.yaml",
             "roles": "design/roles.yaml"}
    config = root / "config"
    for name, text in texts.items():
        path = config / paths.get(name, f"design/scenarios/{name}.yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        if text:
            path.write_text(text, encoding="utf-8")
    return config


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in the text")


def load(config: Path) -> GtmConfig:
    """Load with Design's files and checks only, so other loops' required files are not needed."""
    return load_config(config, specs=config_files(), checks=checks.CHECKS)


def config_files() -> list[Any]:
    return list(config.FILES)


def copy_example(root: Path) -> Path:
    """The whole example org's config directory, copied under ``root``."""
    target = root / "config"
    shutil.copytree(EXAMPLE, target)
    return target


def errors_of(config: Path) -> ConfigErrors:
    """The ConfigErrors a load raises (fails the test when the config loads)."""
    try:
        load(config)
    except ConfigErrors as exc:
        return exc
    raise AssertionError("the config loaded without errors")


def find(exc: ConfigErrors, file_suffix: str, words: str) -> tuple[str, int]:
    """(file, line) of the one error in ``file_suffix`` whose message contains ``words``."""
    hits = [e for e in exc.errors if e.location and e.location.file.endswith(file_suffix) and words in e.message]
    assert len(hits) == 1, f"expected one error with {words!r} in {file_suffix}, got:\n{exc}"
    assert hits[0].location is not None
    return hits[0].location.file, hits[0].location.line
