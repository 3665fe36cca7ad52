"""`revloops report` on a seeded org, end to end: warehouse refresh, the report built by the application,
then opened in headless Chromium with the network cut off: nothing requested, no console or page error, and
every chart drew (a non-blank screenshot, its marks in colour)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Route

from revloops.app import Caller, app_on
from revloops.bootstrap import build
from tests.integration.conftest import EXAMPLE
from tests.support.browser import chromium
from tests.support.png import colourful, decode_png, ink

OPS = Caller.operator("test")
NEWS = EXAMPLE.parent / "signals"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    root = tmp_path_factory.mktemp("report-org")
    shutil.copytree(EXAMPLE, root / "config")
    plat = build(config=root / "config", db=f"sqlite:///{root / 'state.sqlite'}", state_dir=root,
                 warehouse_as_of=dt.date(2025, 1, 15))
    app = app_on(plat)
    app.seed_org(OPS, users=12, accounts=150, leads=400, seed=7)
    app.sync_territories(OPS, dry_run=False)  # coverage: the territory model and the accounts in it
    app.assign_territories(OPS, dry_run=False)
    shutil.copytree(NEWS, root / "signals")  # signals: a day of scan ticks over the shipped news corpus
    app.run_ticks(OPS, start=dt.datetime(2025, 1, 14, 9, tzinfo=dt.UTC), ticks=24)
    app.refresh_warehouse(OPS)
    built = app.build_report(OPS, root / "report.html")
    yield Path(built.path), built.sections
    plat.close()


def test_the_report_of_a_seeded_org_opens_offline_and_every_chart_draws(report: tuple[Path, list[str]]) -> None:
    path, sections = report
    assert {"Funnel", "Speed to lead", "Routing", "Territory coverage", "Capacity against plan",
            "Pipeline and win rate", "Coach's insights"} <= set(sections)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        blocked: list[str] = []
        errors: list[str] = []

        def route(r: Route) -> None:
            if r.request.url == path.as_uri():
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                errors.append(msg.text)

        page.route("**/*", route)
        page.on("console", on_console)
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(path.as_uri(), wait_until="load")
        figures = page.locator("figure.chart")
        assert figures.count() >= 10
        empty = []
        for i in range(figures.count()):
            figure = figures.nth(i)
            image = decode_png(figure.screenshot())
            share, colours = ink(image)
            assert share >= 0.03 and colours > 2, figure.get_attribute("data-chart")
            if colourful(image) < 0.005:
                empty.append(figure.get_attribute("data-chart"))
        assert blocked == [] and errors == []
        # the seed's history gives every chart data: none may fall back to its "no data" panel
        assert empty == [], f"charts without data: {empty}"
