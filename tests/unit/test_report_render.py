"""The report renderer: one self-contained HTML file, every id once, hostile CRM text kept as text, charts
drawn as well-formed SVG with nice ticks, honest gaps and negatives, and the same bytes every time."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Context, Decimal, localcontext
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from revloops.loops.coach.report import (
    Chart,
    Kpi,
    ReportModel,
    Section,
    Series,
    Table,
    nice_ticks,
    render_html,
)

HOSTILE = "<script>alert(1)</script>"
ATTR_BREAK = '"><img src=x onerror=alert(2)>'
AT = datetime(2024, 4, 2, 8, 30, tzinfo=UTC)
SVG_BLOCK = re.compile(r"<svg\b.*?</svg>", re.S)
NUMERIC_ATTRS = ("x", "y", "width", "height", "cx", "cy", "r", "x1", "x2", "y1", "y2")


def _model() -> ReportModel:
    weeks = [f"2024-W{w:02d}" for w in range(1, 9)]
    return ReportModel(
        title="Revenue operations", subtitle="Q1", generated_at=AT, notes=["Data is synthetic (seeded)"],
        sections=[
            Section(id="speed", title="Speed to lead", summary="Hours to first touch.",
                    kpis=[Kpi(label="Median", value="3.4 h", detail="target 4 h")],
                    charts=[
                        Chart(id="by-rep", title="By rep", kind="hbar", unit="h",
                              series=[Series(name="Q1",
                                             points=[("Ava", 2.5), ("Bram", 4.0), ("Chiara", 1.0)])]),
                        Chart(id="trend", title="Weekly", kind="line", unit="h",
                              series=[Series(name="SDR", points=[(w, 3.0 + i % 3)
                                                                 for i, w in enumerate(weeks)]),
                                      Series(name="AE", points=[(w, 5.0 - i * 0.3)
                                                                for i, w in enumerate(weeks)])]),
                    ]),
            Section(id="pipe", title="Pipeline",
                    charts=[
                        Chart(id="win", title="Win rate", kind="bar", unit="%",
                              series=[Series(name="Q4", points=[("SMB", 22.0), ("MM", 27.5)]),
                                      Series(name="Q1", points=[("SMB", 25.0), ("MM", 24.0)])]),
                        Chart(id="created", title="Created", kind="stacked", unit="$",
                              series=[Series(name="SMB", points=[("Jan", 1200.0), ("Feb", 900.0)]),
                                      Series(name="ENT", points=[("Jan", 5000.0), ("Feb", 6100.0)])]),
                    ],
                    tables=[Table(id="deals", title="Open deals", columns=["Account", "Amount", "Days"],
                                  rows=[["Globex", 1250000, 42], ["Initech", 36500.5, None]])]),
        ],
    )


def _one(chart: Chart) -> ReportModel:
    """A report of one section holding ``chart``."""
    return ReportModel(title="t", generated_at=AT, sections=[Section(id="s", title="s", charts=[chart])])


def _svgs(doc: str) -> list[ET.Element]:
    """Every inline ``<svg>`` of the document, parsed as XML (a parse error fails the test)."""
    return [ET.fromstring(block) for block in SVG_BLOCK.findall(doc)]


def _chart_svg(doc: str, chart_id: str) -> ET.Element:
    start = doc.index(f'id="chart-{chart_id}"')
    match = SVG_BLOCK.search(doc, start)
    assert match is not None
    return ET.fromstring(match.group(0))


def _bars(svg: ET.Element) -> list[dict[str, float]]:
    return [{k: float(v) for k, v in el.attrib.items() if k in NUMERIC_ATTRS}
            for el in svg.iter("rect") if el.get("class") == "bar"]


class _Text(HTMLParser):
    """The document's text as a browser would show it (entities decoded), plus the tags it opened."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(doc: str) -> _Text:
    parser = _Text()
    parser.feed(doc)
    parser.close()
    return parser


