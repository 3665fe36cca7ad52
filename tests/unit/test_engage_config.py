"""plays.yaml: the example org's plays load; mistakes are reported at their file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from revloops.config.loader import load_config
from revloops.core.errors import ConfigErrors
from revloops.core.rules.conditions import Leaf
from revloops.loops.engage.config import FILES, PlaysFile, placeholders

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"


def _load(tmp_path: Path, text: str) -> PlaysFile:
    (tmp_path / "engage").mkdir(exist_ok=True)
    (tmp_path / "engage" / "plays.yaml").write_text(text)
    return load_config(tmp_path, specs=FILES, checks=[]).require("plays", PlaysFile)  # type: ignore[no-any-return]


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigErrors) as err:
        _load(tmp_path, text)
    return [str(e) for e in err.value.errors]


def test_the_example_plays_load_with_conditions_parsed() -> None:
    plays = load_config(EXAMPLE, specs=FILES, checks=[]).require("plays", PlaysFile)
    assert len(plays.plays) >= 5
    assert plays.ordered()[0].when == Leaf("signal.type", "in", ("funding",))  # signal-specific plays first
    assert plays.play("outbound-signal").when == Leaf("signal.type", "exists", True)  # then any signal
    for play in plays.plays:
        assert 3 <= len(play.steps) <= 6
        assert 12 <= play.steps[-1].day <= 21  # two to three weeks
    assert plays.ordered()[-1].when is None  # a catch-all closes the list


BASE = """
plays:
  - id: a
    name: A
    priority: 1
    steps:
"""


def test_unknown_placeholder_is_named_at_its_line(tmp_path: Path) -> None:
    errors = _errors(tmp_path, BASE + "      - {day: 0, channel: email, template: 'Hi {firstname}'}\n")
    assert len(errors) == 1
    assert "plays.yaml:7:" in errors[0] and "{firstname}" in errors[0] and "first_name" in errors[0]


def test_placeholder_with_attribute_access_is_refused(tmp_path: Path) -> None:
    errors = _errors(tmp_path, BASE + "      - {day: 0, channel: email, template: 'Hi {first_name.upper}'}\n")
    assert "plain name" in errors[0]


def test_bad_condition_subject_on_a_call_and_day_order(tmp_path: Path) -> None:
    text = """
plays:
  - id: a
    name: A
    priority: 1
    when: {segment: {inn: [x]}}
    steps:
      - {day: 0, channel: call, subject: Hello, template: x}
  - id: b
    name: B
    priority: 2
    steps:
      - {day: 5, channel: email, template: x}
      - {day: 1, channel: call, template: x}
"""
    errors = "\n".join(_errors(tmp_path, text))
    assert "plays.yaml:6:" in errors and "unknown operator 'inn'" in errors
    assert "plays.yaml:8:" in errors and "only email steps have a subject" in errors
    assert "day order" in errors


def test_duplicate_ids_and_priorities(tmp_path: Path) -> None:
    step = "    steps: [{day: 0, channel: email, template: x}]\n"
    text = "plays:\n" + "".join(f"  - id: a\n    name: A\n    priority: 1\n{step}" for _ in range(2))
    errors = "\n".join(_errors(tmp_path, text))
    assert "duplicate play id 'a'" in errors and "duplicate priority 1" in errors


def test_a_step_needs_words(tmp_path: Path) -> None:
    errors = _errors(tmp_path, BASE + "      - {day: 0, channel: linkedin}\n")
    assert "a template, a prompt, or both" in errors[0]


def test_placeholders_reads_names_and_literal_braces() -> None:
    assert placeholders("Hi {first_name}, {{not}} {company}") == ["first_name", "company"]


def test_a_segment_the_design_config_does_not_define_is_reported(tmp_path: Path) -> None:
    from revloops.loops.design import config as design
    from revloops.loops.engage.config import CHECKS

    (tmp_path / "design").mkdir()
    for name in ("capacity_config.yaml",):
        (tmp_path / "design" / name).write_text((EXAMPLE / "design" / name).read_text())
    (tmp_path / "engage").mkdir()
    (tmp_path / "engage" / "plays.yaml").write_text(
        "plays:\n  - id: mm\n    name: MM\n    priority: 1\n    when: {segment: {in: [mid_market, midmarket]}}\n"
        "    steps: [{day: 0, channel: email, template: x}]\n")
    capacity_only = [f for f in design.FILES if f.key == "capacity"]
    with pytest.raises(ConfigErrors) as err:
        load_config(tmp_path, specs=FILES + capacity_only, checks=CHECKS)
    (only,) = err.value.errors
    assert "plays.yaml:5:" in str(only) and "midmarket" in str(only) and "mid_market," not in only.message.split("(")[0]
    assert load_config(EXAMPLE, specs=FILES + capacity_only, checks=CHECKS).get("plays") is not None
