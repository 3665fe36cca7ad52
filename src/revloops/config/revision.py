"""The config directory as it was at a git revision (for `--against GITREV` previews and plans)."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import tarfile
import tempfile
from pathlib import Path

from revloops.config.loader import GtmConfig, load_config
from revloops.core.errors import InputError


def _git(root: Path, *args: str) -> bytes:
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=60, check=False)
    if out.returncode != 0:
        raise InputError(out.stderr.decode(errors="replace").strip() or "git failed", field="against")
    return out.stdout


def check_rev(rev: str) -> str:
    """A git revision as a user names one (a branch, a tag, a commit, ``HEAD~2``, ``origin/main``).

    Raises:
        InputError: empty, too long, with a control character, or starting with ``-`` (git would read it as an
            option).
    """
    if not rev or len(rev) > 200 or rev.startswith("-") or any(ord(c) < 32 or ord(c) == 127 for c in rev):
        raise InputError("not a git revision (a branch, tag or commit, e.g. origin/main)", field="against")
    return rev


def load_config_at(root: Path | str, rev: str) -> GtmConfig:
    """Load the config directory ``root`` as committed at ``rev``; its version is that commit."""
    check_rev(rev)
    root = Path(root).resolve()
    commit = _git(root, "rev-parse", "--verify", f"{rev}^{{commit}}").decode().strip()
    prefix = _git(root, "rev-parse", "--show-prefix").decode().strip()
    top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
    archive = _git(top, "archive", "--format=tar", commit, prefix or ".")
    with tempfile.TemporaryDirectory(prefix="revloops-rev-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        cfg = load_config(Path(tmp) / prefix)
        return dataclasses.replace(cfg, root=root, version=commit)


def merge_base(root: Path | str, rev: str) -> str:
    """The commit where ``rev`` and ``HEAD`` meet (``rev`` itself when it is an ancestor of ``HEAD``): the
    base a pull request's change is reviewed against."""
    check_rev(rev)
    root = Path(root).resolve()
    commit = _git(root, "rev-parse", "--verify", f"{rev}^{{commit}}").decode().strip()
    head = _git(root, "rev-parse", "--verify", "HEAD^{commit}").decode().strip()
    return _git(root, "merge-base", commit, head).decode().strip()