# ------------------------------------------------------------------------------------------------ structure


def test_document_is_complete_html5_with_print_css() -> None:
    doc = render_html(_model())
    assert doc.startswith("<!DOCTYPE html>")
    assert doc.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in doc
    assert doc.count("<style>") == 1
    assert "@media print" in doc
    assert "<title>Revenue operations</title>" in doc
    tags = _parse(doc).tags
    for tag in ("html", "head", "body", "main", "nav", "section", "figure", "svg", "table"):
        assert tag in tags


def test_every_chart_and_table_id_is_present_once() -> None:
    model = _model()
    doc = render_html(model)
    charts = [c for s in model.sections for c in s.charts]
    tables = [t for s in model.sections for t in s.tables]
    assert doc.count('<figure class="chart"') == len(charts) == 4
    assert len(SVG_BLOCK.findall(doc)) == len(charts)
    for c in charts:
        assert doc.count(f'id="chart-{c.id}"') == 1
        assert doc.count(f'data-chart="{c.id}"') == 1
    for t in tables:
        assert doc.count(f'id="table-{t.id}"') == 1
        assert doc.count(f'data-table="{t.id}"') == 1
    ids = re.findall(r'\sid="([^"]*)"', doc)
    assert len(ids) == len(set(ids))


def test_table_of_contents_links_every_section() -> None:
    model = _model()
    doc = render_html(model)
    nav = doc[doc.index("<nav"):doc.index("</nav>")]
    links = re.findall(r'href="#([^"]+)"', nav)
    assert links == [f"section-{s.id}" for s in model.sections]
    for target in links:
        assert doc.count(f'id="{target}"') == 1


def test_nothing_is_loaded_from_anywhere() -> None:
    doc = render_html(_model())
    assert re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:|//)""", doc, re.I) is None
    assert re.search(r"<script", doc, re.I) is None
    assert re.search(r"<link\b", doc, re.I) is None
    assert "@import" not in doc
    assert "@font-face" not in doc
    for m in re.finditer(r"url\(\s*['\"]?([^'\")]*)", doc):
        assert m.group(1).startswith("data:"), m.group(0)
    assert "http-equiv=\"Content-Security-Policy\"" in doc and "default-src 'none'" in doc


def test_notes_banner_is_visible_at_the_top() -> None:
    doc = render_html(_model())
    banner = doc.index('class="notes"')
    assert banner < doc.index("<nav")
    assert "Data is synthetic (seeded)" in doc[banner:doc.index("</div>", banner)]


def test_charts_have_sized_accessible_svgs() -> None:
    for svg in _svgs(render_html(_model())):
        assert svg.get("role") == "img"
        assert svg.get("aria-label")
        assert float(svg.get("width", "0")) > 0
        assert float(svg.get("height", "0")) > 0
        assert svg.get("viewBox") == f"0 0 {svg.get('width')} {svg.get('height')}"


def test_legend_only_with_more_than_one_series() -> None:
    doc = render_html(_model())
    assert _chart_svg(doc, "by-rep").find(".//g[@class='legend']") is None
    legend = _chart_svg(doc, "win").find(".//g[@class='legend']")
    assert legend is not None
    assert ["".join(t.itertext()) for t in legend.iter("text")] == ["Q4", "Q1"]


def test_palette_gives_each_series_its_own_colour() -> None:
    svg = _chart_svg(render_html(_model()), "created")
    fills = [el.get("fill") for el in svg.iter("rect") if el.get("class") == "bar"]
    assert len(fills) == 4 and len(set(fills)) == 2


def test_the_same_model_gives_the_same_document() -> None:
    model = _model()
    first = render_html(model)
    assert render_html(model) == first
    assert render_html(ReportModel.model_validate(model.model_dump())) == first
    assert render_html(ReportModel.model_validate_json(model.model_dump_json())) == first


# ------------------------------------------------------------------------------------------------ escaping


