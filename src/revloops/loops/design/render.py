"""Design's tables (rich) and charts (matplotlib): capacity against target by month."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from revloops.core.errors import InputError
from revloops.loops.design.logic import Explanation
from revloops.loops.design.results import Comparison, GroupRow, ScenarioRun

CHART_SUFFIXES = (".png", ".svg", ".html")


def money(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    value = abs(value)
    if value >= 1e6:
        return f"{sign}{value / 1e6:,.2f}M"
    if value >= 1e3:
        return f"{sign}{value / 1e3:,.0f}k"
    return f"{sign}{value:,.0f}"


def pct(value: float | None, signed: bool = False) -> str:
    return "-" if value is None else (f"{value:+.1%}" if signed else f"{value:.0%}")


def _groups(title: str, rows: Sequence[GroupRow], skip_empty: bool = False) -> Table:
    table = Table(title=title)
    for col in ("", "capacity", "target", "coverage"):
        table.add_column(col, justify="left" if not col else "right")
    for r in rows:
        if skip_empty and not r.capacity and r.target is None:
            continue
        table.add_row(r.key, money(r.capacity), money(r.target), pct(r.coverage))
    return table


def run_tables(run: ScenarioRun) -> list[Table]:
    """The tables of ``design run``: periods, segments, territories, motions, hiring gap, Monte Carlo."""
    active = " (active)" if run.active else ""
    tables = [_groups(f"{run.name}{active}: capacity vs target by quarter", [*run.quarters, run.total]),
              _groups("by segment", run.segments),
              _groups("by territory", run.territories, skip_empty=True),
              _groups("by motion", run.motions, skip_empty=True)]
    gap = Table(title=f"hiring gap ({', '.join(f'{k}: {v}' for k, v in run.headcount.items())})")
    for col in ("segment", "shortfall", "seats", "kind", "start by", "open req by", "note"):
        gap.add_column(col)
    for g in run.hiring_gap:
        kind = f"{g.motion} / {g.territory}" if g.motion else "-"
        gap.add_row(g.group, money(g.shortfall), str(g.seats or "-") if g.shortfall else "0", kind,
                    str(g.start_by or "-"), str(g.open_requisition_by or "-"), g.note)
    mc = run.monte_carlo
    sim = Table(title=f"Monte Carlo attainment ({mc.draws} draws, seed {mc.seed})")
    for col in ("", "P10", "P50", "P90"):
        sim.add_column(col, justify="right" if col else "left")
    sim.add_row("total", pct(mc.total.p10_attainment), pct(mc.total.p50_attainment), pct(mc.total.p90_attainment))
    for seg, p in mc.by_segment.items():
        sim.add_row(seg, pct(p.p10_attainment), pct(p.p50_attainment), pct(p.p90_attainment))
    return [*tables, gap, sim]


def scenarios_table(runs: Sequence[ScenarioRun]) -> Table:
    """Scenarios in columns: capacity, target, coverage, headcount and P50 attainment."""
    table = Table(title="capacity scenarios")
    table.add_column("")
    for run in runs:
        table.add_column(run.scenario + (" *" if run.active else ""), justify="right")
    lines: list[tuple[str, Callable[[ScenarioRun], str]]] = [("capacity", lambda r: money(r.total.capacity)), ("target", lambda r: money(r.total.target)),
             ("coverage", lambda r: pct(r.total.coverage)),
             ("named reps", lambda r: str(r.headcount["named reps"])),
             ("seats to hire", lambda r: str(r.headcount["seats to hire"])),
             ("P10 / P50 / P90", lambda r: " / ".join(pct(getattr(r.monte_carlo.total, f"p{n}_attainment"))
                                                      for n in (10, 50, 90)))]
    for label, cell in lines:
        table.add_row(label, *(cell(r) for r in runs))
    return table


def comparison_table(comparison: Comparison) -> Table:
    """A and B side by side with the delta of every figure."""
    table = Table(title=f"{comparison.a} vs {comparison.b}")
    for col in ("section", "figure", comparison.a, comparison.b, "delta", "delta %"):
        table.add_column(col, justify="right" if col not in ("section", "figure") else "left")
    for row in comparison.rows:
        ratio = row.section in ("attainment",) or row.key == "coverage"
        fmt = pct if ratio else money
        delta = (f"{row.delta * 100:+.1f} pts" if row.delta is not None else "-") if ratio else money(
            row.delta, signed=True)
        count = row.section == "headcount"
        table.add_row(row.section, row.key, f"{row.a:g}" if count and row.a is not None else fmt(row.a),
                      f"{row.b:g}" if count and row.b is not None else fmt(row.b),
                      f"{row.delta:+g}" if count and row.delta is not None else delta,
                      "" if ratio else pct(row.delta_pct, signed=True))
    return table


def explanation_table(ex: Explanation) -> Table:
    """Who makes a figure: each entry's capacity, ramp months and assumptions."""
    where = ", ".join(f"{k}={v}" for k, v in ex.filters.items()) or "all"
    table = Table(title=f"{ex.scenario}: {where}, {ex.period}: {money(ex.value)} (target {money(ex.target)})")
    for col in ("entry", "kind", "motion", "territory", "capacity", "ramp months", "productivity", "attrition/yr"):
        table.add_column(col)
    for c in ex.contributions:
        ramps = [f"{d.month}:t{d.tenure_month}={d.ramp:.0%}" for d in c.months if d.ramp < 1]
        table.add_row(c.name or c.id, c.kind, c.motion or "-", c.territory, money(c.capacity),
                      " ".join(ramps) or "fully ramped", c.productivity_row or "-", pct(c.annual_attrition))
    return table


def _figure(runs: Sequence[ScenarioRun]) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 5.5), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    months = runs[0].months
    x = range(len(months))
    ax.plot(x, runs[0].month_target, color="black", linestyle="--", linewidth=2, label="target")
    for run in runs:
        label = f"{run.scenario} ({pct(run.total.coverage)} coverage)"
        ax.plot(x, run.month_capacity, marker="o", markersize=3, label=label)
    ax.set_xticks(list(x), months, rotation=45, ha="right")
    ax.set_ylabel("bookings per month")
    ax.set_title("Capacity vs target by month")
    ax.yaxis.set_major_formatter(lambda v, _pos: money(v))
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def write_chart(runs: Sequence[ScenarioRun], path: Path) -> Path:
    """Capacity vs target by month for one or more scenarios: ``.png``, ``.svg`` or a standalone ``.html``.

    Raises:
        InputError: an unsupported file type.
    """
    suffix = path.suffix.lower()
    if suffix not in CHART_SUFFIXES:
        raise InputError(f"chart must be one of {', '.join(CHART_SUFFIXES)}, not {path.name!r}", field="chart")
    fig = _figure(runs)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix != ".html":
        fig.savefig(path, format=suffix[1:], dpi=120)
        return path
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    image = base64.b64encode(buffer.getvalue()).decode("ascii")
    rows = "".join(
        f"<tr><td>{html.escape(r.scenario)}</td><td>{money(r.total.capacity)}</td><td>{money(r.total.target)}"
        f"</td><td>{pct(r.total.coverage)}</td></tr>" for r in runs)
    path.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Capacity vs target</title></head><body>"
        f"<h1>Capacity vs target</h1><img alt='capacity vs target by month' src='data:image/png;base64,{image}'>"
        "<table border='1'><tr><th>scenario</th><th>capacity</th><th>target</th><th>coverage</th></tr>"
        f"{rows}</table></body></html>", encoding="utf-8")
    return path
