"""Design's tables: a scenario run, scenarios side by side, a comparison, the explanation of a figure."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.table import Table

from revloops.app.models import Comparison, Explanation, GroupRow, ScenarioRun
from revloops.core.formatting import money, pct


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