def _hostile_model() -> ReportModel:
    evil = f"{HOSTILE} & {ATTR_BREAK}"
    return ReportModel(
        title=evil, subtitle=evil, generated_at=AT, notes=[evil],
        sections=[Section(
            id="s", title=evil, summary=evil, kpis=[Kpi(label=evil, value=evil, detail=evil)],
            charts=[Chart(id=f"c{kind}", title=evil, kind=kind, unit="$", note=evil,
                          series=[Series(name=evil, points=[(evil, 3.0), ("ok", -1.0)]),
                                  Series(name=HOSTILE, points=[(evil, 1.0), (HOSTILE, 2.0)])])
                    for kind in ("bar", "hbar", "line", "stacked")],
            tables=[Table(id="t", title=evil, columns=[evil, "n"], rows=[[evil, 1], [HOSTILE, None]],
                          note=evil)],
        )],
    )


def test_hostile_text_renders_as_text_everywhere() -> None:
    doc = render_html(_hostile_model())
    assert "<script" not in doc.lower()
    assert "<img" not in doc.lower()
    parsed = _parse(doc)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert not {"onerror", "src"} & set(parsed.attrs)  # the text never became an attribute
    text = "".join(parsed.text)
    assert text.count(HOSTILE) >= 20  # titles, names, categories, cells, tooltips: all shown verbatim
    assert ATTR_BREAK in text


def test_hostile_text_does_not_break_svg() -> None:
    doc = render_html(_hostile_model())
    svgs = _svgs(doc)
    assert len(svgs) == 4
    for svg in svgs:
        assert HOSTILE in svg.get("aria-label", "")
        texts = "".join(svg.itertext())
        assert HOSTILE in texts
        assert not [el for el in svg.iter() if el.tag in ("script", "foreignObject", "img")]


def test_hostile_ids_stay_inside_their_attributes() -> None:
    model = ReportModel(title="t", generated_at=AT, sections=[Section(
        id=ATTR_BREAK, title="s", charts=[Chart(id=ATTR_BREAK, title="c", kind="bar",
                                                series=[Series(name="a", points=[("x", 1.0)])])],
        tables=[Table(id=ATTR_BREAK, title="t", columns=["a"], rows=[["b"]])])])
    doc = render_html(model)
    assert "<img" not in doc
    assert "img" not in _parse(doc).tags


def test_control_characters_and_lone_surrogates_are_replaced() -> None:
    name = "Acme\x00\x1b[31m\x0b Corp\ud800"
    model = ReportModel(title=name, generated_at=AT, sections=[Section(
        id="s", title=name, charts=[Chart(id="c", title=name, kind="bar",
                                          series=[Series(name=name, points=[(name, 1.0)])])],
        tables=[Table(id="t", title=name, columns=[name], rows=[[name]])])])
    doc = render_html(model)
    doc.encode("utf-8")  # a lone surrogate would raise here
    assert "\x00" not in doc and "\x1b" not in doc and "\x0b" not in doc
    assert "Acme\ufffd\ufffd[31m\ufffd Corp\ufffd" in doc
    _svgs(doc)


# ------------------------------------------------------------------------------------------------ charts


@pytest.mark.parametrize("kind", ["bar", "hbar", "line", "stacked"])
@pytest.mark.parametrize("series", [[], [Series(name="a", points=[])],
                                    [Series(name="a", points=[("x", None), ("y", math.nan)])]])
def test_chart_without_data_draws_a_no_data_panel(kind: str, series: list[Series]) -> None:
    model = ReportModel(title="t", generated_at=AT, sections=[Section(
        id="s", title="s", charts=[Chart(id="empty", title="Churn", kind=kind, series=series)])])
    doc = render_html(model)
    assert doc.count('id="chart-empty"') == 1
    svg = _chart_svg(doc, "empty")
    assert float(svg.get("width", "0")) > 100 and float(svg.get("height", "0")) > 100
    assert "no data" in svg.get("aria-label", "")
    assert "No data" in "".join(svg.itertext())
    frame = [el for el in svg.iter("rect") if el.get("class") == "no-data"]
    assert len(frame) == 1 and float(frame[0].get("width", "0")) > 100
    assert _bars(svg) == []


