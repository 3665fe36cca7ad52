"""The CRM check: what the configured CRM is, whether sign-in works, API usage, object permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


def crm_check(settings: Settings, build: Callable[[], CRM]) -> dict[str, Any]:
    """Check the configured CRM: sign-in, identity, API usage, and each object the loops need.

    Args:
        settings: the platform settings (``REVLOOPS_CRM`` and ``REVLOOPS_SF_*``).
        build: makes the CRM to check (its sign-in is part of the check).

    Returns:
        ``{"crm", "ok", "sign_in": {"ok", "method", "error"}, "instance", "user", "api_usage", "objects": [...]}``;
        every object row says what the loops need, what is allowed, and which revloops fields are missing.
    """
    report: dict[str, Any] = {"crm": settings.crm, "ok": False, "sign_in": {"ok": False, "method": None, "error": None},
                              "instance": None, "user": {}, "api_usage": None, "objects": []}
    try:
        crm = build()
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
