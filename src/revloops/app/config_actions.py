"""The config directory: validate it, run its test cases, publish its JSON Schemas, and list the loops with what
exists of each."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from revloops.app.base import AppBase
from revloops.app.references import crm_references, references, unknown_fields
from revloops.config import layout
from revloops.config.loader import GtmConfig, load_config
from revloops.core.errors import ConfigError, ConfigErrors, InputError, RevloopsError
from revloops.core.identity import Caller
from revloops.core.model import Frozen
from revloops.loops.registry import LOOPS, part_status
from revloops.loops.route.cases import KINDS, CaseResult
from revloops.loops.route.env import load_directory
from revloops.loops.testing import has_cases, run_cases
from revloops.ports.crm import Query


class ConfigFile(Frozen):
    """One file of a loaded config directory: its layout key, path pattern, owning loop and item count."""

    key: str
    file: str
    loop: str
    items: int


class ConfigSummary(Frozen):
    """A valid config directory: where it is, its version, what each file holds, warnings (condition fields
    nothing provides), and the references that could not be checked against a CRM."""

    ok: bool = True
    config: str
    version: str
    files: list[ConfigFile]
    warnings: list[str] = []
    unchecked: list[str] = []


class TestRun(Frozen):
    """The cases of ``config/tests/*.yaml`` (every kind, or the kinds asked for) and how each went.

    Attributes:
        passed: how many passed.
        failed: how many failed.
        directory: whose users and queues route cases were routed to: the CRM's (as live routing does) or,
            with no org in the CRM, the config's; None when no route case ran.
        cases: every case's result, files by name and cases in file order.
    """

    __test__ = False  # not a test class, whatever its name says

    passed: int
    failed: int
    directory: Literal["crm", "config"] | None = None
    cases: list[CaseResult]


class SchemaFile(Frozen):
    """A JSON Schema written for one config file."""

    file: str
    schema_path: str


class LoopInfo(Frozen):
    """One loop: its chain, purpose, which of its six parts exist in code, and which config files are present."""

    loop: str
    chain: str
    purpose: str
    parts: dict[str, bool]
    config_files: dict[str, bool]
    inputs: str
    outputs: str
    metrics: str
    feedback: str


def summarise_config(cfg: GtmConfig) -> ConfigSummary:
    """What a loaded config directory holds: file, owning loop, and how many items each has."""
    files = []
    for spec in layout.FILES:
        value = cfg.files.get(spec.key)
        if value is None or value == {}:
            continue
        if isinstance(value, dict):
            count = len(value)
        else:
            lists = [v for v in value.__dict__.values() if isinstance(v, list | tuple)]
            count = sum(len(v) for v in lists) if lists else 1
        files.append(ConfigFile(key=spec.key, file=spec.pattern, loop=spec.loop, items=count))
    return ConfigSummary(config=str(cfg.root), version=cfg.version, files=files)


class ConfigActions(AppBase):
    """Config as code: checked, described, published."""

    def validate_config(self, caller: Caller) -> ConfigSummary:
        """Check the config directory: every file, every cross-reference.

        Raises:
            ConfigErrors: every problem at once, each as ``file:line:col: message``.
        """
        self.require(caller, "ops")
        cfg = load_config(self.settings.config)
        unchecked: list[str] = []
        try:
            problems = crm_references(cfg, self.platform.crm)
            if problems is None:
                unchecked = [f"{ref} (the CRM has no users yet)" for ref in references(cfg)]
        except RevloopsError as exc:
            problems = None
            unchecked = [f"{ref} (CRM not reachable: {exc})" for ref in references(cfg)]
        if problems:
            raise ConfigErrors([ConfigError(p) for p in problems])
        return summarise_config(cfg).model_copy(update={"warnings": unknown_fields(cfg), "unchecked": unchecked})

    def test_config(self, caller: Caller, kinds: Sequence[str] | None = None) -> TestRun:
        """Run the cases of ``config/tests/*.yaml`` against the config: route cases resolve owners as live
        routing does (against the CRM's users and queues, so a case routing to a queue the CRM lacks fails, or
        the config's when the CRM holds no org yet); the other kinds need nothing but the config.

        Args:
            caller: who asks.
            kinds: only the cases of these kinds (``route``, ``score``, ``assign``, ``play``, ``health``); all
                when None or empty.

        Raises:
            Forbidden: below the ops tier.
            InputError: a kind that does not exist.
        """
        self.require(caller, "ops")
        unknown = [k for k in kinds or () if k not in KINDS]
        if unknown:
            raise InputError(f"unknown case kind {unknown[0]!r} (kinds: {', '.join(KINDS)})", field="kind")
        wanted = set(kinds) if kinds else None
        cfg, crm = self.platform.config, self.platform.crm
        directory = None
        routes = has_cases(cfg, "route", wanted)
        if routes and crm.find_one(Query("User", limit=1)) is not None:
            directory = load_directory(crm)
        results = run_cases(cfg, directory, wanted)
        failed = sum(not r.passed for r in results)
        shown: Literal["crm", "config"] | None = ("crm" if directory else "config") if routes else None
        return TestRun(passed=len(results) - failed, failed=failed, directory=shown, cases=results)

    def write_schemas(self, caller: Caller, out: Path | None = None) -> list[SchemaFile]:
        """Write a JSON Schema per config file (default ``<config>/../schemas``) so editors check the YAML."""
        self.require(caller, "ops")
        out = out or Path(self.settings.config).resolve().parent / "schemas"
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for spec in layout.FILES:
            target = out / f"{spec.key}.schema.json"
            body = spec.model.model_json_schema()
            body["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            body.setdefault("title", spec.pattern)
            target.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
            written.append(SchemaFile(file=spec.pattern, schema_path=str(target)))
        return written

    def list_loops(self, caller: Caller) -> list[LoopInfo]:
        """The ten loops, their six parts and which exist in code now, and the config files present."""
        root = Path(self.settings.config)
        return [LoopInfo(
            loop=lp.name, chain=lp.chain, purpose=lp.purpose, parts=part_status(lp.name),
            config_files={s.pattern: any(root.glob(s.pattern)) for s in layout.FILES if s.loop == lp.name},
            inputs=lp.inputs, outputs=lp.outputs, metrics=lp.metrics, feedback=lp.feedback,
        ) for lp in LOOPS]
