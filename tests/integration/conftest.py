"""A small seeded copy of the example org, shared by the integration tests of one module."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from revloops.app import Caller, app_on
from revloops.bootstrap import Platform, build

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
TOKENS = '[{"token": "ops-token", "user": "ops@acme.example", "tier": "ops"},' \
         ' {"token": "rep-token", "user": "ava.chen@acme.example", "tier": "rep"}]'


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The example org's config (a private copy) seeded with 120 accounts and 300 leads."""
    root = tmp_path_factory.mktemp("acme")
    config = root / "config"
    shutil.copytree(EXAMPLE, config)
    mp = pytest.MonkeyPatch()
    mp.setenv("REVLOOPS_API_TOKENS", TOKENS)
    # state_dir: the engine's system database is the module's too (not ./.revloops, shared by every run)
    plat = build(config=config, db=f"sqlite:///{root / 'state.sqlite'}", events_secret="test-secret", state_dir=root)
    app_on(plat).seed_org(Caller.operator("seed"), users=6, accounts=120, leads=300, seed=11)
    yield plat
    mp.undo()
