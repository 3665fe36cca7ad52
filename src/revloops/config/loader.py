"""Load a whole config directory: every file validated, cross-references checked, all problems at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from revloops.config.issues import ConfigIssue
from revloops.config.version import config_version
from revloops.config.yamlfile import YamlDoc, load_yaml, validate_doc
from revloops.core.errors import ConfigError, ConfigErrors, Location, RevloopsError

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class ConfigFileSpec:
    """One file (or a glob of files) of the config layout and the model that checks it.

    Attributes:
        key: how loops ask for it (``cfg.get("rules")``).
        pattern: path relative to the config directory; a ``*`` makes it a family keyed by file stem.
        model: the pydantic model of one file.
        required: whether a config directory without it is an error.
        loop: the loop that owns the file (for ``revloops loops``).
    """

    key: str
    pattern: str
    model: type[BaseModel]
    required: bool = False
    loop: str = ""

    @property
    def many(self) -> bool:
        return "*" in self.pattern


Check = Callable[["GtmConfig"], Iterable[ConfigIssue]]


@dataclass(frozen=True)
class GtmConfig:
    """A validated config directory (a company's GTM repo) at one version."""

    root: Path
    version: str
    files: Mapping[str, Any]
    docs: Mapping[str, Any] = field(repr=False)
    #: files that are there but did not validate (only while a load checks cross-references)
    invalid: frozenset[str] = frozenset()

    def get(self, key: str, model: type[T] | None = None) -> Any:
        """The model for ``key`` (``None`` when the file is absent); for a family, a dict by stem.

        Raises:
            InvalidFile: the file is there but did not validate (a cross-file check reading it is skipped,
                so it reports nothing about a file whose own problems are already reported).
        """
        if key in self.invalid:
            raise InvalidFile(f"{key} did not validate", Location(str(self.root)))
        value = self.files.get(key)
        if model is not None and value is not None and not isinstance(value, model):
            raise TypeError(f"config {key!r} is {type(value).__name__}, not {model.__name__}")
        return value

    def require(self, key: str, model: type[T]) -> T:
        """The model for ``key``, or a ConfigError naming the missing file."""
        value = self.get(key, model)
        if value is None:
            raise ConfigError(f"this needs {key} but the config directory has no such file", Location(str(self.root)))
        return value  # type: ignore[no-any-return]

    def location(self, key: str, loc: tuple[str | int, ...], name: str | None = None) -> Location:
        """file:line:col of a path inside one of the loaded files."""
        doc = self.docs.get(key)
        if isinstance(doc, dict):
            doc = doc.get(name) if name else None
        return doc.locate(loc) if isinstance(doc, YamlDoc) else Location(str(self.root))


def _display(root: Path, path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class InvalidFile(ConfigError):
    """A check asked for a file whose own problems are reported already."""


def _load_one(root: Path, path: Path, spec: ConfigFileSpec, errors: list[ConfigError]) -> tuple[Any, YamlDoc | None]:
    try:
        doc = load_yaml(path, _display(root, path))
    except ConfigError as exc:
        errors.append(exc)
        return None, None
    model, problems = validate_doc(doc, spec.model)
    errors.extend(problems)
    return model, doc


def load_config(root: Path | str, specs: Iterable[ConfigFileSpec] | None = None,
                checks: Iterable[Check] | None = None) -> GtmConfig:
    """Load and check every file under ``root``.

    Raises:
        ConfigErrors: every problem found, each with file:line:col.
    """
    from revloops.config import layout

    root = Path(root).resolve()
    specs = list(layout.FILES if specs is None else specs)
    checks = list(layout.CHECKS if checks is None else checks)
    if not root.is_dir():
        raise ConfigErrors([ConfigError("config directory does not exist", Location(str(root)))])
    errors: list[ConfigError] = []
    files: dict[str, Any] = {}
    docs: dict[str, Any] = {}
    invalid: set[str] = set()
    for spec in specs:
        before = len(errors)
        if spec.many:
            family: dict[str, Any] = {}
            family_docs: dict[str, YamlDoc] = {}
            for path in sorted(root.glob(spec.pattern)):
                model, doc = _load_one(root, path, spec, errors)
                if doc is not None:
                    family_docs[path.stem] = doc
                if model is not None:
                    family[path.stem] = model
            files[spec.key], docs[spec.key] = family, family_docs
            if len(errors) > before:
                invalid.add(spec.key)
            continue
        path = root / spec.pattern
        if not path.exists():
            if spec.required:
                errors.append(ConfigError("required file is missing", Location(_display(root, path))))
            continue
        model, doc = _load_one(root, path, spec, errors)
        if doc is not None:
            docs[spec.key] = doc
        if model is not None:
            files[spec.key] = model
        if len(errors) > before:
            invalid.add(spec.key)
    version = config_version(root)
    # Every problem in one pass: a file's own problems, and the cross-references among the files that are valid
    # (a check that reads an invalid file is skipped: its problems are reported already).
    errors.extend(_cross_checks(GtmConfig(root=root, version=version, files=files, docs=docs,
                                          invalid=frozenset(invalid)), checks))
    if errors:
        raise ConfigErrors(errors)
    return GtmConfig(root=root, version=version, files=files, docs=docs)


def _cross_checks(cfg: GtmConfig, checks: Iterable[Check]) -> list[ConfigError]:
    errors: list[ConfigError] = []
    for check in checks:
        try:
            issues = list(check(cfg))
        except RevloopsError as exc:  # a check that trips on another file's problem: that problem is reported
            if not isinstance(exc, ConfigError):
                errors.append(ConfigError(exc.message, Location(str(cfg.root))))
            continue
        for issue in issues:
            doc = cfg.docs.get(issue.key)
            if isinstance(doc, dict):
                doc = doc.get(issue.name or "")
            where = doc.locate(issue.loc) if isinstance(doc, YamlDoc) else Location(str(cfg.root))
            item = doc.item_at(issue.loc) if isinstance(doc, YamlDoc) else None
            errors.append(ConfigError(issue.message, where, rule_id=item[1] if item else None,
                                      item_kind=item[0] if item else None))
    return errors


def with_file(cfg: GtmConfig, key: str, doc: YamlDoc, checks: Iterable[Check] | None = None) -> GtmConfig:
    """``cfg`` with one file replaced by a proposed one, checked exactly as a load checks it: its schema, then
    every cross-file check over the whole directory.

    Raises:
        ConfigErrors: every problem of the proposed file, each with its place in it.
    """
    from revloops.config import layout

    spec = next((s for s in layout.FILES if s.key == key), None)
    if spec is None:
        raise KeyError(key)
    model, errors = validate_doc(doc, spec.model)
    if model is None or errors:
        raise ConfigErrors(errors)
    out = GtmConfig(root=cfg.root, version=f"{cfg.version}+proposed.{key}", files={**cfg.files, key: model},
                    docs={**cfg.docs, key: doc})
    problems = _cross_checks(out, layout.CHECKS if checks is None else checks)
    if problems:
        raise ConfigErrors(problems)
    return out
