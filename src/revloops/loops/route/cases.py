"""Routing test cases (``config/tests/*.yaml``), run by `revloops test` against the config alone.

A case gives a record (Salesforce fields, and optionally already-derived context keys such as
``geo.country``) and the expected owner (a username, a queue developer name or ``pending:<reason>``) and/or
rule id. Cases run on a directory built from the config (the active roster's users, the queues the rules
name) with a fresh rotation each, so they need no CRM and give the same answer on every machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field, model_validator

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, ConfigFileSpec, GtmConfig
from revloops.core.model import ConfigModel, Frozen


class Expect(ConfigModel):
    """What a case expects; at least one of the two."""

    owner: str | None = None
    rule_id: str | None = None

    @model_validator(mode="after")
    def _some(self) -> Expect:
        if self.owner is None and self.rule_id is None:
            raise ValueError("expect needs owner and/or rule_id")
        return self


class Case(ConfigModel):
    """One routing case."""

    name: str = Field(min_length=1)
    object: str = "Lead"
    record: dict[str, Any]
    expect: Expect


class CasesFile(ConfigModel):
    """``config/tests/<name>.yaml``."""

    cases: list[Case] = Field(min_length=1)


def check_cases(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A case expecting a rule that does not exist can never pass: say so at load."""
    rules = cfg.get("rules")
    known = {r.id for r in rules.rules} if rules is not None else set()
    for name, file in (cfg.get("tests") or {}).items():
        for i, case in enumerate(file.cases):
            if case.expect.rule_id and known and case.expect.rule_id not in known:
                yield ConfigIssue("tests", ("cases", i, "expect", "rule_id"),
                                  f"rule {case.expect.rule_id!r} does not exist in rules.yaml", name=name)


FILES = [ConfigFileSpec("tests", "tests/*.yaml", CasesFile, loop="route")]
CHECKS: list[Check] = [check_cases]


class CaseResult(Frozen):
    """The outcome of one case."""

    file: str
    name: str
    passed: bool
    expected_owner: str | None
    expected_rule: str | None
    owner: str
    rule_id: str | None
    explanation: str
    trace: list[dict[str, Any]]


def split_record(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain Salesforce fields, context keys given as dotted paths such as ``geo.country``)."""
    plain = {k: v for k, v in record.items() if "." not in k and k != "segment"}
    given = {k: v for k, v in record.items() if "." in k or k == "segment"}
    return plain, given
