"""What ``revloops report`` shows: the warehouse's metrics and views made into the report's sections.

The monthly figures come from the metric registry (the same compiled SQL the API and MCP answer with); the
tables read the documented views. ``report.py`` draws it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from revloops.core.errors import NotFound
from revloops.core.formatting import dollars, pct
from revloops.loops.coach.insights import Insight
from revloops.loops.coach.metrics import MetricRequest, Registry
from revloops.loops.coach.report import Chart, Kpi, ReportModel, Section, Series, Table, render_html
from revloops.ports.warehouse import Warehouse

MONTHS = 12


def _month_start(day: dt.date, back: int) -> dt.date:
    key = day.year * 12 + day.month - 1 - back
    return dt.date(key // 12, key % 12 + 1, 1)


class _Builder:
    def __init__(self, wh: Warehouse, registry: Registry, as_of: dt.date) -> None:
        self.wh, self.registry, self.as_of = wh, registry, as_of
        self.start = _month_start(as_of, MONTHS - 1)
        self.end = as_of + dt.timedelta(days=1)

    def monthly(self, metric: str, *, start: dt.date | None = None) -> list[tuple[str, float | None]]:
        """A registry metric by month over the report's window, as chart points."""
        try:
            compiled = self.registry.compile(MetricRequest(metric, grain="month", start=start or self.start,
                                                           end=self.end))
        except NotFound:
            return []
        frame = self.wh.query(compiled.sql, compiled.params)
        return [(row["period"].strftime("%Y-%m"), _num(row["value"])) for row in frame.to_dicts()
                if row["period"] is not None]

    def total(self, metric: str, start: dt.date | None = None) -> float | None:
        """A registry metric over the window (or from ``start``), one figure."""
        try:
            compiled = self.registry.compile(MetricRequest(metric, grain=None, start=start or self.start,
                                                           end=self.end))
        except NotFound:
            return None
        frame = self.wh.query(compiled.sql, compiled.params)
        return _num(frame["value"][0]) if frame.height else None

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.wh.query(sql, list(params)).to_dicts()


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _pct(value: float | None) -> str:
    return pct(value, missing="n/a")


def _money(value: float | None) -> str:
    return dollars(value, missing="n/a")


def _hours(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} h"


def _funnel(b: _Builder) -> Section:
    leads, mqls, conv = b.monthly("leads"), b.monthly("mqls"), b.monthly("conversions")
    rate = b.monthly("lead_to_mql")
    return Section(
        id="funnel", title="Funnel", summary="Leads by the month they were created, and how far they went.",
        kpis=[Kpi(label="Leads, last 12 months", value=f"{b.total('leads') or 0:,.0f}"),
              Kpi(label="Lead to MQL", value=_pct(b.total("lead_to_mql"))),
              Kpi(label="MQL to opportunity", value=_pct(b.total("mql_to_opportunity"))),
              Kpi(label="Win rate (by count)", value=_pct(b.total("win_rate_by_count")),
                  detail=f"by amount {_pct(b.total('win_rate_by_amount'))}")],
        charts=[Chart(id="funnel-monthly", title="Leads, MQLs and conversions by month", kind="bar",
                      series=[Series(name="Leads", points=leads), Series(name="MQLs", points=mqls),
                              Series(name="Converted", points=conv)], unit="leads"),
                Chart(id="funnel-mql-rate", title="Lead to MQL rate", kind="line",
                      series=[Series(name="Lead to MQL", points=[(m, v * 100 if v is not None else None)
                                                                 for m, v in rate])], unit="%")])


def _speed(b: _Builder) -> Section:
    reps = b.rows("SELECT owner_name, sum(leads_owned) AS owned, quantile_cont(human_p50_h, 0.5) AS p50, "
                  "sum(within_sla) / nullif(sum(leads_owned), 0) AS sla FROM speed_to_lead "
                  "WHERE month >= ? AND month < ? GROUP BY 1 HAVING sum(leads_owned) > 0 ORDER BY sla",
                  [b.start, b.end])
    return Section(
        id="speed-to-lead", title="Speed to lead",
        summary="The system's delay (created to owned) and the rep's (owned to first touch).",
        kpis=[Kpi(label="Created to owned, p50", value=_hours(b.total("system_delay_p50_h"))),
              Kpi(label="Owned to first touch, p50", value=_hours(b.total("first_touch_p50_h")),
                  detail=f"p95 {_hours(b.total('first_touch_p95_h'))}"),
              Kpi(label="SLA compliance", value=_pct(b.total("sla_compliance")))],
        charts=[Chart(id="speed-monthly", title="Median hours to first touch, and to an owner", kind="line",
                      series=[Series(name="Owned to first touch", points=b.monthly("first_touch_p50_h")),
                              Series(name="Created to owned", points=b.monthly("system_delay_p50_h"))], unit="h"),
                Chart(id="speed-sla-by-rep", title="Leads touched within the SLA, by rep", kind="hbar",
                      series=[Series(name="Within SLA", points=_unique(
                          (r["owner_name"] or "(unnamed)", (r["sla"] or 0) * 100) for r in reps))], unit="%")])


