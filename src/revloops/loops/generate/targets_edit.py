"""``generate targets add|remove``: the targets file edited as text, one target's lines at a time, so the
rest of the file (comments, order, layout) stays as the team wrote it; the result is validated with the
whole config before it stands (a change that would not load is undone, and the error names file and line).
"""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from revloops.config.loader import load_config
from revloops.config.yamlfile import load_yaml
from revloops.core.errors import ConfigError, InputError, NotFound

REL = "generate/targets.yaml"


@dataclass(frozen=True)
class TargetEdit:
    """What an edit did to the targets file: its unified diff, and whether it was written."""

    file: str
    diff: str
    written: bool


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".targets.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _apply(config_root: Path, path: Path, old: str, new: str, dry_run: bool) -> TargetEdit:
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{REL}", f"b/{REL}"))
    if dry_run:
        return TargetEdit(str(path), diff, False)
    _write_atomic(path, new)
    try:
        load_config(config_root)
    except ConfigError:
        _write_atomic(path, old)
        raise
    return TargetEdit(str(path), diff, True)


def _flow_value(value: object) -> str:
    """A value as YAML flow text: a string double-quoted, printable characters as they are and the rest in
    YAML's escapes (JSON's would write an emoji as a surrogate pair, which YAML reads as two lone surrogates)."""
    if not isinstance(value, str):
        return json.dumps(value)
    def char(ch: str) -> str:
        if ch in '"\\':
            return "\\" + ch
        if ch.isprintable():
            return ch
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return '"' + "".join(char(ch) for ch in value) + '"'


def _target_lines(path: Path) -> tuple[list[str], list[tuple[int, int, str]]]:
    """The file's lines and each target's (first line, end line, domain), 0-based, end exclusive."""
    doc = load_yaml(path, REL)
    lines = path.read_text(encoding="utf-8").splitlines(True)
    targets = (doc.data or {}).get("targets") or []
    starts = [(doc.marks[("targets", i)][0] - 1, str(t.get("domain"))) for i, t in enumerate(targets)
              if ("targets", i) in doc.marks and isinstance(t, dict)]
    out = []
    for k, (start, domain) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else start + 1
        if k + 1 == len(starts):  # the last item: its continuation lines are more indented than its dash
            indent = len(lines[start]) - len(lines[start].lstrip())
            while end < len(lines) and lines[end].strip() and len(lines[end]) - len(lines[end].lstrip()) > indent:
                end += 1
        out.append((start, end, domain))
    return lines, out


def add_target(config_root: Path, *, name: str, domain: str, priority: int = 3, territory: str | None = None,
               dry_run: bool = False) -> TargetEdit:
    """Append one target (a flow-style line after the last one)."""
    path = config_root / REL
    if not path.is_file():
        raise NotFound(f"{REL} does not exist in {config_root}")
    lines, spans = _target_lines(path)
    if any(d == domain for _, _, d in spans):
        raise InputError(f"{domain} is already a target", field="domain")
    item = {"name": name, "domain": domain, "priority": priority, **({"territory": territory} if territory else {})}
    body = ", ".join(f"{k}: {_flow_value(v)}" for k, v in item.items())
    if spans:
        start, end, _ = spans[-1]
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        new_lines = [*lines[:end], f"{indent}- {{{body}}}\n", *lines[end:]]
    else:
        text = "".join(lines)
        if "targets:" in text and "targets: []" not in text:
            raise ConfigError("the targets list is not in a form this command edits; add the target by hand",
                              None)
        new_lines = [line for line in lines if not line.startswith("targets: []")]
        if new_lines and not new_lines[-1].endswith("\n"):
            new_lines[-1] += "\n"
        new_lines += ["targets:\n", f"  - {{{body}}}\n"]
    old = "".join(lines)
    return _apply(config_root, path, old, "".join(new_lines), dry_run)


def remove_target(config_root: Path, domain: str, *, dry_run: bool = False) -> TargetEdit:
    """Remove one target's lines."""
    path = config_root / REL
    if not path.is_file():
        raise NotFound(f"{REL} does not exist in {config_root}")
    lines, spans = _target_lines(path)
    found = next(((s, e) for s, e, d in spans if d == domain), None)
    if found is None:
        raise NotFound(f"{domain} is not a target")
    start, end = found
    old = "".join(lines)
    return _apply(config_root, path, old, "".join(lines[:start] + lines[end:]), dry_run)
