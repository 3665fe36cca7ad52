"""Generate's config: ``config/generate/targets.yaml``, the outbound target accounts, the scan cadence and
budget, the sources the scanner may read, the signal taxonomy, and when signals turn into outreach.

An account's signal score (what ``outreach.threshold`` is compared with) is the sum over its signals of
``weight × strength × 0.5 ** (age_days / half_life_days)`` (``SignalType.value``): a strong, recent signal of a
heavy type counts most, and every signal fades by half each half-life.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field, model_validator

from revloops.config.issues import ConfigIssue
from revloops.config.loader import Check, ConfigFileSpec, GtmConfig
from revloops.core.model import ConfigModel
from revloops.core.rules.conditions import Loc
from revloops.core.rules.when import raise_problems
from revloops.ports.signals import ScanTarget, SignalKind

#: the standard taxonomy the example ships and the offline scanner's rules know
STANDARD_SIGNAL_TYPES = ("funding", "hiring_surge", "leadership_change", "product_launch", "expansion",
                         "tech_change", "m_and_a", "layoffs", "partnership", "other_news")
_DOMAIN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}$"
#: keys that moved, with where they went (a renamed key gets its own message, not "unknown key")
_MOVED_SCAN_KEYS = {"budget_usd_per_day": "scan.budget_usd_per_day is now budget.usd_per_month, a month's "
                                          "dollars (5 a day is usd_per_month: 150)"}


class Scan(ConfigModel):
    """The signal scanner's cadence: ``per_tick`` targets every ``every_minutes``.

    Attributes:
        every_minutes: minutes between ticks.
        per_tick: targets scanned per tick.
        max_searches: web searches one scan may make (per account).
        lookback_days: news published longer ago than this is stale and never becomes a signal.
    """

    every_minutes: int = Field(default=5, ge=1, le=1440)
    per_tick: int = Field(default=1, ge=1, le=100)
    max_searches: int = Field(default=3, ge=1, le=10, description="web searches per scanned account")
    lookback_days: int = Field(default=120, ge=1, le=730, description="news older than this is stale")

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict):
            moved: list[tuple[Loc, str]] = [((k,), msg) for k, msg in _MOVED_SCAN_KEYS.items() if k in data]
            if moved:
                raise_problems(moved, "Scan", data)
        return data


class Budget(ConfigModel):
    """What scanning may spend; a scan first reserves its worst case and is skipped when that would not fit.

    Attributes:
        searches_per_day: web searches a day, over all scans.
        tokens_per_day: model tokens (input + output) a day.
        usd_per_month: dollars a calendar month (searches and tokens).
    """

    searches_per_day: int = Field(default=300, gt=0)
    tokens_per_day: int = Field(default=1_500_000, gt=0)
    usd_per_month: float = Field(default=150.0, gt=0)


class Sources(ConfigModel):
    """Which sites the scanner may read: only ``allowed_domains`` when given, or anything but ``blocked_domains``.

    Attributes:
        allowed_domains: read only these sites (and their subdomains).
        blocked_domains: never read these sites (and their subdomains).
    """

    allowed_domains: list[str] = Field(default_factory=list)
    blocked_domains: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_list(self) -> Sources:
        problems: list[tuple[Loc, str]] = [
            ((key, i), f"{domain!r} is not a domain (like news-site.com)")
            for key in ("allowed_domains", "blocked_domains")
            for i, domain in enumerate(getattr(self, key)) if not _is_domain(domain)
        ]
        if self.allowed_domains and self.blocked_domains:
            problems.append((("blocked_domains",), "give allowed_domains or blocked_domains, not both: the web "
                                                   "search API refuses the two at once"))
        if problems:
            raise_problems(problems, "Sources")
        return self


class Outreach(ConfigModel):
    """When an account's signals turn into outreach.

    Attributes:
        threshold: the signal score (see the module docstring) at or above which the account gets outreach.
        cooldown_days: days after an outreach before the same account can trigger another.
    """

    threshold: float = Field(default=0.6, gt=0)
    cooldown_days: int = Field(default=30, ge=0, le=365)


class SignalType(ConfigModel):
    """A kind of signal worth acting on.

    Attributes:
        id: the type id plays and scoring rules select on (``signal.type``).
        label: how people see it.
        weight: how much a signal of this type counts in the account's score (0-1).
        half_life_days: days after which a signal counts half as much.
        strength: a single signal's strength when the scanner does not say (0-1).
        look_for: what the scanner asks the web about.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=60)
    label: str = Field(min_length=1)
    weight: float = Field(default=0.5, ge=0, le=1)
    half_life_days: float = Field(default=30.0, gt=0, le=3650)
    strength: float = Field(ge=0, le=1)
    look_for: str = Field(min_length=1, description="what the scanner asks the web about")

    def value(self, age_days: float, strength: float | None = None) -> float:
        """What one signal of this type adds to the account's score ``age_days`` after its event."""
        base = self.strength if strength is None else strength
        decay: float = 0.5 ** (max(age_days, 0.0) / self.half_life_days)
        return self.weight * base * decay

    def kind(self) -> SignalKind:
        """The type as the scanner port takes it."""
        return SignalKind(id=self.id, label=self.label, look_for=self.look_for)