def test_negative_bars_hang_below_the_zero_line() -> None:
    chart = Chart(id="net", title="Net", kind="bar",
                  series=[Series(name="net", points=[("up", 10.0), ("down", -5.0), ("flat", 0.0)])])
    doc = render_html(_one(chart))
    svg = _chart_svg(doc, "net")
    zero = [el for el in svg.iter("line") if el.get("class") == "zero"]
    assert len(zero) == 1
    y0 = float(zero[0].get("y1", "nan"))
    up, down, flat = _bars(svg)
    assert up["y"] + up["height"] == pytest.approx(y0, abs=0.11)
    assert down["y"] == pytest.approx(y0, abs=0.11)
    assert up["height"] == pytest.approx(2 * down["height"], abs=0.2)
    assert flat["height"] == 0
    y_axis = svg.find(".//g[@class='y-axis']")
    assert y_axis is not None
    labels = ["".join(t.itertext()) for t in y_axis.iter("text")]
    assert labels[0].startswith("-") and "0" in labels
    values = ["".join(t.itertext()) for t in svg.iter("text") if t.get("class") == "value"]
    assert values == ["10", "-5", "0"]


def test_negative_horizontal_bars_go_left_of_zero() -> None:
    chart = Chart(id="h", title="H", kind="hbar",
                  series=[Series(name="a", points=[("gain", 8.0), ("loss", -4.0)])])
    svg = _chart_svg(render_html(ReportModel(title="t", generated_at=AT, sections=[
        Section(id="s", title="s", charts=[chart])])), "h")
    zero = next(el for el in svg.iter("line") if el.get("class") == "zero")
    x0 = float(zero.get("x1", "nan"))
    gain, loss = _bars(svg)
    assert gain["x"] == pytest.approx(x0, abs=0.11)
    assert loss["x"] + loss["width"] == pytest.approx(x0, abs=0.11)
    assert gain["width"] == pytest.approx(2 * loss["width"], abs=0.2)


def test_stacked_bars_stack_positives_up_and_negatives_down() -> None:
    chart = Chart(id="st", title="S", kind="stacked", series=[
        Series(name="a", points=[("q1", 3.0), ("q2", -2.0)]),
        Series(name="b", points=[("q1", 1.0), ("q2", None)]),
        Series(name="c", points=[("q1", -1.0), ("q2", -2.0)])])
    svg = _chart_svg(render_html(ReportModel(title="t", generated_at=AT, sections=[
        Section(id="s", title="s", charts=[chart])])), "st")
    a1, b1, c1, a2, c2 = _bars(svg)
    assert a1["y"] == pytest.approx(b1["y"] + b1["height"], abs=0.11)  # b sits on a
    assert c1["y"] == pytest.approx(a1["y"] + a1["height"], abs=0.11)  # c hangs from zero
    assert c2["y"] == pytest.approx(a2["y"] + a2["height"], abs=0.11)  # negatives stack downwards
    assert a1["height"] == pytest.approx(3 * b1["height"], abs=0.2)
    totals = ["".join(t.itertext()) for t in svg.iter("text") if t.get("class") == "value"]
    assert totals == ["3", "-4"]


def test_line_skips_none_points_and_breaks_the_line() -> None:
    chart = Chart(id="ln", title="L", kind="line", series=[
        Series(name="a", points=[("1", 1.0), ("2", 2.0), ("3", None), ("4", 4.0), ("5", 5.0),
                                 ("6", math.inf)])])
    svg = _chart_svg(render_html(ReportModel(title="t", generated_at=AT, sections=[
        Section(id="s", title="s", charts=[chart])])), "ln")
    paths = [el for el in svg.iter("path") if el.get("class") == "line"]
    assert len(paths) == 2
    for p in paths:
        assert p.get("d", "").count("L") == 1
    points = [el for el in svg.iter("circle") if el.get("class") == "point"]
    assert len(points) == 4
    tips = ["".join(p.itertext()) for p in points]
    assert tips == ["1: 1", "2: 2", "4: 4", "5: 5"]


