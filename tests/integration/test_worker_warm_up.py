"""A worker's threads start their first steps together: the config and the routing snapshot are built once
per process and shared, and a worker whose config is broken still starts (its runs fail on the errors)."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from revloops.app import Caller, app_on
from revloops.bootstrap import Platform, build
from revloops.engine.worker import warm_up
from revloops.loops.route.flow import cached_env, route_env

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
THREADS = 8


def _platform(tmp_path: Path) -> Platform:
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE, config)
    return build(config=config, db=f"sqlite:///{tmp_path / 'state.sqlite'}", state_dir=tmp_path)


def _all_at_once(fn: Any) -> list[Any]:
    start = threading.Barrier(THREADS)

    def one(_: int) -> Any:
        start.wait()
        return fn()

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(THREADS)))


def test_threads_asking_for_the_config_together_share_one_load(tmp_path: Path) -> None:
    plat = _platform(tmp_path)
    configs = _all_at_once(lambda: plat.config)
    assert len({id(c) for c in configs}) == 1
    assert configs[0].get("rules") is not None


def test_threads_asking_for_the_routing_snapshot_together_share_one_build(tmp_path: Path) -> None:
    plat = _platform(tmp_path)
    app_on(plat).seed_org(Caller.operator("seed"), users=6, accounts=40, leads=0, seed=3)
    envs = _all_at_once(lambda: route_env(plat))
    assert len({id(e) for e in envs}) == 1
    assert len(envs[0].accounts) == 40


def test_warm_up_builds_what_the_first_steps_need(tmp_path: Path) -> None:
    plat = _platform(tmp_path)
    app_on(plat).seed_org(Caller.operator("seed"), users=6, accounts=10, leads=0, seed=3)
    warm_up(plat)
    built = cached_env(plat)
    assert built is not None and route_env(plat) is built


def test_a_broken_config_is_logged_and_the_worker_still_warms_up(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    plat = _platform(tmp_path)
    (tmp_path / "config" / "rules.yaml").write_text("rules:\n  - id: broken\n    priority: [not a number\n")
    warm_up(plat)  # does not raise
    assert "has errors" in caplog.text and "rules.yaml" in caplog.text
    assert cached_env(plat) is None
