"""The config version of a run: the git commit of the config directory, or a content hash outside git."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def content_hash(root: Path) -> str:
    """sha256 over every file's relative path and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def config_version(root: Path) -> str:
    """``<commit>`` when the directory is committed as is, ``<commit>+dirty.<hash8>`` when it has
    changes, and ``sha256:<hash>`` outside git (or before the first commit that touches it)."""
    commit = _git(root, "log", "-1", "--format=%H", "--", ".")
    if not commit:
        return f"sha256:{content_hash(root)}"
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", ".")
    if status:
        return f"{commit}+dirty.{content_hash(root)[:8]}"
    return commit
