"""Config test cases (``config/tests/*.yaml``), run by `revloops test` against the config alone.

Each case has a ``kind`` (``route`` when omitted, so older files read as they always did):

- ``route``: a record (Salesforce fields, and optionally already-derived context keys such as
  ``geo.country``) and the owner (a username, a queue developer name or ``pending:<reason>``) and/or rule id
  that ``rules.yaml`` gives it;
- ``score``: a lead scored with ``qualify/scoring.yaml``: its band, total and the rules that counted;
- ``assign``: an account matched to a territory with ``deploy/match_rules.yaml``;
- ``play``: the play a lead gets from ``engage/plays.yaml``, or (``loop: pursue``) the deal play an
  opportunity gets from ``pursue/deal_plays.yaml``;
- ``health``: an account's health features scored with ``expand/health.yaml``.

This module is the file's model, the route kind's load check and the result every kind answers; each kind's
runner and check sit next to its loop (``loops/<loop>/cases.py``), and ``loops/testing.py`` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, ConfigFileSpec, GtmConfig
from revloops.core.context import build_context, head_count, segment_for
from revloops.core.model import ConfigModel, Frozen
from revloops.loops.expand.health import Feature
from revloops.loops.qualify.config import Band

Kind = Literal["route", "score", "assign", "play", "health"]
KINDS: tuple[Kind, ...] = ("route", "score", "assign", "play", "health")
#: the answer a play case expects when no play holds
NO_PLAY = "none"


class RouteExpect(ConfigModel):
    """What a route case expects; at least one of the two."""

    owner: str | None = None
    rule_id: str | None = None

    @model_validator(mode="after")
    def _some(self) -> RouteExpect:
        if self.owner is None and self.rule_id is None:
            raise ValueError("expect needs owner and/or rule_id")
        return self


class ScoreExpect(ConfigModel):
    """What a score case expects; at least one.

    Attributes:
        band: ``mql``, ``nurture`` or ``disqualified``.
        total: the exact total.
        min_total: the least total (inclusive).
        max_total: the most total (inclusive).
        rules: scoring rule ids that must have counted.
        not_rules: scoring rule ids that must not have counted.
    """

    band: Band | None = None
    total: int | None = None
    min_total: int | None = None
    max_total: int | None = None
    rules: list[str] = Field(default_factory=list)
    not_rules: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some(self) -> ScoreExpect:
        given = (self.band, self.total, self.min_total, self.max_total, self.rules or None, self.not_rules or None)
        if all(v is None for v in given):
            raise ValueError("expect needs band, total, min_total/max_total, rules and/or not_rules")
        if self.min_total is not None and self.max_total is not None and self.min_total > self.max_total:
            raise ValueError(f"min_total ({self.min_total}) is above max_total ({self.max_total})")
        both = sorted(set(self.rules) & set(self.not_rules))
        if both:
            raise ValueError(f"{', '.join(both)} cannot be both in rules and in not_rules")
        return self


class AssignExpect(ConfigModel):
    """What an assign case expects; at least one: the territory (its developer name, or the pending state the
    loop answers: ``pending:no_match``, ``pending:multi_match``, ``pending:ambiguous_geo``,
    ``pending:low_confidence``) and/or the match rule that decided."""

    territory: str | None = None
    rule_id: str | None = None

    @model_validator(mode="after")
    def _some(self) -> AssignExpect:
        if self.territory is None and self.rule_id is None:
            raise ValueError("expect needs territory and/or rule_id")
        return self


class PlayExpect(ConfigModel):
    """The play a play case expects: its id, or ``none`` when no play should hold."""

    play: str = Field(min_length=1)


class HealthExpect(ConfigModel):
    """What a health case expects; at least one: the band and/or bounds of the score (inclusive)."""

    band: str | None = None
    min_score: float | None = Field(default=None, ge=0, le=100)
    max_score: float | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _some(self) -> HealthExpect:
        if self.band is None and self.min_score is None and self.max_score is None:
            raise ValueError("expect needs band, min_score and/or max_score")
        if self.min_score is not None and self.max_score is not None and self.min_score > self.max_score:
            raise ValueError(f"min_score ({self.min_score:g}) is above max_score ({self.max_score:g})")
        return self


class RouteCase(ConfigModel):
    """A record routed with ``rules.yaml`` (the kind a case without ``kind`` has)."""

    kind: Literal["route"] = "route"
    name: str = Field(min_length=1)
    object: str = "Lead"
    record: dict[str, Any]
    expect: RouteExpect


class ScoreCase(ConfigModel):
    """A lead (Salesforce fields, and context keys such as ``enrichment.person.seniority`` or
    ``geo.country``, which override what the fields give) scored with ``qualify/scoring.yaml``."""

    kind: Literal["score"]
    name: str = Field(min_length=1)
    record: dict[str, Any]
    expect: ScoreExpect


class AssignCase(ConfigModel):
    """An account (Salesforce Account fields: its geography is read from the billing address, as Deploy reads
    it) matched to a territory with ``deploy/match_rules.yaml``."""

    kind: Literal["assign"]
    name: str = Field(min_length=1)
    record: dict[str, Any]
    expect: AssignExpect

    @field_validator("record")
    @classmethod
    def _fields_only(cls, record: dict[str, Any]) -> dict[str, Any]:
        dotted = sorted(k for k in record if "." in k)
        if dotted:
            raise ValueError(f"an assign case gives Account fields only ({', '.join(dotted)}): Deploy derives "
                             "geo.* from BillingCountry, BillingState, BillingPostalCode and BillingCity")
        return record


class PlayCase(ConfigModel):
    """The play a record gets: a lead with ``engage/plays.yaml`` (``loop: engage``, the default), or an
    opportunity with ``pursue/deal_plays.yaml`` (``loop: pursue``; its account's fields as ``account.<Field>``)."""

    kind: Literal["play"]
    name: str = Field(min_length=1)
    loop: Literal["engage", "pursue"] = "engage"
    record: dict[str, Any]
    expect: PlayExpect


class HealthCase(ConfigModel):
    """An account's health features (as Expand computes them from its usage) scored with
    ``expand/health.yaml``; a feature left out (or null) has no data, as in the loop."""

    kind: Literal["health"]
    name: str = Field(min_length=1)
    features: dict[Feature, float | None] = Field(min_length=1)
    expect: HealthExpect


def _kind_of(value: Any) -> str | None:
    """The case's kind (``route`` when omitted); None for a kind that does not exist."""
    if not isinstance(value, Mapping):  # a model already, or not a mapping at all (its own error then)
        return str(getattr(value, "kind", "route"))
    kind = value.get("kind", "route")
    return kind if kind in KINDS else None


Case = Annotated[
    Annotated[RouteCase, Tag("route")] | Annotated[ScoreCase, Tag("score")] | Annotated[AssignCase, Tag("assign")]
    | Annotated[PlayCase, Tag("play")] | Annotated[HealthCase, Tag("health")],
    Discriminator(_kind_of, custom_error_type="unknown_kind",
                  custom_error_message=f"kind must be one of {', '.join(KINDS)} (route when omitted)"),
]


class CasesFile(ConfigModel):
    """``config/tests/<name>.yaml``: cases of any kinds, in the order they run."""

    cases: list[Case] = Field(min_length=1)


C = TypeVar("C")


def cases_of(cfg: GtmConfig, kind: type[C]) -> Iterator[tuple[str, int, C]]:
    """Every case of one kind: (file stem, its index in the file, the case), files in name order."""
    for name, file in sorted((cfg.get("tests") or {}).items()):
        for i, case in enumerate(file.cases):
            if isinstance(case, kind):
                yield name, i, case


def check_cases(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A route case expecting a rule that does not exist can never pass: say so at load."""
    rules = cfg.get("rules")
    known = {r.id for r in rules.rules} if rules is not None else set()
    for name, i, case in cases_of(cfg, RouteCase):
        if case.expect.rule_id and known and case.expect.rule_id not in known:
            yield ConfigIssue("tests", ("cases", i, "expect", "rule_id"),
                              f"rule {case.expect.rule_id!r} does not exist in rules.yaml", name=name)


FILES = [ConfigFileSpec("tests", "tests/*.yaml", CasesFile, loop="route")]
CHECKS: list[Check] = [check_cases]


class CaseResult(Frozen):
    """The outcome of one case, whatever its kind.

    Attributes:
        file: ``tests/<name>.yaml``.
        name: the case's name.
        kind: its kind.
        passed: whether every expectation held.
        expected: what the case expects, in a few words (``band mql, rules demo-request``).
        got: what the config answered, in the same words.
        explanation: the loop's own explanation of its answer.
        trace: the steps behind it (rules walked with their conditions, scoring rules, plays tried, health terms).
        expected_owner: a route case's expected owner.
        expected_rule: a route or assign case's expected rule.
        owner: the owner a route case got.
        rule_id: the rule that decided a route or assign case.
    """

    file: str
    name: str
    kind: Kind = "route"
    passed: bool
    expected: str
    got: str
    explanation: str
    trace: list[dict[str, Any]]
    expected_owner: str | None = None
    expected_rule: str | None = None
    owner: str | None = None
    rule_id: str | None = None


#: runs one case (``file``, the case) of the kind it was made for
CaseRunner = Callable[[str, Any], CaseResult]


def needs_files(cfg: GtmConfig, files: Mapping[str, str]) -> CaseRunner | None:
    """A runner that fails every case for the config files it lacks (``{key: path}``), or None when all are
    there: a case cannot pass on a file that does not exist, and the result says which it needs."""
    missing = [path for key, path in files.items() if cfg.get(key) is None]
    if not missing:
        return None
    need = " and ".join(missing)

    def fail(file: str, case: Any) -> CaseResult:
        return CaseResult(file=file, name=case.name, kind=case.kind, passed=False, expected="-", got="-",
                          explanation=f"a {case.kind} case needs {need}, which the config directory does not have",
                          trace=[])

    return fail


def split_record(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(plain Salesforce fields, context keys given as dotted paths such as ``geo.country``)."""
    plain = {k: v for k, v in record.items() if "." not in k and k != "segment"}
    given = {k: v for k, v in record.items() if "." in k or k == "segment"}
    return plain, given


def case_context(cfg: GtmConfig, record: Mapping[str, Any], *, sobject: str = "Lead",
                 score: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A case record's evaluation context as Route builds a lead's: its fields, ``geo.*``, the segment of its
    head count (``NumberOfEmployees``, else a given ``enrichment.company.employee_count``) and ``score.*``
    (``score``; None reads ``Lead_Score__c``...), with the given dotted keys on top (they win)."""
    plain, given = split_record(record)
    segment = given.get("segment")
    capacity = cfg.get("capacity")
    if segment is None and capacity is not None:
        employees = plain.get("NumberOfEmployees", given.get("enrichment.company.employee_count"))
        segment = segment_for(head_count(employees), capacity.segments)
    ctx = build_context(plain, segment=segment, score=score, sobject=sobject)
    ctx.update(given)
    return ctx


def listing(label: str, items: Iterable[str]) -> str | None:
    """``label a, b`` or None when there is nothing to list."""
    names = list(items)
    return f"{label} {', '.join(names)}" if names else None


def words(*parts: str | None) -> str:
    """The parts that are there, joined by commas (``-`` when none is)."""
    return ", ".join(p for p in parts if p) or "-"
