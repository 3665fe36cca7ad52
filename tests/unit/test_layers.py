"""The layers hold: a walk of every import in src/revloops (TYPE_CHECKING ones too) against the rules of
docs/ARCHITECTURE.md. A new import that crosses a layer fails here, with the file and line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "src" / "revloops"


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every ``revloops`` module a file imports, with the line."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            name = ".".join([*base, node.module] if node.module else base)
            out.append((node.lineno, name))
    return [(line, name) for line, name in out if name == "revloops" or name.startswith("revloops.")]


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


#: for each layer, the layers of ours it must not import
FORBIDDEN = {
    "interfaces": {"adapters", "ports", "loops", "chains", "engine", "config", "bootstrap", "dataio", "testing"},
    "loops": {"adapters", "bootstrap", "interfaces", "app", "chains", "testing"},
    "adapters": {"loops", "chains", "interfaces", "app", "bootstrap"},
    "ports": {"adapters", "loops", "chains", "interfaces", "app", "bootstrap"},
    "app": {"interfaces", "testing"},
}


def _violations() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        here = _layer(_module(path))
        for line, name in _imports(path):
            there = _layer(name)
            if here == "core" and there not in ("core", ""):
                found.append(f"{path.relative_to(ROOT.parent)}:{line}: core imports {name}")
            elif there in FORBIDDEN.get(here, set()):
                found.append(f"{path.relative_to(ROOT.parent)}:{line}: {here} imports {name}")
    return found


def test_no_import_crosses_a_layer() -> None:
    assert _violations() == []


def test_interfaces_import_only_the_application_layer_core_and_settings() -> None:
    allowed = {"app", "core", "settings", "interfaces", ""}
    stray = [f"{p.relative_to(ROOT.parent)}:{line}: {name}"
             for p in sorted((ROOT / "interfaces").rglob("*.py")) for line, name in _imports(p)
             if _layer(name) not in allowed]
    assert stray == []


@pytest.mark.parametrize("source, message", [
    ("from revloops.adapters.sql.db import open_database\n", "interfaces imports revloops.adapters.sql.db"),
    ("if TYPE_CHECKING:\n    from revloops.loops.route import flow\n", "interfaces imports revloops.loops.route"),
])
def test_the_walk_catches_a_crossing(tmp_path: Path, source: str, message: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "revloops"
    (fake / "interfaces").mkdir(parents=True)
    (fake / "interfaces" / "bad.py").write_text(source, encoding="utf-8")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", fake)
    assert any(message in v for v in _violations())
