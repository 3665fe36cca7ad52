"""Routing a batch of an object with no address fields (Opportunity): the geo columns are as long as the batch.

The regression: ``_geo`` built the missing address fields as bare literals, a frame of one row, so
``context_frame`` raised a polars ShapeError for any batch of two or more Opportunities (``route preview
--from-crm`` on Opportunity). Each check compares the batch path with the live one, record by record, as
``test_columns_agree`` does for Leads and Accounts.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from revloops.app import Caller, app_on
from revloops.app.models import RecordSource
from revloops.bootstrap import Platform, build
from revloops.core.records import Account, Opportunity, SObject
from revloops.core.rotation import InMemoryRotation
from revloops.loops.route.env import RouteEnv
from revloops.loops.route.flow import route_env
from tests.unit.test_columns_agree import assert_contexts_agree, assert_routing_agrees, make_env

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
OPS = Caller.operator("test")
DAY = dt.datetime(2026, 7, 21, 9, 0, tzinfo=dt.UTC)


def _opportunities(n: int) -> list[Opportunity]:
    """``n`` open and closed deals, some on an account, some with the same values (so text repeats)."""
    stages = ["Prospecting", "Needs Analysis", "Closed Won", "Closed Lost"]
    return [Opportunity(Id=f"006{i:015d}", Name=f"Deal {i % 5}", StageName=stages[i % 4], CloseDate=DAY.date(),
                        AccountId=f"001{i % 3:015d}" if i % 2 else None, Amount=[None, 5e4, 2.5e5][i % 3],
                        LeadSource=["Web", "Partner Referral", None][i % 3], IsClosed=i % 4 >= 2,
                        IsWon=i % 4 == 2, CreatedDate=DAY + dt.timedelta(days=i % 3))
            for i in range(n)]


ACCOUNTS = [Account(Id=f"001{i:015d}", Name=name, Website=site, Type="Customer" if i else None)
            for i, (name, site) in enumerate([("Acme Corp", "acme.com"), ("Globex", "globex.de"),
                                               ("Initech", "initech.io")])]


@pytest.mark.parametrize("n", [2, 3, 70])  # 70: past 64 rows, where repeated text is dictionary-encoded
def test_a_batch_of_opportunities_has_its_height_and_routes_as_the_live_path(n: int) -> None:
    env = make_env(ACCOUNTS)
    records = _opportunities(n)
    assert_contexts_agree(env, records, "Opportunity")  # height == len(records), then field for field
    assert_routing_agrees(env, records, "Opportunity")


# -- through the application, from the CRM's columnar read -----------------------------------------------------


@pytest.fixture(scope="module")
def plat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A small seeded copy of the example org."""
    root = tmp_path_factory.mktemp("org")
    shutil.copytree(CONFIG, root / "config")
    platform = build(config=root / "config", db=f"sqlite:///{root / 'state.sqlite'}", state_dir=root)
    app_on(platform).seed_org(OPS, users=6, accounts=12, leads=5, seed=5)
    yield platform


def _live(env: RouteEnv, records: list[SObject]) -> tuple[Counter[str], Counter[str]]:
    """Rules and owners of the live path: record by record in creation-day order on one shared rotation (as
    ``assert_routing_agrees`` routes them), counted as a preview counts them."""
    compiled, rotation = env.compiled("Opportunity"), InMemoryRotation()
    rules: Counter[str] = Counter()
    owners: Counter[str] = Counter()
    days = [r.CreatedDate.date() if r.CreatedDate is not None else None for r in records]
    for day in sorted({d for d in days if d is not None}):
        handlers = env.handlers(rotation, day)
        for i, record in enumerate(records):
            if days[i] == day:
                out = compiled.evaluate({**env.context(record, "Opportunity"), "__row": i}, handlers, trace=False)
                rules[out.rule_id or "(none)"] += 1
                owners[out.owner_id] += 1
    return rules, owners


@pytest.mark.parametrize("limit", [2, None])
def test_preview_from_the_crm_routes_opportunities_as_the_live_path(plat: Platform, limit: int | None) -> None:
    found = app_on(plat).preview_routing(OPS, RecordSource(sobject="Opportunity", from_crm=True, limit=limit))
    # the very records the batch read, in its order
    ids = [i for frame in plat.crm.read_columns("Opportunity", ["Id"], limit=limit, created_order=True)
           for i in frame.get_column("Id").to_list()]
    assert len(ids) == (limit or len(ids)) and len(ids) >= 2
    records = [plat.crm.get("Opportunity", i) for i in ids]
    assert all(r.CreatedDate is not None for r in records)  # each has a day: none left out of the live count
    rules, owners = _live(route_env(plat), records)
    assert found.records == found.preview.total == len(records)
    assert found.preview.by_rule == dict(rules)
    assert found.preview.by_owner == dict(owners)
