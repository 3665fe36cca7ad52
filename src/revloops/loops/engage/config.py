"""``config/engage/plays.yaml``: the plays a lead can get, the rules that pick one, and their steps.

A play's ``when`` uses the rule condition syntax and reads the lead's context (``persona``, ``segment``,
``score.band``, ``score.total``, ``LeadSource``, ``signal.type``, ``geo.country``...). Plays are walked in
``priority`` order and the first whose condition holds is chosen. Each step has a day offset, a channel
and a template (rendered offline with the lead's facts) and/or a prompt (guidance for the LLM composer).
Templates are checked at load: every ``{placeholder}`` must be a fact Engage knows.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from revloops.config.issues import ConfigIssue
from revloops.config.loader import ConfigFileSpec, GtmConfig
from revloops.core.model import ConfigModel
from revloops.core.rules.conditions import Loc, leaves
from revloops.core.rules.when import parse_when, raise_problems

Channel = Literal["email", "call", "linkedin"]

#: the facts a template may use, and what each means
FACTS: dict[str, str] = {
    "first_name": "the lead's first name ('there' when unknown)",
    "last_name": "the lead's last name",
    "full_name": "first and last name",
    "title": "the lead's job title",
    "company": "the lead's company (or matched account name)",
    "industry": "the lead's or account's industry",
    "employees": "the company's employee count",
    "city": "the lead's city",
    "country": "the lead's country as written on the lead",
    "segment": "the lead's segment id",
    "persona": "the persona derived from the title",
    "lead_source": "the lead source",
    "signal_type": "the outbound signal's type",
    "signal_summary": "one line about the signal",
    "signal_source": "where the signal was read: the outlet and the page's address",
    "owner_first_name": "the owner's first name",
    "owner_name": "the owner's full name",
    "owner_title": "the owner's title",
    "sender_company": "our company's name (plays.yaml sender_company)",
    "play_name": "the play's name",
}
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


def placeholders(template: str) -> list[str]:
    """The ``{names}`` a template uses (``{{`` and ``}}`` are literal braces).

    Raises:
        ValueError: a malformed template, or a placeholder with attribute, index, conversion or format.
    """
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must be a plain name such as {{first_name}}")
        names.append(name)
    return names


def _check_template(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        names = placeholders(text)
    except ValueError as exc:
        raise ValueError(f"bad template: {exc}") from None
    unknown = sorted(set(names) - set(FACTS))
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}; available: {', '.join(FACTS)}"
        )
    return text


class Step(ConfigModel):
    """One touch of a sequence.

    Attributes:
        day: calendar days after the start; a weekend or holiday moves it to the next business day.
        channel: email, call or linkedin.
        subject: the email's subject template (emails only).
        template: the text rendered offline with the lead's facts (the call script for calls).
        prompt: guidance for the LLM composer; a step with only a prompt uses the channel's default template offline.
    """

    day: int = Field(ge=0, le=120)
    channel: Channel
    subject: str | None = Field(default=None, min_length=1, max_length=200)
    template: str | None = Field(default=None, min_length=1)
    prompt: str | None = Field(default=None, min_length=1)

    @field_validator("subject", "template")
    @classmethod
    def _placeholders(cls, v: str | None) -> str | None:
        return _check_template(v)

    @model_validator(mode="after")
    def _shape(self) -> Step:
        if self.template is None and self.prompt is None:
            raise ValueError("a step needs a template, a prompt, or both")
        if self.subject is not None and self.channel != "email":
            raise ValueError(f"only email steps have a subject (this step is a {self.channel})")
        return self


class Persona(ConfigModel):
    """A persona derived from the lead's title: the first whose pattern matches the title wins."""

    id: str = Field(pattern=_ID)
    title_matches: str = Field(min_length=1, description="a case-insensitive regular expression")

    @field_validator("title_matches")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            re.compile(v, re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return v


class Play(ConfigModel):
    """One play: when it applies and the steps of its sequence.

    Attributes:
        id: unique and stable; it is the decision's outcome.
        name: what reps see on the task.
        priority: lower is tried first; unique.
        description: why the play exists.
        when: the condition on the lead's context (absent: always holds, a catch-all).
        persona: for outbound plays, the persona to work at the account (its contact whose title gives it).
        steps: 1 to 10 steps, days in order.
    """

    id: str = Field(pattern=_ID, max_length=80)
    name: str = Field(min_length=1, max_length=120)
    priority: int
    description: str = ""
    when: Any = None
    persona: str | None = Field(default=None, pattern=_ID)
    steps: list[Step] = Field(min_length=1, max_length=10)

    @field_validator("when", mode="before")
    @classmethod
    def _parse_when(cls, raw: Any) -> Any:
        return parse_when(raw)

    @field_validator("steps")
    @classmethod
    def _ordered(cls, steps: list[Step]) -> list[Step]:
        days = [s.day for s in steps]
        if days != sorted(days):
            raise ValueError(f"steps must be in day order, got days {days}")
        return steps


class PlaysFile(ConfigModel):
    """``engage/plays.yaml``.

    Attributes:
        sender_company: our company's name, for ``{sender_company}``.
        send_time: the local time (HH:MM, the lead's time zone) steps are scheduled at.
        personas: title patterns giving ``persona`` to conditions and templates, first match wins.
        score_bands: the lowest ``score.total`` of each band, giving ``score.band`` (highest band first).
        plays: the plays, tried in priority order.
    """

    version: Literal[1] = 1
    sender_company: str = Field(default="our team", min_length=1)
    send_time: dt.time = dt.time(9, 30)
    personas: list[Persona] = Field(default_factory=lambda: [
        Persona(id="exec", title_matches=r"\b(chief|c[a-z]o|vp|vice president|head of|founder|president|owner)\b"),
        Persona(id="manager", title_matches=r"\b(director|manager|lead)\b"),
        Persona(id="practitioner", title_matches=r"."),
    ])
    score_bands: dict[str, float] = Field(default_factory=lambda: {"A": 80.0, "B": 60.0, "C": 40.0, "D": 0.0})
    plays: list[Play] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PlaysFile:
        problems: list[tuple[Loc, str]] = []
        ids: dict[str, int] = {}
        prios: dict[int, str] = {}
        for i, play in enumerate(self.plays):
            if play.id in ids:
                problems.append((("plays", i, "id"), f"duplicate play id {play.id!r} (also plays[{ids[play.id]}])"))
            ids.setdefault(play.id, i)
            if play.priority in prios:
                problems.append((("plays", i, "priority"),
                                 f"duplicate priority {play.priority} (also play {prios[play.priority]!r})"))
            prios.setdefault(play.priority, play.id)
            if play.persona is not None and play.persona not in {p.id for p in self.personas}:
                problems.append((("plays", i, "persona"), f"unknown persona {play.persona!r} (not in personas)"))
        if problems:
            raise_problems(problems, "PlaysFile", None)
        return self

    def ordered(self) -> list[Play]:
        """The plays in the order they are tried."""
        return sorted(self.plays, key=lambda p: p.priority)

    def play(self, play_id: str) -> Play:
        """One play by id (KeyError when absent)."""
        for play in self.plays:
            if play.id == play_id:
                return play
        raise KeyError(play_id)


def check_segments(cfg: GtmConfig) -> Iterable[ConfigIssue]:
    """A play testing ``segment`` against an id the Design config does not define would never match."""
    plays, capacity = cfg.get("plays"), cfg.get("capacity")
    known = {str(s.id) for s in getattr(capacity, "segments", None) or []}
    if not isinstance(plays, PlaysFile) or not known:
        return
    for i, play in enumerate(plays.plays):
        for leaf in leaves(play.when):
            if leaf.field != "segment" or leaf.op not in ("eq", "ne", "in", "not_in"):
                continue
            values = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
            unknown = sorted(str(v) for v in values if str(v) not in known)
            if unknown:
                yield ConfigIssue("plays", ("plays", i, "when"),
                                  f"play {play.id!r} tests segment {', '.join(unknown)}, which design/capacity_config.yaml "
                                  f"does not define (segments: {', '.join(sorted(known))})")


FILES = [ConfigFileSpec("plays", "engage/plays.yaml", PlaysFile, loop="engage")]
CHECKS = [check_segments]
