"""`revloops crm check`: what the configured CRM is, whether sign-in works, API usage, object permissions.

``crm_check`` answers a plain dict (the same for ``--json`` and the table); ``render_check`` draws it.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from revloops.core.errors import RevloopsError
from revloops.ports.crm import CRM, Query
from revloops.settings import Settings

#: what the loops do with each object: read it, create records, update records
NEEDS: dict[str, tuple[str, ...]] = {
    "Lead": ("read", "create", "update"),
    "Contact": ("read", "create", "update"),
    "Account": ("read", "create", "update"),
    "Opportunity": ("read", "update"),
    "Task": ("read", "create", "update"),
    "User": ("read",),
    "Group": ("read",),
    "Territory2Model": ("read", "create", "update"),
    "Territory2Type": ("read", "create", "update"),
    "Territory2": ("read", "create", "update"),
    "UserTerritory2Association": ("read", "create", "update"),
    "ObjectTerritory2Association": ("read", "create"),
    "Territory2ObjectExclusion": ("read", "create"),
}


def _build(settings: Settings) -> CRM:
    from revloops.bootstrap import Platform

    return Platform(settings).crm


def _object_row(crm: CRM, sobject: str, needs: tuple[str, ...]) -> dict[str, Any]:
    access = getattr(crm, "object_access", None)
    try:
        if callable(access):
            got: dict[str, Any] = access(sobject)
        else:
            # the embedded CRM owns its tables: reading proves the table is there, writes follow
            crm.query(Query(sobject, limit=1), page_size=1)
            got = {"read": True, "create": True, "update": True, "delete": True, "missing_fields": []}
    except RevloopsError as exc:
        got = {"read": False, "create": False, "update": False, "delete": False, "missing_fields": [], "error": str(exc)}
    lacking = [n for n in needs if not got.get(n)]
    ok = not lacking and not got["missing_fields"] and "error" not in got
    return {"object": sobject, "needs": list(needs), **got, "lacking": lacking, "ok": ok}


def crm_check(settings: Settings, crm: CRM | None = None) -> dict[str, Any]:
    """Check the configured CRM: sign-in, identity, API usage, and each object the loops need.

    Args:
        settings: the platform settings (``REVLOOPS_CRM`` and ``REVLOOPS_SF_*``).
        crm: a CRM to check instead of the one the settings build.

    Returns:
        ``{"crm", "ok", "sign_in": {"ok", "method", "error"}, "instance", "user", "api_usage", "objects": [...]}``;
        every object row says what the loops need, what is allowed, and which revloops fields are missing.
    """
    report: dict[str, Any] = {"crm": settings.crm, "ok": False, "sign_in": {"ok": False, "method": None, "error": None},
                              "instance": None, "user": {}, "api_usage": None, "objects": []}
    try:
        crm = crm or _build(settings)
        info = crm.describe()
    except RevloopsError as exc:
        report["sign_in"]["error"] = str(exc)
        return report
    report["crm"] = info.get("crm", crm.name)
    report["sign_in"] = {"ok": True, "method": info.get("sign_in", "embedded"), "error": None}
    report["instance"] = info.get("instance") or info.get("database")
    report["user"] = info.get("user", {})
    usage = info.get("api_usage")
    if usage and usage.get("limit"):
        usage = {**usage, "percent": round(100 * usage["used"] / usage["limit"], 1)}
    report["api_usage"] = usage
    report["objects"] = [_object_row(crm, name, needs) for name, needs in NEEDS.items()]
    report["ok"] = all(row["ok"] for row in report["objects"])
    return report


def _mark(flag: bool | None, needed: bool) -> str:
    if flag:
        return "[green]yes[/green]"
    return "[red]no[/red]" if needed else "[dim]no[/dim]"


def render_check(report: dict[str, Any], console: Console) -> None:
    """Draw a ``crm_check`` report: a summary, then one row per object."""
    sign_in = report["sign_in"]
    state = "[green]ok[/green]" if sign_in["ok"] else f"[red]failed[/red]: {sign_in['error']}"
    console.print(f"CRM: [bold]{report['crm']}[/bold]  instance: {report.get('instance') or '-'}")
    console.print(f"sign-in ({sign_in.get('method') or '-'}): {state}")
    user = report.get("user") or {}
    if user:
        console.print(f"user: {user.get('preferred_username') or user.get('name')} ({user.get('user_id', '-')})")
    usage = report.get("api_usage")
    if usage:
        console.print(f"API usage: {usage['used']} of {usage['limit']} daily requests ({usage.get('percent', 0)}%)")
    if not report["objects"]:
        return
    table = Table("object", "read", "create", "update", "missing fields", "ok", title="what the loops need")
    for row in report["objects"]:
        needs = set(row["needs"])
        table.add_row(row["object"], _mark(row.get("read"), "read" in needs), _mark(row.get("create"), "create" in needs),
                      _mark(row.get("update"), "update" in needs),
                      ", ".join(row["missing_fields"]) or row.get("error", "") or "-",
                      "[green]ok[/green]" if row["ok"] else "[red]missing[/red]")
    console.print(table)
    verdict = "[green]ready[/green]" if report["ok"] else "[red]not ready[/red]: see the rows marked missing"
    console.print(f"verdict: {verdict}")
