"""How figures read in tables and charts: money as 1.25M / 480k / 900 (or $1.2M / $480k / $900 in prose),
shares as percentages."""

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


def pct(value: float | None, signed: bool = False, missing: str = "-") -> str:
    """``42%`` (``+4.2%`` when ``signed``; ``missing`` for None)."""
    return missing if value is None else (f"{value:+.1%}" if signed else f"{value:.0%}")


def dollars(value: float | None, missing: str = "-") -> str:
    """Money as a sentence says it: ``$1.2M``, ``$90k``, ``$900`` (``missing`` for None)."""
    if value is None:
        return missing
    amount = float(value)
    if abs(amount) >= 1e6:
        return f"${amount / 1e6:.1f}M"
    return f"${amount / 1e3:.0f}k" if abs(amount) >= 1e3 else f"${amount:.0f}"