def test_tooltips_carry_series_category_value_and_unit() -> None:
    doc = render_html(_model())
    tips = ["".join(el.itertext()) for el in _chart_svg(doc, "win").iter("rect") if el.get("class") == "bar"]
    assert tips == ["Q4 · SMB: 22%", "Q4 · MM: 27.5%", "Q1 · SMB: 25%", "Q1 · MM: 24%"]
    tips = ["".join(el.itertext()) for el in _chart_svg(doc, "created").iter("rect")
            if el.get("class") == "bar"]
    assert "ENT · Feb: $6,100" in tips


def test_axis_tick_labels_are_nice_steps_with_the_unit() -> None:
    doc = render_html(_model())
    axis = _chart_svg(doc, "win").find(".//g[@class='y-axis']")
    assert axis is not None
    assert ["".join(t.itertext()) for t in axis.iter("text")] == ["0%", "10%", "20%", "30%"]
    axis = _chart_svg(doc, "created").find(".//g[@class='y-axis']")
    assert axis is not None
    assert ["".join(t.itertext()) for t in axis.iter("text")] == [
        "$0", "$2,000", "$4,000", "$6,000", "$8,000"]
    big = Chart(id="big", title="b", kind="bar", unit="$",
                series=[Series(name="a", points=[("x", 2.5e6), ("y", -1e5)])])
    svg = _chart_svg(render_html(ReportModel(title="t", generated_at=AT, sections=[
        Section(id="s", title="s", charts=[big])])), "big")
    axis = svg.find(".//g[@class='y-axis']")
    assert axis is not None
    assert ["".join(t.itertext()) for t in axis.iter("text")] == [
        "-$1M", "$0", "$1M", "$2M", "$3M"]


def test_long_units_stay_off_the_ticks_but_in_tooltips_and_caption() -> None:
    chart = Chart(id="acc", title="Accounts per rep", kind="hbar", unit="accounts",
                  series=[Series(name="a", points=[("East", 1200.0), ("West", 800.0)])])
    doc = render_html(_one(chart))
    svg = _chart_svg(doc, "acc")
    axis = svg.find(".//g[@class='x-axis']")
    assert axis is not None
    assert ["".join(t.itertext()) for t in axis.iter("text")] == [
        "0", "200", "400", "600", "800", "1,000", "1,200"]
    assert "East: 1,200 accounts" in ["".join(el.itertext()) for el in svg.iter("rect")]
    assert '<span class="unit">accounts</span>' in doc


def test_long_category_labels_are_truncated_with_the_full_text_in_a_title() -> None:
    long = "Esther Okafor-Williamson, Enterprise Account Executive, EMEA North"
    for kind in ("bar", "hbar"):
        chart = Chart(id="c", title="c", kind=kind,
                      series=[Series(name="a", points=[(long, 1.0)] + [(f"r{i}", 2.0) for i in range(9)])])
        svg = _chart_svg(render_html(ReportModel(title="t", generated_at=AT, sections=[
            Section(id="s", title="s", charts=[chart])])), "c")
        label = next(t for t in svg.iter("text") if (t.findtext("title") or "") == long)
        shown = "".join(label.itertext())[len(long):]  # itertext yields the title first
        assert shown.endswith("…") and long.startswith(shown[:-1].rstrip()) and len(shown) < len(long)


