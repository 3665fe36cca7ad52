"""The rendered report in a real browser: headless Chromium opens the file with the network cut off, nothing
is requested, nothing errs, every chart paints visible pixels, and the page lays out and prints."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Error, Page, Request, Route

from revloops.loops.coach.report import Chart, Kpi, ReportModel, Section, Series, Table, render_html
from tests.support.browser import chromium
from tests.support.png import colourful, decode_png, encode_png, ink

HOSTILE = "<script>alert(1)</script>"
WEEKS = [f"2024-W{w:02d}" for w in range(1, 14)]
REPS = ["Ava Chen", "Bram de Vries", "Chiara Russo", "Dmitri Volkov",
        "Esther Okafor-Williamson, Enterprise Account Executive (EMEA)", HOSTILE]


def _model() -> ReportModel:
    return ReportModel(
        title="Revenue operations report", subtitle="Acme · Q1 2024",
        generated_at=datetime(2024, 4, 2, 8, 30, tzinfo=UTC), notes=["Data is synthetic (seeded)"],
        sections=[
            Section(id="speed", title="Speed to lead", summary="Hours from lead creation to first touch.",
                    kpis=[Kpi(label="Median first touch", value="3.4 h", detail="target 4 h"),
                          Kpi(label="SLA breaches", value="37")],
                    charts=[
                        Chart(id="speed-by-rep", title="Median hours by rep", kind="hbar", unit="h",
                              series=[Series(name="Q1", points=list(zip(REPS, [2.1, 3.5, 4.8, 1.2, 6.3, 3.3],
                                                                        strict=True))),
                                      Series(name="Q4", points=list(zip(REPS, [2.6, 3.1, 5.2, 1.9, 5.0, -0.5],
                                                                        strict=True)))]),
                        Chart(id="speed-trend", title="Weekly median", kind="line", unit="h",
                              series=[Series(name="SDR", points=[(w, 3 + (i % 4) * 0.6)
                                                                 for i, w in enumerate(WEEKS)]),
                                      Series(name=HOSTILE, points=[(w, None if i in (4, 5) else 5 - i * 0.2)
                                                                   for i, w in enumerate(WEEKS)])]),
                    ]),
            Section(id="pipeline", title="Pipeline", summary="Created, won and net change.",
                    charts=[
                        Chart(id="created", title="Created by segment", kind="stacked", unit="$",
                              series=[Series(name=s, points=[(m, v * k) for m, v in
                                                             zip(["Jan", "Feb", "Mar"], [120e3, 150e3, 98e3],
                                                                 strict=True)])
                                      for s, k in [("SMB", 1.0), ("Mid-market", 1.6), ("Enterprise", 2.4)]]),
                        Chart(id="win-rate", title="Win rate", kind="bar", unit="%",
                              series=[Series(name="Q4", points=[("SMB", 22.0), ("Mid-market", 27.5),
                                                                (HOSTILE, 18.0)]),
                                      Series(name="Q1", points=[("SMB", 25.0), ("Mid-market", 24.0),
                                                                (HOSTILE, 21.5)])]),
                        Chart(id="net", title="Net change by week", kind="bar", unit="$",
                              series=[Series(name="net", points=[(w, (-1) ** i * 1000.0 * (i + 3))
                                                                 for i, w in enumerate(WEEKS)])]),
                        Chart(id="churn", title="Churned ARR", kind="line", series=[], note="No churn yet"),
                    ],
                    tables=[Table(id="deals", title="Largest open deals",
                                  columns=["Account", "Owner", "Amount ($)", "Probability", "Days open"],
                                  rows=[["Globex", "Ava Chen", 184000, 0.6, 42],
                                        [HOSTILE, "Bram de Vries", 1250000, 0.75, 87],
                                        ["Initech", None, 36500.5, 0.2, None]])]),
            Section(id="activity", title="Activity",
                    charts=[Chart(id="calls", title="Calls per rep", kind="stacked",
                                  series=[Series(name="connected",
                                                 points=[(r, 40.0 + i) for i, r in enumerate(REPS)]),
                                          Series(name="voicemail",
                                                 points=[(r, 20.0 - i) for i, r in enumerate(REPS)])])]),
        ],
    )


@dataclass
class Loaded:
    """The report open in a page, and what the page did while loading."""

    page: Page
    url: str
    model: ReportModel
    blocked: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    with chromium() as b:
        yield b


def _open(browser: Browser, path: Path, model: ReportModel, width: int = 1280) -> Loaded:
    path.write_text(render_html(model), encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 900})
    loaded = Loaded(page=page, url=path.as_uri(), model=model)

    def route(r: Route) -> None:
        if r.request.url == loaded.url:
            r.continue_()
        else:
            loaded.blocked.append(r.request.url)
            r.abort()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            loaded.console_errors.append(msg.text)

    def on_page_error(err: Error) -> None:
        loaded.page_errors.append(str(err))

    def on_dialog(d: Dialog) -> None:
        loaded.dialogs.append(d.message)
        d.dismiss()

    def on_request(req: Request) -> None:
        if req.url != loaded.url:
            loaded.requests.append(req.url)

    page.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.goto(loaded.url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return loaded


@pytest.fixture(scope="module")
def loaded(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """The report written to a file and opened at 1280 px wide."""
    result = _open(browser, tmp_path_factory.mktemp("report") / "report.html", _model())
    yield result
    result.page.close()


def _charts(model: ReportModel) -> list[Chart]:
    return [c for s in model.sections for c in s.charts]


def test_report_opens_offline_without_requests_or_errors(loaded: Loaded) -> None:
    assert loaded.page.title() == "Revenue operations report"
    assert loaded.blocked == []
    assert loaded.requests == []
    assert loaded.console_errors == []
    assert loaded.page_errors == []
    assert loaded.dialogs == []
    assert loaded.page.locator("script").count() == 0


def test_every_chart_paints_visible_pixels(loaded: Loaded) -> None:
    charts = _charts(loaded.model)
    figures = loaded.page.locator("figure.chart")
    assert figures.count() == len(charts) == 7
    for i, chart in enumerate(charts):
        figure = figures.nth(i)
        assert figure.get_attribute("data-chart") == chart.id
        svg = figure.locator("svg")
        assert svg.count() == 1
        box = svg.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100, (chart.id, box)
        image = decode_png(figure.screenshot())
        assert image.width >= box["width"] and image.height >= box["height"]
        share, colours = ink(image)
        assert share >= 0.03, (chart.id, share)  # frame, axes, labels and marks, or the "no data" panel
        assert colours > 2, (chart.id, colours)
        if chart.series:  # the bars and lines themselves, in palette colours (grid and text are grey)
            assert colourful(image) >= 0.005, (chart.id, colourful(image))


def test_bars_and_points_have_real_size_on_screen(loaded: Loaded) -> None:
    for chart in _charts(loaded.model):
        figure = loaded.page.locator(f'figure.chart[data-chart="{chart.id}"]')
        marks = figure.locator("rect.bar, circle.point")
        n = marks.count()
        if not chart.series:
            assert n == 0 and figure.locator("rect.no-data").count() == 1
            assert "No data" in figure.inner_text()
            continue
        assert n > 0
        for k in range(n):
            box = marks.nth(k).bounding_box()
            assert box is not None and math.isfinite(box["width"]) and box["height"] > 0, (chart.id, k, box)


def test_hostile_names_show_as_text(loaded: Loaded) -> None:
    page = loaded.page
    text = page.locator("body").inner_text()
    assert HOSTILE in text  # the table cell and the category labels
    assert page.locator("table").inner_text().count(HOSTILE) == 1
    assert page.locator("svg title", has_text=HOSTILE).count() > 0
    assert loaded.dialogs == []


def test_notes_banner_and_contents_are_visible(loaded: Loaded) -> None:
    page = loaded.page
    notes = page.locator(".notes")
    assert notes.is_visible() and "Data is synthetic (seeded)" in notes.inner_text()
    links = page.locator("nav.toc a")
    assert links.count() == len(loaded.model.sections)
    for k, section in enumerate(loaded.model.sections):
        links.nth(k).click()
        assert page.evaluate("location.hash") == f"#section-{section.id}"
        top = page.evaluate(f"document.getElementById('section-{section.id}').getBoundingClientRect().top")
        scrolled = page.evaluate("window.scrollY + window.innerHeight >= document.body.scrollHeight - 1")
        assert abs(top) < 2 or scrolled, (section.id, top)


def test_table_numbers_are_right_aligned_and_formatted(loaded: Loaded) -> None:
    cells = loaded.page.locator("#table-deals tbody tr").first.locator("td")
    assert cells.nth(2).inner_text() == "184,000.0"
    assert cells.nth(2).evaluate("e => getComputedStyle(e).textAlign") == "right"
    assert cells.nth(0).evaluate("e => getComputedStyle(e).textAlign") == "left"


@pytest.mark.parametrize("width", [1280, 420])
def test_page_does_not_overflow_sideways(browser: Browser, tmp_path: Path, width: int) -> None:
    loaded = _open(browser, tmp_path / "report.html", _model(), width=width)
    try:
        page = loaded.page
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for k in range(page.locator("figure.chart").count()):
            figure = page.locator("figure.chart").nth(k)
            fbox, sbox = figure.bounding_box(), figure.locator("svg").bounding_box()
            assert fbox is not None and sbox is not None
            assert sbox["x"] >= fbox["x"] and sbox["x"] + sbox["width"] <= fbox["x"] + fbox["width"] + 0.5
        assert loaded.blocked == [] and loaded.console_errors == [] and loaded.page_errors == []
    finally:
        loaded.page.close()


def test_report_prints(loaded: Loaded) -> None:
    page = loaded.page
    page.emulate_media(media="print")
    try:
        assert page.locator(".report-header").evaluate("e => getComputedStyle(e).backgroundColor") \
            == "rgb(255, 255, 255)"
        box = page.locator("figure.chart svg").first.bounding_box()
        assert box is not None and box["width"] > 200
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    finally:
        page.emulate_media(media="screen")


def test_png_decoder_reads_every_filter_type() -> None:
    for channels in (3, 4):
        rows = [bytes((x * 37 + y * 11 + c * 5) % 256 for x in range(6) for c in range(channels))
                for y in range(5)]
        image = decode_png(encode_png(6, rows, channels, [0, 1, 2, 3, 4]))
        assert (image.width, image.height, image.channels) == (6, 5, channels)
        assert image.rows == rows
    blank = decode_png(encode_png(4, [bytes(12)] * 4, 3, [0] * 4))
    assert ink(blank) == (0.0, 1) and colourful(blank) == 0.0
    red = decode_png(encode_png(2, [bytes([255, 0, 0, 255, 255, 255])] * 2, 3, [1, 4]))
    assert ink(red) == (0.5, 2) and colourful(red) == 0.5
