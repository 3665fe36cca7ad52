"""Engage's pure logic: pick the play (with its reason), render the offline sequence from the lead's facts,
place the steps on business days, and write the rep's task preview.

Nothing here does I/O; the flow gathers the lead, the owner and the clock and passes them in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from revloops.core.calendar import timezone_for
from revloops.core.model import Frozen
from revloops.core.rules.engine import CompiledRules, HandlerResult
from revloops.core.rules.schema import PendingAction, Rule
from revloops.loops.engage.config import Play, PlaysFile, Step
from revloops.loops.engage.schedule import Slot, schedule

NO_PLAY = "pending:no_play"

#: what an offline step without a template of its own says, by channel
DEFAULT_TEMPLATES: dict[str, str] = {
    "email": "Hi {first_name},\n\nI look after teams like {company} at {sender_company}. "
             "Would a short conversation about your priorities be useful?\n\n{owner_name}",
    "call": "Call {first_name} at {company}: introduce {sender_company} and ask about current priorities.",
    "linkedin": "Hi {first_name}, I work with {industry} teams like {company}; happy to connect.",
}
DEFAULT_SUBJECT = "{sender_company} for {company}"
_FACT_DEFAULTS = {"first_name": "there", "company": "your team", "industry": "your industry",
                  "title": "your role", "full_name": "the lead", "owner_name": "Your account team", "owner_first_name": "Your account team"}


@dataclass(frozen=True)
class Selection:
    """The chosen play (None when no play holds), why, and the trace of every play tried."""

    play: Play | None
    explanation: str
    trace: list[dict[str, Any]]


class StepText(Frozen):
    """The words of one step: a subject (emails) and the body, script or message."""

    subject: str | None = None
    body: str


class ComposedStep(Frozen):
    """One scheduled step of a lead's sequence."""

    index: int
    day: int
    channel: Literal["email", "call", "linkedin"]
    subject: str | None = None
    body: str
    date: dt.date
    send_at: dt.datetime
    local_time: str
    moved: str | None = None


class EngageSequence(Frozen):
    """A lead's composed, scheduled sequence."""

    play_id: str
    play_name: str
    timezone: str
    composer: str
    fallback_reason: str | None = None
    steps: list[ComposedStep]


def persona_for(title: str | None, plays: PlaysFile) -> str | None:
    """The first persona whose pattern matches ``title`` (None without a title)."""
    if not title:
        return None
    for persona in plays.personas:
        if re.search(persona.title_matches, title, re.IGNORECASE):
            return persona.id
    return None


def score_band(total: Any, bands: Mapping[str, float]) -> str | None:
    """The highest band whose floor ``total`` reaches (None without a numeric score)."""
    if isinstance(total, bool) or not isinstance(total, int | float):
        return None
    for band, floor in sorted(bands.items(), key=lambda kv: -kv[1]):
        if total >= floor:
            return band
    return None


def engage_context(ctx: Mapping[str, Any], plays: PlaysFile) -> dict[str, Any]:
    """The lead's context with ``persona`` and ``score.band`` added (kept when the caller set them)."""
    out = dict(ctx)
    if "persona" not in out:
        persona = persona_for(out.get("Title"), plays)
        if persona is not None:
            out["persona"] = persona
    if "score.band" not in out:
        band = score_band(out.get("score.total"), plays.score_bands)
        if band is not None:
            out["score.band"] = band
    return out


def compile_plays(plays: PlaysFile) -> CompiledRules:
    """The plays as rules in priority order (the same condition semantics as routing)."""
    rules = [Rule(id=p.id, priority=p.priority, description=p.description, when=p.when,
                  action=PendingAction(type="pending", reason=p.id)) for p in plays.ordered()]
    return CompiledRules(rules)


_COMPILED: dict[int, tuple[PlaysFile, CompiledRules]] = {}


def compiled_plays(plays: PlaysFile) -> CompiledRules:
    """``compile_plays`` once per loaded plays file (a loaded config never changes)."""
    hit = _COMPILED.get(id(plays))
    if hit is not None and hit[0] is plays:
        return hit[1]
    if len(_COMPILED) > 16:  # configs are reloaded rarely; keep the last few
        _COMPILED.clear()
    compiled = compile_plays(plays)
    _COMPILED[id(plays)] = (plays, compiled)
    return compiled


