"""The config directory: validate it, publish its JSON Schemas, and list the loops with what exists of each."""

from __future__ import annotations

import json
from pathlib import Path

from revloops.app.base import AppBase
from revloops.app.references import crm_references, references, unknown_fields
from revloops.config import layout
from revloops.config.loader import GtmConfig, load_config
from revloops.core.errors import ConfigError, ConfigErrors, RevloopsError
from revloops.core.identity import Caller
from revloops.core.model import Frozen
from revloops.loops.registry import LOOPS, part_status


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
