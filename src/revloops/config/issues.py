"""Cross-reference problems found after every file validated on its own."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigIssue:
    """A problem that spans files (a rule naming a pool that does not exist).

    Attributes:
        key: the config file's key in the layout (``rules``, ``pools``, ``scenarios``...).
        loc: the path inside that file's data, e.g. ``("rules", 3, "action", "pool")``.
        message: what is wrong, naming the missing thing.
        name: for multi-file keys (scenarios), which file (its stem).
    """

    key: str
    loc: tuple[str | int, ...]
    message: str
    name: str | None = None