def _routing(b: _Builder) -> Section:
    rules = b.rows("SELECT * FROM routing_rules ORDER BY leads DESC")
    return Section(
        id="routing", title="Routing", summary="Which rules decided the leads, how many stayed pending, and how "
        "those leads converted.",
        kpis=[Kpi(label="Pending rate", value=_pct(b.total("pending_rate")))],
        charts=[Chart(id="routing-rules", title="Leads by routing rule", kind="hbar", unit="leads",
                      series=[Series(name="Leads", points=_unique((r["rule_id"], float(r["leads"]))
                                                                   for r in rules[:12]))])],
        tables=[Table(id="routing-table", title="Routing rules", columns=["Rule", "Action", "Leads", "Share",
                                                                          "Pending", "Converted", "Conversion"],
                      rows=[[r["rule_id"], r["action"], r["leads"], _pct(r["share"]), _pct(r["pending_rate"]),
                             r["converted"], _pct(r["conversion_rate"])] for r in rules])])


def _coverage(b: _Builder) -> Section:
    terr = b.rows("SELECT * FROM territory_coverage ORDER BY territory")
    leaves = [t for t in terr if t["accounts"]]
    return Section(
        id="coverage", title="Territory coverage", summary="Accounts, reps and open pipeline per territory.",
        charts=[Chart(id="coverage-accounts", title="Accounts per rep, by territory", kind="hbar", unit="accounts",
                      series=[Series(name="Accounts per rep", points=_unique(
                          (t["name"], _num(t["accounts_per_rep"])) for t in leaves))])],
        tables=[Table(id="coverage-table", title="Territories", columns=["Territory", "Accounts", "Reps",
                                                                         "Open deals", "Open pipeline"],
                      rows=[[t["name"], t["accounts"], t["reps"], t["open_deals"], _money(_num(t["open_pipeline"]))]
                            for t in terr])])


def _capacity(b: _Builder) -> Section:
    plan = b.rows("SELECT month, capacity, target, bookings FROM capacity_vs_plan WHERE active ORDER BY month")
    points = [(r["month"].strftime("%Y-%m"), r) for r in plan]
    return Section(
        id="capacity", title="Capacity against plan",
        summary="Design's capacity and target for the active scenario, and what was booked.",
        kpis=[Kpi(label="Capacity (horizon)", value=_money(sum(r["capacity"] for r in plan) if plan else None)),
              Kpi(label="Target (horizon)", value=_money(sum(r["target"] for r in plan) if plan else None))],
        charts=[Chart(id="capacity-plan", title="Capacity, target and bookings by month", kind="line", unit="$",
                      series=[Series(name="Capacity", points=[(m, _num(r["capacity"])) for m, r in points]),
                              Series(name="Target", points=[(m, _num(r["target"])) for m, r in points]),
                              Series(name="Bookings", points=[(m, _num(r["bookings"])) for m, r in points])])])


def _pipeline(b: _Builder) -> Section:
    stages = b.rows("SELECT stage, count(*) AS deals, sum(amount) AS amount FROM pipeline GROUP BY 1 "
                    "ORDER BY min(stage_age_days) DESC")
    top = b.rows("SELECT name, owner_name, stage, amount, close_date, stage_age_days FROM pipeline "
                 "ORDER BY amount DESC LIMIT 10")
    win_count, win_amount = b.monthly("win_rate_by_count"), b.monthly("win_rate_by_amount")
    return Section(
        id="pipeline", title="Pipeline and win rate", summary="Open deals by stage; win rate two ways.",
        kpis=[Kpi(label="Open pipeline", value=_money(sum(_num(s["amount"]) or 0 for s in stages))),
              Kpi(label="Open deals", value=f"{sum(s['deals'] for s in stages):,}"),
              Kpi(label="Sales cycle, p50", value="n/a" if (c := b.total("cycle_days_p50")) is None
                  else f"{c:.0f} days")],
        charts=[Chart(id="pipeline-stages", title="Open pipeline by stage", kind="hbar", unit="$",
                      series=[Series(name="Amount", points=_unique((s["stage"] or "(none)", _num(s["amount"]))
                                                                   for s in stages))]),
                Chart(id="pipeline-win-rate", title="Win rate by close month", kind="line", unit="%",
                      series=[Series(name="By count", points=_scale(win_count)),
                              Series(name="By amount", points=_scale(win_amount))])],
        tables=[Table(id="pipeline-top", title="Largest open deals", columns=["Deal", "Owner", "Stage", "Amount",
                                                                             "Close", "Days in stage"],
                      rows=[[d["name"], d["owner_name"], d["stage"], _money(_num(d["amount"])),
                             d["close_date"].isoformat() if d["close_date"] else None, d["stage_age_days"]]
                            for d in top])])