def select_play(plays: PlaysFile, ctx: Mapping[str, Any], compiled: CompiledRules | None = None) -> Selection:
    """The first play (by priority) whose condition holds on ``ctx``, with the explanation and trace."""
    rules = compiled or compiled_plays(plays)
    by_id = {p.id: p for p in plays.plays}

    def resolve(action: Any, _ctx: Mapping[str, Any]) -> HandlerResult:
        play = by_id[action.reason]
        return HandlerResult(play.id, summary=f"play {play.name!r}")

    outcome = rules.evaluate(ctx, resolve)
    trace = outcome.trace_json()  # the same dicts as dumping each step, built straight from the walk
    if outcome.rule_id is None:
        return Selection(None, "No play holds for this lead", trace)
    return Selection(by_id[outcome.rule_id], outcome.explanation, trace)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _source(ctx: Mapping[str, Any]) -> str | None:
    outlet, url = _text(ctx.get("signal.outlet")), _text(ctx.get("signal.url"))
    return f"{outlet} ({url})" if outlet and url else url or outlet


def facts_for(ctx: Mapping[str, Any], owner: Mapping[str, Any], plays: PlaysFile, play: Play) -> dict[str, str]:
    """Every template fact for one lead, with readable defaults for what is unknown."""
    first, last = _text(ctx.get("FirstName")), _text(ctx.get("LastName"))
    o_first, o_last = _text(owner.get("FirstName")), _text(owner.get("LastName"))
    owner_name = _text(owner.get("Name")) or " ".join(p for p in (o_first, o_last) if p) or None
    signal_type = _text(ctx.get("signal.type"))
    summary = _text(ctx.get("signal.summary")) or (signal_type.replace("_", " ") if signal_type else None)
    found: dict[str, str | None] = {
        "first_name": first, "last_name": last,
        "full_name": " ".join(p for p in (first, last) if p) or None,
        "title": _text(ctx.get("Title")),
        "company": _text(ctx.get("Company")) or _text(ctx.get("account.Name")),
        "industry": _text(ctx.get("Industry")) or _text(ctx.get("account.Industry"))
        or _text(ctx.get("enrichment.industry")),
        "employees": _text(ctx.get("NumberOfEmployees")) or _text(ctx.get("account.NumberOfEmployees")),
        "city": _text(ctx.get("City")), "country": _text(ctx.get("Country")) or _text(ctx.get("geo.country")),
        "segment": _text(ctx.get("segment")), "persona": _text(ctx.get("persona")),
        "lead_source": _text(ctx.get("LeadSource")), "signal_type": signal_type, "signal_summary": summary,
        "signal_source": _source(ctx),
        "owner_first_name": o_first or owner_name, "owner_name": owner_name, "owner_title": _text(owner.get("Title")),
        "sender_company": plays.sender_company, "play_name": play.name,
    }
    facts = {k: v if v is not None else _FACT_DEFAULTS.get(k, "") for k, v in found.items()}
    if facts["employees"] == "":
        facts["employees"] = "a few hundred"
    return facts


#: what stands for an unknown fact where the template puts an article before it ("a {industry} team")
_WITH_ARTICLE = {"industry": "a similar", "title": "a revenue leader", "company": "a company like yours"}
#: what stands for an unknown fact anywhere else ("other {industry} teams", "Call {first_name} at {company}")
_BARE = {"industry": "similar", "title": "revenue leader", "company": "your company", "first_name": "the lead",
         "signal_summary": "your recent news", "signal_source": "the news", "country": "your region"}
_GREETING = re.compile(r"\b(Hi|Hello|Hey|Dear) \{first_name\}")