class Target(ConfigModel):
    """One outbound target account.

    Attributes:
        name: the company's name, as the news writes it.
        domain: its web domain (the key of the target: one target per domain).
        account: the CRM account to tie it to (its ``External_Id__c`` or ``Id``); when absent the target is tied
            by domain to a CRM account, or created as one when its first outreach starts.
        territory: the territory it belongs to (a ``developer_name`` of design/territories.yaml).
        priority: 1 (scanned first, jumps the queue) to 5 (scanned last).
        signals: the signal type ids to look for; empty: every type.
    """

    name: str = Field(min_length=1, max_length=255)
    domain: str = Field(pattern=_DOMAIN, max_length=253)
    account: str | None = Field(default=None, min_length=1, max_length=255)
    territory: str | None = None
    priority: int = Field(default=3, ge=1, le=5)
    signals: list[str] = Field(default_factory=list, description="signal type ids; empty: all")


class TargetsFile(ConfigModel):
    """``config/generate/targets.yaml``."""

    version: Literal[1] = 1
    scan: Scan = Field(default_factory=Scan)
    budget: Budget = Field(default_factory=Budget)
    sources: Sources = Field(default_factory=Sources)
    outreach: Outreach = Field(default_factory=Outreach)
    signal_types: list[SignalType] = Field(min_length=1)
    targets: list[Target] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> TargetsFile:
        problems = [
            *_repeats("signal_types", "id", [s.id for s in self.signal_types], "duplicate signal type id"),
            *_repeats("targets", "domain", [t.domain for t in self.targets], "domain targeted twice:"),
            *_repeats("targets", "account", [t.account for t in self.targets], "account tied to two targets:"),
        ]
        if problems:
            raise_problems(problems, "TargetsFile")
        return self

    def signal_type(self, type_id: str) -> SignalType:
        """One signal type by id (KeyError when absent)."""
        for kind in self.signal_types:
            if kind.id == type_id:
                return kind
        raise KeyError(type_id)

    def kinds_for(self, target: Target) -> list[SignalType]:
        """The signal types a target is scanned for: its filter, or every type."""
        wanted = set(target.signals)
        return [k for k in self.signal_types if not wanted or k.id in wanted]

    def scan_target(self, target: Target, now: dt.datetime | dt.date) -> ScanTarget:
        """What the scanner is asked about ``target`` at ``now``: its types and the lookback window."""
        today = now.date() if isinstance(now, dt.datetime) else now
        return ScanTarget(name=target.name, domain=target.domain, kinds=[k.kind() for k in self.kinds_for(target)],
                          since=today - dt.timedelta(days=self.scan.lookback_days))


def _is_domain(text: str) -> bool:
    return len(text) <= 253 and re.fullmatch(_DOMAIN, text) is not None


def _repeats(list_key: str, field: str, values: list[str | None], what: str) -> list[tuple[Loc, str]]:
    first: dict[str, int] = {}
    out: list[tuple[Loc, str]] = []
    for i, value in enumerate(values):
        if value is None:
            continue
        if value in first:
            out.append(((list_key, i, field), f"{what} {value!r} (also {list_key}[{first[value]}])"))
        first.setdefault(value, i)
    return out


def check_targets(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A target naming an unknown signal type or a territory that does not exist."""
    targets = cfg.get("targets")
    if targets is None:
        return
    kinds = {s.id for s in targets.signal_types}
    tree = cfg.get("territories")
    territories = {t.developer_name for t in tree.territories} if tree is not None else None
    for i, target in enumerate(targets.targets):
        for j, sig in enumerate(target.signals):
            if sig not in kinds:
                yield ConfigIssue("targets", ("targets", i, "signals", j),
                                  f"unknown signal type {sig!r} (signal_types: {', '.join(sorted(kinds))})")
        if target.territory and territories is not None and target.territory not in territories:
            yield ConfigIssue("targets", ("targets", i, "territory"),
                              f"territory {target.territory!r} is not in design/territories.yaml")


FILES = [ConfigFileSpec("targets", "generate/targets.yaml", TargetsFile, loop="generate")]
def _signal_type_tests(cond: object) -> list[tuple[object, ...]]:
    from revloops.core.rules.conditions import leaves

    out = []
    for leaf in leaves(cond):  # type: ignore[arg-type]
        if leaf.field == "signal.type" and leaf.op in ("eq", "in", "ne", "not_in"):
            values = leaf.value if isinstance(leaf.value, tuple | list) else (leaf.value,)
            out.append(tuple(values))
    return out


def check_signal_type_names(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A scoring rule or an Engage play testing ``signal.type`` against a type the taxonomy does not have
    (a renamed type would silently stop matching)."""
    targets = cfg.get("targets")
    if targets is None:
        return
    known = {s.id for s in targets.signal_types}
    places: list[tuple[str, tuple[str | int, ...], object]] = []
    scoring = cfg.get("scoring")
    for group in ("fit", "intent"):
        for i, rule in enumerate(getattr(scoring, group, None) or [] if scoring is not None else []):
            places.append(("scoring", (group, i, "when"), rule.condition))
    plays = cfg.get("plays")
    for i, play in enumerate(plays.plays if plays is not None else []):
        places.append(("plays", ("plays", i, "when"), play.when))
    for key, loc, cond in places:
        if cond is None:
            continue
        for values in _signal_type_tests(cond):
            for value in values:
                if str(value) not in known:
                    yield ConfigIssue(key, loc, f"signal.type {value!r} is not a signal type of "
                                                f"generate/targets.yaml (known: {', '.join(sorted(known))})")


CHECKS: list[Check] = [check_targets, check_signal_type_names]