def test_table_cells_are_formatted_and_numbers_right_aligned() -> None:
    doc = render_html(_model())
    table = doc[doc.index('id="table-deals"'):]
    table = table[:table.index("</figure>")]
    assert '<th scope="col">Account</th>' in table
    assert '<th scope="col" class="num">Amount</th>' in table
    assert '<td class="num">1,250,000.0</td>' in table  # one decimal because 36,500.5 needs it
    assert '<td class="num">36,500.5</td>' in table
    assert '<td class="num">42</td>' in table
    assert '<td class="num empty">—</td>' in table
    assert "<td>Globex</td>" in table


def test_integer_columns_get_thousands_separators_and_no_decimals() -> None:
    model = ReportModel(title="t", generated_at=AT, sections=[Section(id="s", title="s", tables=[
        Table(id="t", title="t", columns=["Leads", "Rate"],
              rows=[[1284, 0.5], [-1234567, -0.001], [7, 2.0]])])])
    doc = render_html(model)
    assert '<td class="num">1,284</td>' in doc and '<td class="num">-1,234,567</td>' in doc
    assert '<td class="num">7</td>' in doc
    assert '<td class="num">0.50</td>' in doc and '<td class="num">0.00</td>' in doc  # never "-0.00"
    assert '<td class="num">2.00</td>' in doc


def test_table_without_rows_says_so() -> None:
    model = ReportModel(title="t", generated_at=AT, sections=[Section(
        id="s", title="s", tables=[Table(id="t", title="t", columns=["a", "b"], rows=[])])])
    assert '<td class="empty" colspan="2">No rows</td>' in render_html(model)


def test_the_model_refuses_what_it_cannot_draw() -> None:
    with pytest.raises(ValidationError, match="repeats categories"):
        Series(name="a", points=[("x", 1.0), ("x", 2.0)])
    with pytest.raises(ValidationError, match="row 0 has 1 cells for 2 columns"):
        Table(id="t", title="t", columns=["a", "b"], rows=[["only"]])
    chart = Chart(id="c", title="c", kind="bar", series=[])
    with pytest.raises(ValidationError, match="duplicate chart ids"):
        ReportModel(title="t", generated_at=AT, sections=[Section(id="a", title="a", charts=[chart]),
                                                          Section(id="b", title="b", charts=[chart])])
    with pytest.raises(ValidationError, match="duplicate section ids"):
        ReportModel(title="t", generated_at=AT,
                    sections=[Section(id="a", title="a"), Section(id="a", title="b")])
    with pytest.raises(ValidationError):
        Chart(id="c", title="c", kind="pie", series=[])
    with pytest.raises(ValidationError):
        _model().title = "changed"  # type: ignore[misc]


# ------------------------------------------------------------------------------------------------ ticks


@pytest.mark.parametrize(("lo", "hi", "expected"), [
    (0, 100, [0, 20, 40, 60, 80, 100]),
    (0, 7, [0, 2, 4, 6, 8]),
    (-3, 12, [-5, 0, 5, 10, 15]),
    (0, 0.73, [0, 0.2, 0.4, 0.6, 0.8]),
    (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1]),
    (1234, 98765, [0, 20000, 40000, 60000, 80000, 100000]),
    (-0.004, -0.001, [-0.004, -0.003, -0.002, -0.001]),
    (0, 0.1, [0, 0.02, 0.04, 0.06, 0.08, 0.1]),
    (0.3, 0.7, [0.3, 0.4, 0.5, 0.6, 0.7]),
])
def test_nice_ticks_examples(lo: float, hi: float, expected: list[float]) -> None:
    assert nice_ticks(lo, hi) == expected


def _step_of(ticks: list[float]) -> Decimal:
    steps = {Decimal(repr(b)) - Decimal(repr(a)) for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1, ticks  # evenly spaced, exactly
    return steps.pop()


# subnormal ranges are left out: their ticks are not representable as floats (the renderer's own axes work in
# decimals and are exercised with every float by test_random_charts_draw_well_formed_svg)
finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False).map(
    lambda x: x if abs(x) >= 1e-100 else 0.0)