def fill(template: str, facts: Mapping[str, str]) -> str:
    """A template filled with the facts, reading as a person wrote it when a fact is unknown: "a {industry}
    example" becomes "a similar example", never "a your industry example"; "Hi {first_name}" becomes "Hi there"."""
    unknown = {k for k in _BARE.keys() | _WITH_ARTICLE.keys() if facts.get(k, "") == _FACT_DEFAULTS.get(k, "")}
    for key in unknown & _WITH_ARTICLE.keys():
        rest = _WITH_ARTICLE[key][1:]  # "a similar" keeps the template's own "a" or "A"
        template = re.sub(r"\b([Aa])n? \{" + key + r"\}", r"\g<1>" + rest.replace("\\", r"\\"), template)
    if "first_name" in unknown:
        template = _GREETING.sub(lambda m: f"{m.group(1)} there", template)
        template = re.sub(r",\s*\{first_name\}(?=\s*[.!?]?\s*$)", "", template)  # "Getting started, {first_name}"
    return template.format_map({**facts, **{k: _BARE[k] for k in unknown & _BARE.keys()}})


def render_step(step: Step, facts: Mapping[str, str]) -> StepText:
    """One step rendered offline: its template (or the channel's default) filled with the facts."""
    body = fill(step.template or DEFAULT_TEMPLATES[step.channel], facts).strip()
    subject = None
    if step.channel == "email":
        subject = fill(step.subject or DEFAULT_SUBJECT, facts).strip()
    return StepText(subject=subject, body=body)


def render_offline(play: Play, facts: Mapping[str, str]) -> list[StepText]:
    """The whole sequence's words, from the play's templates and the lead's facts."""
    return [render_step(step, facts) for step in play.steps]


def build_sequence(play: Play, texts: Sequence[StepText], slots: Sequence[Slot], *, tz: str, composer: str,
                   fallback_reason: str | None = None) -> EngageSequence:
    """The scheduled sequence: the play's steps with their words and send slots."""
    steps = [
        ComposedStep(index=i + 1, day=step.day, channel=step.channel, subject=text.subject, body=text.body,
                     date=slot.date, send_at=slot.send_at, local_time=slot.local.isoformat(), moved=slot.moved)
        for i, (step, text, slot) in enumerate(zip(play.steps, texts, slots, strict=True))
    ]
    return EngageSequence(play_id=play.id, play_name=play.name, timezone=tz, composer=composer,
                     fallback_reason=fallback_reason, steps=steps)


def plan_slots(play: Play, plays: PlaysFile, ctx: Mapping[str, Any], now: dt.datetime) -> tuple[str, list[Slot]]:
    """The lead's zone and the send slot of each step, on business days of the lead's country."""
    country, region = ctx.get("geo.country"), ctx.get("geo.region")
    tz = timezone_for(country, region)
    return tz, schedule([s.day for s in play.steps], now, country=country, region=region, tz=tz,
                        send_time=plays.send_time)


def _when(step: ComposedStep) -> str:
    local = dt.datetime.fromisoformat(step.local_time)
    return f"{local:%a %Y-%m-%d %H:%M}"


def task_subject(seq: EngageSequence, facts: Mapping[str, str]) -> str:
    """The task's subject line (at most 255 characters, as Salesforce allows)."""
    return f"Engage: {seq.play_name} sequence for {facts['full_name']} ({facts['company']})"[:255]


def task_preview(seq: EngageSequence, why: str, model: str | None = None) -> str:
    """The task's description: why this play, who drafted it, the first email and the whole schedule."""
    drafted = f"Claude ({model})" if seq.composer == "llm" else "offline templates"
    lines = [f"Play: {seq.play_name} ({seq.play_id})", f"Why this play: {why}", f"Drafted by: {drafted}"]
    if seq.fallback_reason:
        lines.append(f"Note: drafted offline because {seq.fallback_reason}")
    first = next((s for s in seq.steps if s.channel == "email"), seq.steps[0])
    lines += ["", f"First {first.channel} ({_when(first)} {seq.timezone}):"]
    if first.subject:
        lines.append(f"Subject: {first.subject}")
    lines += ["", first.body, "", "Sequence:"]
    for s in seq.steps:
        moved = f" (moved: {s.moved})" if s.moved else ""
        subject = f": {s.subject}" if s.subject else ""
        lines.append(f"{s.index}. {_when(s)} {s.channel}{subject}{moved}")
    return "\n".join(lines)