def _retention(b: _Builder) -> Section:
    arr = b.monthly("arr")
    latest = b.rows("SELECT arr, nrr, grr FROM arr WHERE month <= ? ORDER BY month DESC LIMIT 1", [b.as_of])
    row = latest[0] if latest else {}
    return Section(
        id="retention", title="ARR and retention", summary="ARR from won contracts; NRR and GRR over twelve months.",
        kpis=[Kpi(label="ARR", value=_money(_num(row.get("arr")))), Kpi(label="NRR", value=_pct(_num(row.get("nrr")))),
              Kpi(label="GRR", value=_pct(_num(row.get("grr"))))],
        charts=[Chart(id="retention-arr", title="ARR by month", kind="line", unit="$",
                      series=[Series(name="ARR", points=arr)])])


def _signals_and_plays(b: _Builder) -> Section:
    signals = b.rows("SELECT * FROM signal_yield")
    plays = b.rows("SELECT * FROM play_outcomes")
    return Section(
        id="signals-plays", title="Signals and plays", summary="Outbound signals by type; plays and their outcomes.",
        charts=[Chart(id="signals-by-type", title="Signals by type", kind="stacked", unit="signals",
                      series=[Series(name="Acted on", points=_unique((s["type"], float(s["acted_on"]))
                                                                     for s in signals)),
                              Series(name="Not acted on", points=_unique((s["type"],
                                                                          float(s["signals"] - s["acted_on"]))
                                                                         for s in signals))])],
        tables=[Table(id="plays-table", title="Plays", columns=["Loop", "Play", "Started", "Open", "Won", "Lost",
                                                                "Win rate", "On time"],
                      rows=[[p["loop"], p["play_id"], p["started"], p["open"], p["won"], p["lost"],
                             _pct(_num(p["win_rate"])), _pct(_num(p["on_time_share"]))] for p in plays])])


def _coach(found: Sequence[Insight]) -> Section:
    counts: dict[str, int] = {}
    for insight in found:
        counts[insight.kind] = counts.get(insight.kind, 0) + 1
    labels = {"slow_first_touch": "Slow first touch", "stalled_deal": "Stalled deals",
              "ramp_behind": "Behind the ramp", "weak_rule": "Weak routing rules"}
    return Section(
        id="coach", title="Coach's insights", summary="What Coach found, most severe first; `revloops coach "
        "insights --json` gives each one's evidence rows and query.",
        kpis=[Kpi(label=labels[k], value=str(counts.get(k, 0))) for k in labels],
        tables=[Table(id="coach-insights", title="Insights", columns=["Severity", "Kind", "Insight", "Why"],
                      rows=[[i.severity, labels[i.kind], i.title, i.detail] for i in found[:40]],
                      note=f"{len(found)} insights" + (" (first 40 shown)" if len(found) > 40 else ""))])


def _unique(points: Any) -> list[tuple[str, float | None]]:
    seen: set[str] = set()
    out: list[tuple[str, float | None]] = []
    for name, value in points:
        label = str(name)
        while label in seen:
            label += " "
        seen.add(label)
        out.append((label, value))
    return out


def _scale(points: list[tuple[str, float | None]]) -> list[tuple[str, float | None]]:
    return [(m, v * 100 if v is not None else None) for m, v in points]


def build(wh: Warehouse, registry: Registry, found: Sequence[Insight], *, as_of: dt.date,
          synthetic: Sequence[str] = ()) -> ReportModel:
    """The report's model over the warehouse as of ``as_of``."""
    b = _Builder(wh, registry, as_of)
    sections = [_funnel(b), _speed(b), _routing(b), _coverage(b), _capacity(b), _pipeline(b), _retention(b),
                _signals_and_plays(b), _coach(found)]
    return ReportModel(title="Revenue report", subtitle=f"As of {as_of.isoformat()}, the last {MONTHS} months",
                       generated_at=dt.datetime.now(dt.UTC), notes=list(synthetic), sections=sections)


def render(model: ReportModel) -> str:
    """The report's one HTML file."""
    return render_html(model)
