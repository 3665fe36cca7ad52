"""How figures read in tables and charts: money as 1.25M / 480k / 900, shares as percentages."""

from __future__ import annotations


def money(value: float | None, signed: bool = False) -> str:
    """``1.25M``, ``480k``, ``900`` (``-`` for None; a ``+`` on gains when ``signed``)."""
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
    """``42%`` (``+4.2%`` when ``signed``; ``-`` for None)."""
    return "-" if value is None else (f"{value:+.1%}" if signed else f"{value:.0%}")