@given(finite, finite, st.integers(min_value=1, max_value=10))
def test_nice_ticks_are_1_2_5_steps_covering_the_range(a: float, b: float, count: int) -> None:
    lo, hi = min(a, b), max(a, b)
    ticks = nice_ticks(lo, hi, count)
    assert ticks == sorted(ticks) and len(ticks) >= 2
    assert ticks[0] <= lo and ticks[-1] >= hi
    step = _step_of(ticks)
    mantissa = step.scaleb(-step.adjusted()).normalize()
    assert mantissa in (Decimal(1), Decimal(2), Decimal(5))
    for t in ticks:
        assert Decimal(repr(t)) % step == 0
    intervals = len(ticks) - 1
    assert intervals <= count + 2
    if hi - lo > 1e-9 * max(abs(lo), abs(hi)):
        # the next smaller nice step would need more than `count` intervals for the range itself
        with localcontext(Context(prec=100)):
            smaller = {1: Decimal("0.5"), 2: Decimal(1), 5: Decimal(2)}[int(mantissa)] * step / mantissa
            assert Decimal(repr(hi)) - Decimal(repr(lo)) > smaller * count


def test_nice_ticks_refuse_non_finite_ranges() -> None:
    with pytest.raises(ValueError, match="finite"):
        nice_ticks(0, math.inf)
    with pytest.raises(ValueError, match="count"):
        nice_ticks(0, 1, 0)


# ------------------------------------------------------------------------------------------------ property

category = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
value = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                  st.floats(min_value=-1e6, max_value=1e6))


@st.composite
def charts(draw: st.DrawFn) -> Chart:
    cats = draw(st.lists(category, max_size=25, unique=True))
    series = []
    for i in range(draw(st.integers(min_value=0, max_value=4))):
        chosen = draw(st.lists(st.sampled_from(cats), unique=True)) if cats else []
        series.append(Series(name=draw(category) or f"s{i}", points=[(c, draw(value)) for c in chosen]))
    return Chart(id="c", title=draw(category), kind=draw(st.sampled_from(["bar", "hbar", "line", "stacked"])),
                 unit=draw(st.sampled_from(["", "%", "$", "h", "deals"])), series=series)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(charts())
def test_random_charts_draw_well_formed_svg(chart: Chart) -> None:
    doc = render_html(_one(chart))
    blocks = SVG_BLOCK.findall(doc)
    assert len(blocks) == 1
    svg = ET.fromstring(blocks[0])
    assert svg.get("role") == "img" and svg.get("aria-label")
    width, height = float(svg.get("width", "0")), float(svg.get("height", "0"))
    assert width > 0 and height > 0
    for el in svg.iter():
        for name in NUMERIC_ATTRS:
            if name in el.attrib:
                assert math.isfinite(float(el.attrib[name])), (el.tag, el.attrib)
        if el.tag == "path":
            assert all(math.isfinite(float(n)) for n in re.findall(r"-?[\d.]+", el.get("d", "")))
    bars = _bars(svg)
    for bar in bars:
        assert bar["height"] >= 0 and bar["width"] >= 0
        assert -1 <= bar["x"] <= width + 1 and -1 <= bar["y"] <= height + 1
        assert bar["x"] + bar["width"] <= width + 1 and bar["y"] + bar["height"] <= height + 1
    drawable = sum(1 for s in chart.series for _, v in s.points if v is not None and math.isfinite(v))
    if drawable == 0:
        assert "No data" in "".join(svg.itertext())
    elif chart.kind == "line":
        assert len([el for el in svg.iter("circle") if el.get("class") == "point"]) == drawable
    elif chart.kind == "stacked":
        nonzero = sum(1 for s in chart.series for _, v in s.points
                      if v is not None and math.isfinite(v) and v != 0)
        assert len(bars) == nonzero
    else:
        assert len(bars) == drawable
