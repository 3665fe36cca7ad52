"""YAML files with line marks, and the mapping of validation errors back to file:line:col."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from revloops.core.errors import ConfigError, Location

M = TypeVar("M", bound=BaseModel)
#: how an error names the list item it sits in (``[rule smb]``, ``[territory NA_West]``)
ITEM_KINDS = {"rules": "rule", "fit": "rule", "intent": "rule", "territories": "territory",
              "roster": "roster entry", "pools": "pool", "members": "member", "assignments": "assignment",
              "plays": "play", "steps": "step", "segments": "segment", "motions": "motion", "types": "type",
              "roles": "role", "cases": "case", "scenarios": "scenario"}
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlDoc:
    """One parsed YAML file: plain data plus the line/column of every key and item."""

    display: str
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def locate(self, loc: Sequence[str | int]) -> Location:
        """The deepest marked place along ``loc``; segments that are not in the file (union tags) are skipped."""
        best = self.marks.get((), (0, 0))
        current: Path_ = ()
        for seg in loc:
            candidate = (*current, seg)
            if candidate in self.marks:
                current = candidate
                best = self.marks[candidate]
        return Location(self.display, best[0], best[1])

    def describe(self, loc: Sequence[str | int]) -> str:
        """A readable path: ``rules[3](id=smb).action.pool``, skipping segments not in the data: a key that is
        not there can only end a path, so one before the end is a union's tag (``assign`` in
        ``action.assign.territory``), not a key."""
        out: list[str] = []
        node = self.data
        for n, seg in enumerate(loc):
            if isinstance(seg, str) and isinstance(node, dict) and seg not in node and n + 1 < len(loc):
                continue
            if isinstance(seg, int) and isinstance(node, list) and 0 <= seg < len(node):
                node = node[seg]
                ident = node.get("id") if isinstance(node, dict) else None
                out.append(f"[{seg}]" + (f"(id={ident})" if ident is not None else ""))
            elif isinstance(seg, str) and isinstance(node, dict) and seg in node:
                node = node[seg]
                out.append(("." if out else "") + seg)
            elif isinstance(seg, str) and not isinstance(node, dict | list):
                continue
            elif isinstance(seg, str) and isinstance(node, dict):
                out.append(("." if out else "") + seg)
                node = None
        return "".join(out)

    def rule_id_at(self, loc: Sequence[str | int]) -> str | None:
        """The ``id`` of the outermost list item along ``loc`` (a rule, a territory, a seat)."""
        found = self.item_at(loc)
        return found[1] if found else None

    def item_at(self, loc: Sequence[str | int]) -> tuple[str, str] | None:
        """``(kind, id)`` of the outermost identified list item along ``loc``: ``("rule", "smb")``,
        ``("roster entry", "r-ava")``; the kind is named after the list that holds it."""
        node: Any = self.data
        parent_key = ""
        for seg in loc:
            if isinstance(node, list) and isinstance(seg, int) and 0 <= seg < len(node):
                node = node[seg]
                if isinstance(node, dict):
                    ident = node.get("id", node.get("developer_name"))
                    if ident is not None:
                        return ITEM_KINDS.get(parent_key, parent_key.rstrip("s") or "item"), str(ident)
            elif isinstance(node, dict) and seg in node:
                parent_key = str(seg)
                node = node[seg]
            else:
                return None
        return None


def _plain(node: Any, path: Path_, marks: dict[Path_, tuple[int, int]]) -> Any:
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            try:
                line, col = node.lc.key(key)
            except (KeyError, TypeError):
                line, col = node.lc.line, node.lc.col
            marks[(*path, str(key))] = (line + 1, col + 1)
            out[str(key) if not isinstance(key, str | int | float | bool) else key] = _plain(
                value, (*path, str(key)), marks
            )
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, value in enumerate(node):
            try:
                line, col = node.lc.item(i)
            except (KeyError, TypeError, IndexError):
                line, col = node.lc.line, node.lc.col
            marks[(*path, i)] = (line + 1, col + 1)
            items.append(_plain(value, (*path, i), marks))
        return items
    if hasattr(node, "__str__") and type(node).__module__.startswith("ruamel"):
        # ruamel scalar wrappers (ScalarFloat, ScalarBoolean, TaggedScalar...) become plain values
        for kind in (bool, int, float):
            if isinstance(node, kind):
                return kind(node)
        return str(node)
    return node


@functools.lru_cache(maxsize=512)
def _parsed(text: str) -> tuple[Any, dict[Path_, tuple[int, int]]]:
    """The plain data of a YAML text and the line of each path, parsed once per distinct text: a plan loads
    the same files on both sides of a change, and a process loads its config more than once."""
    raw = YAML(typ="rt").load(text)
    marks: dict[Path_, tuple[int, int]] = {(): (1, 1)}
    return _plain(raw, (), marks), marks


def parse_yaml(text: str, display: str) -> YamlDoc:
    """Parse YAML text; a syntax error or duplicate key becomes a ConfigError with its line."""
    try:
        data, marks = _parsed(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(display, mark.line + 1, mark.column + 1) if mark else Location(display)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", where) from None
    # each document gets its own copy: a caller may edit its data (a proposal, a promotion)
    return YamlDoc(display, copy.deepcopy(data), dict(marks))


def load_yaml(path: Path, display: str) -> YamlDoc:
    """Read and parse one YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", Location(display)) from None
    return parse_yaml(text, display)


def validation_errors(doc: YamlDoc, exc: ValidationError) -> Iterator[ConfigError]:
    """Turn each pydantic error into a ConfigError at the line of the offending key."""
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        where = doc.locate(loc)
        path = doc.describe(loc)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not part of the schema)"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        item = doc.item_at(loc)
        yield ConfigError(f"{path}: {msg}" if path else msg, where, rule_id=item[1] if item else None,
                          item_kind=item[0] if item else None)


def validate_doc(doc: YamlDoc, model: type[M]) -> tuple[M | None, list[ConfigError]]:
    """Validate a parsed document against its model; never raises for bad content."""
    data = doc.data if doc.data is not None else {}
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, list(validation_errors(doc, exc))
