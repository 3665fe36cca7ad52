"""Small helpers to derive a proposed rules file from the example one in tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML


def rules_with_catch_all_first(path: Path) -> dict[str, Any]:
    """The rules file with its catch-all rule moved to the lowest priority number (so it wins)."""
    data = YAML(typ="safe").load(path.read_text())
    lowest = min(r["priority"] for r in data["rules"])
    for rule in data["rules"]:
        if rule["id"] == "catch-all":
            rule["priority"] = lowest - 1
    return data  # type: ignore[no-any-return]
