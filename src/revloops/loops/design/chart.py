"""Design's chart: capacity against target by month, as PNG, SVG or a self-contained HTML page."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from revloops.core.errors import InputError
from revloops.core.formatting import money, pct
from revloops.loops.design.results import ScenarioRun

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CHART_SUFFIXES = (".png", ".svg", ".html")


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
