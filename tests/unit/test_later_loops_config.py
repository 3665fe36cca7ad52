"""The config files of the loops that come later (Generate's targets, Pursue, Onboard, Expand, Coach) are
checked like every other file: bad values and dangling references fail with file:line."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from revloops.config.loader import load_config
from revloops.core.errors import ConfigErrors
from revloops.loops.generate.config import STANDARD_SIGNAL_TYPES, TargetsFile

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "config")
    return tmp_path / "config"


def _problems(config: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as info:
        load_config(config)
    return [str(e) for e in info.value.errors]


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def test_the_example_loads_every_later_loop(config: Path) -> None:
    cfg = load_config(config)
    assert cfg.get("deal_plays").plays[0].id == "enterprise-new-logo"
    assert cfg.get("onboard_plans").plans[0].team == ["CSM", "SE"]
    assert cfg.get("expand_plays").plays[0].trigger.days_before == 90
    assert cfg.get("coach_metrics").sla.first_touch_hours == 4
    assert {t.domain for t in cfg.get("targets").targets} >= {"globex.example"}


@pytest.mark.parametrize("rel, old, new, message", [
    ("pursue/deal_plays.yaml", "offset_days: 10, owner_role: SE", "offset_days: 10, owner_role: Wizard",
     "role 'Wizard' is not in design/roles.yaml"),
    ("onboard/plans.yaml", "team: [CSM, SE]", "team: [CSM, Druid]", "role 'Druid' is not in design/roles.yaml"),
    ("generate/targets.yaml", "signals: [leadership_change]", "signals: [comet_sighting]",
     "unknown signal type 'comet_sighting'"),
    ("generate/targets.yaml", "territory: EMEA_DACH", "territory: EMEA_Atlantis",
     "territory 'EMEA_Atlantis' is not in design/territories.yaml"),
])
def test_dangling_references_are_reported_at_their_line(config: Path, rel: str, old: str, new: str,
                                                         message: str) -> None:
    path = config / rel
    path.write_text(path.read_text().replace(old, new, 1))  # the first target with it (several share a territory)
    [problem] = _problems(config)
    assert f"{rel}:{_line_of(path, new.split(': ')[-1].strip('[]').split(', ')[-1])}:" in problem
    assert message in problem


@pytest.mark.parametrize("rel, old, new, message", [
    ("pursue/deal_plays.yaml", '{id: discovery, subject: "Discovery call with {account}", offset_days: 1}',
     '{id: discovery, subject: "Discovery call with {account}", offset_days: 1, after: [proposal]}',
     "milestones depend on each other in a cycle: discovery → proposal → demo → discovery"),
    ("pursue/deal_plays.yaml", '{id: close, subject: "Close or follow up", offset_days: 5, after: [demo]}',
     '{id: close, subject: "Close or follow up", offset_days: 5, after: [dmeo]}',
     "comes after 'dmeo', which is not a milestone of this plan"),
    ("expand/plays.yaml", "trigger: {type: health_drop, below: 40}", "trigger: {type: health_drop}",
     "a health_drop trigger needs below"),
    ("coach/metrics.yaml", "direction: lower_is_better, roles: [SDR, AE]", "direction: sideways, roles: [SDR, AE]",
     "direction"),
    ("pursue/deal_plays.yaml", "Amount: {gte: 100000}", "Amount: {gte: lots}", "Amount"),
    ("qualify/scoring.yaml", "[funding, hiring_surge, leadership_change", "[funding, hiring_sales, leadership_change",
     "signal.type 'hiring_sales' is not a signal type of generate/targets.yaml"),
])
def test_bad_values_are_reported_at_their_line(config: Path, rel: str, old: str, new: str, message: str) -> None:
    path = config / rel
    path.write_text(path.read_text().replace(old, new))
    problems = _problems(config)
    assert any(rel in p and message in p for p in problems), problems
    line = next(int(p.split(f"{rel}:")[1].split(":")[0]) for p in problems if rel in p)
    # the error sits on the offending item: at most a few lines above the changed one (its list item's start)
    assert 0 <= _line_of(path, new) - line <= 6


TARGETS = "generate/targets.yaml"


def test_the_targets_file_holds_the_outbound_setup(config: Path) -> None:
    targets = load_config(config).require("targets", TargetsFile)
    assert len(targets.targets) == 100 and len({t.name for t in targets.targets}) == 100
    assert tuple(s.id for s in targets.signal_types) == STANDARD_SIGNAL_TYPES
    scan = targets.scan
    assert (scan.every_minutes, scan.per_tick, scan.max_searches, scan.lookback_days) == (5, 1, 3, 120)
    assert targets.budget.usd_per_month == 150 and targets.budget.searches_per_day > 0
    assert targets.sources.blocked_domains and not targets.sources.allowed_domains
    assert targets.outreach.threshold > 0 and {t.priority for t in targets.targets} == {1, 2, 3, 4, 5}


def test_a_scan_target_is_the_filter_and_the_lookback(config: Path) -> None:
    targets = load_config(config).require("targets", TargetsFile)
    initech = next(t for t in targets.targets if t.domain == "initech.example")
    at = targets.scan_target(initech, dt.datetime(2025, 1, 15, 9, tzinfo=dt.UTC))
    assert [k.id for k in at.kinds] == ["funding", "hiring_surge"] and at.since == dt.date(2024, 9, 17)
    globex = next(t for t in targets.targets if t.domain == "globex.example")
    assert len(targets.scan_target(globex, dt.date(2025, 1, 15)).kinds) == 10
    funding = targets.signal_type("funding")
    assert funding.value(0) == funding.weight * funding.strength
    assert funding.value(funding.half_life_days) == pytest.approx(funding.value(0) / 2)


@pytest.mark.parametrize("old, new, at, message", [
    ("  blocked_domains: [rumor-mill.example, pr-spamwire.example]",
     "  allowed_domains: [newswire.example]\n  blocked_domains: [rumor-mill.example, pr-spamwire.example]",
     "blocked_domains: [rumor", "give allowed_domains or blocked_domains, not both"),
    ("  blocked_domains: [rumor-mill.example, pr-spamwire.example]", "  blocked_domains: [rumor mill]",
     "[rumor mill]", "'rumor mill' is not a domain"),
    ("domain: hooli.example", "domain: globex.example", "Hooli KK", "domain targeted twice: 'globex.example'"),
    ("  lookback_days: 120", "  budget_usd_per_day: 5\n  lookback_days: 120", "budget_usd_per_day",
     "scan.budget_usd_per_day is now budget.usd_per_month"),
    ("  - id: layoffs", "  - id: funding  # was layoffs", "# was layoffs", "duplicate signal type id 'funding'"),
    ("    half_life_days: 60\n    strength: 0.9", "    half_life_days: 0\n    strength: 0.9", "half_life_days: 0",
     "greater than 0"),
    ("  usd_per_month: 150", "  usd_per_month: 0", "usd_per_month: 0", "greater than 0"),
    ("domain: umbrella.example", "domain: Umbrella", "domain: Umbrella", "should match pattern"),
])
def test_targets_mistakes_are_reported_at_their_line(config: Path, old: str, new: str, at: str,
                                                     message: str) -> None:
    path = config / TARGETS
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    [problem] = _problems(config)
    assert f"{TARGETS}:{_line_of(path, at)}:" in problem and message in problem, problem
