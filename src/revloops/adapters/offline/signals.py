"""The offline signal scanner: reads a shipped news corpus (JSON lines) instead of the web, with no key and no
network, so the outbound chain runs anywhere. Every answer says so (``synthetic=True``).

An item's type is read from its title and text by fixed keyword rules, one set per type (RE2, see
``core.rules.regex``); the corpus's ``label`` is ground truth for measuring those rules and is never read here.
Text is data: an item is refused, with its reason, when it is stale, from a source the scan may not read, holds
instructions to its reader, is about another company (the target's name is not in it, or it names another
company's domain), reports a rumour or a denial, is no business news (a sponsorship, a charity run), or its
signal is a competitor's. Duplicates are not folded: two outlets reporting one event are two signals, and the
ledger folds them by event.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import ValidationError

from revloops.core.domains import host_of
from revloops.core.errors import ConfigError, Location, UpstreamRejected
from revloops.core.model import Frozen
from revloops.core.rules.regex import compile_search
from revloops.ports.signals import FoundSignal, ScanCost, ScanResult, ScanTarget, SignalScanner, Source

_ROLE = (r"(chief [a-z]+ officer|ceo|cro|coo|cfo|cmo|vp|vice president|head of [a-z ]+|president|"
         r"managing director)")
_MONEY = r"\$[0-9.,]+ ?(m|bn|million|billion)\b"
#: per type, the cues that a sentence reports it; listed from the most specific type (ties go to the earlier)
CUES: dict[str, tuple[str, ...]] = {
    "m_and_a": (r"\bacqui(re|res|red|ring|sition|sitions)\b", r"\bmerge(r|rs|s|d)?\b", r"\bto (buy|purchase)\b",
                r"\btakeover\b", r"\b(buys|bought)\b", r"\bsnap(s|ped)? up\b"),
    "funding": (r"\bseries [a-f]\b", r"\b(funding|financing|investment|seed) round\b", r"\braise[sd]? " + _MONEY,
                r"\bsecure[sd]? " + _MONEY, _MONEY + r" (growth )?investment\b", r"\bfresh capital\b",
                _MONEY + r" (seed |series [a-f] )?(round|financing|raise|funding)\b",
                r"\b(seed|venture|growth|new) (funding|financing)\b"),
    "layoffs": (r"\blay(s|ing)? off\b", r"\blaid off\b", r"\blayoffs?\b", r"\bjob cuts\b", r"\bcut(s|ting)? [0-9]+",
                r"\brestructur(e|es|ed|ing)\b", r"\breduc(e|es|ed|ing) (its )?workforce\b",
                r"\beliminat(e|es|ed|ing) [0-9]+", r"\blet(s|ting)? [0-9,]+ (people|employees|staff|workers) go\b",
                r"\b(cut|cuts|cutting|trim|trims|trimming|shed|sheds|shedding|slash|slashes)\b[^.]*\b(staff|jobs|"
                r"roles|workforce|headcount|employees|positions)\b"),
    "leadership_change": (r"\b(appoint(s|ed)?|names?|named|hires?|hired|promot(es|ed)|joins?|joined|succeeds?|"
                          r"tap(s|ped))\b[^.]*\b" + _ROLE + r"\b",
                          r"\bnew " + _ROLE + r"\b", r"\b(steps?|stepped) down\b", r"\btake[sn]? over as\b"),
    "expansion": (r"\bopen(s|ed|ing)? (a |an |its )?(new |first |second )?(office|headquarters|hub|site|facility)\b",
                  r"\bexpand(s|ed|ing)? (in)?to\b", r"\benter(s|ed|ing)? the( [a-z]+)? market\b",
                  r"\b(second|new|regional) headquarters\b", r"\bnew office\b", r"\bits first in\b",
                  r"\blaunch(es|ed|ing)? (operations |its business )?in\b", r"\bsets? up shop\b",
                  r"\b(establish(es|ed|ing)?|set(s|ting)? up) [^.]*\b(office|hub|headquarters|operations)\b",
                  r"\binternational expansion\b"),
    "tech_change": (r"\bmigrat(e|es|ed|ing|ion)\b", r"\breplac(e|es|ed|ing)\b[^.]*\bwith\b", r"\bto replace\b",
                    r"\bstandardi[sz](e|es|ed|ing) on\b", r"\bmov(e|es|ed|ing) its [a-z ]*teams? (from [^.]* )?to\b",
                    r"\breplacing\b", r"\b(switch(es|ed|ing)?|mov(e|es|ed|ing))\b[^.]*\bto (a new |an? )?[a-z]* ?(crm|erp)\b",
                    r"\b(adopt(s|ed|ing)?|deploy(s|ed|ing)?|implement(s|ed|ing)?)\b[^.]*(crm|erp|platform)\b"),
    "partnership": (r"\bpartner(s|ed|ing)? with\b", r"\bpartnership\b", r"\balliance\b", r"\breseller agreement\b",
                    r"\bteam(s|ing|ed)? up\b", r"\bjoin(s|ing|ed)? forces\b", r"\bwill resell\b",
                    r"\b(distribution|reseller|referral|co-selling) (agreement|deal|partnership)\b"),
    "product_launch": (r"\blaunch(es|ed)?\b", r"\bunveil(s|ed)?\b", r"\bintroduc(es|ed)\b",
                       r"\bgeneral(ly)? availab(le|ility)\b", r"\bdebut(s|ed)?\b", r"\b(rolls|rolled) out (a|an|its) new\b",
                       r"\breleas(es|ed) (version [0-9]|v[0-9]|a new|its new)\b", r"\bnew version\b"),
    "hiring_surge": (r"\bplans? to hire\b", r"\bhire [0-9]+", r"\bhiring\b", r"\b[0-9]+ open (roles|positions)\b",
                     r"\bdouble (the size of )?its (sales |engineering )?team\b", r"\brecruit(s|ing)? [0-9]+",
                     r"\badds [0-9]+ (new )?jobs\b", r"\bhiring spree\b",
                     r"\b(fill|create|add)(s|ing)? (more than |about |over |up to )?[0-9,]+ (new )?(roles|jobs|positions)\b",
                     r"\b[0-9,]+ (new )?(openings|vacancies)\b"),
    "other_news": (r"\baward\b", r"\bsoc 2\b", r"\biso 27001\b", r"\bcertification\b",
                   r"\bmore than [0-9,]+ customers\b", r"\bpass(es|ed)? [0-9,]+ customers\b",
                   r"\brecord (quarterly |annual )?revenue\b", r"\bnamed a leader\b",
                   r"\bnamed (to|on) (the |a )?[^.]*\blist\b", r"\branked\b[^.]*\b(list|index)\b"),
}
#: instructions addressed to whoever reads the page
INJECTION = (r"\b(ignore|disregard|forget) (all |any )?(of )?(your |the |my )?(previous|prior|earlier|above|"
             r"preceding) (instructions|prompts?|rules)\b",
             r"\b(note|message|instructions?) (to|for) (any |all )?(ai|automated|language models?|llms?)\b",
             r"\bif you are an? (ai|language model|llm|assistant|bot)\b",
             r"\byou (must|should|are instructed to) (now )?(report|classify|say|output|state|record)\b",
             r"\bsystem ?(prompt)?:", r"\bset (the )?confidence\b", r"\bclassify this (article|page|item|text)\b")
DENIAL = (r"\bden(y|ies|ied)\b", r"\bno plans to\b", r"\bunconfirmed\b", r"\bunnamed sources\b", r"\bsaid to be\b",
          r"\bdismiss(es|ed)\b")
RUMOR = (r"\brumou?rs?\b", r"\bspeculation\b", r"\breportedly\b")  # unless the text confirms it
CONFIRMED, NOT_CONFIRMED = r"\bconfirm(s|ed)\b", r"\b(not|never|declined to|refused to) confirm"
NOT_BUSINESS = (r"\bsponsor(s|ed|ship)?\b", r"\bcharit(y|ies|able)\b", r"\bmarathon\b", r"\bvolunteer(s|ed|ing)?\b",
                r"\bbake sale\b", r"\bdonat(e|ed|es|ion|ions)\b", r"\bfood bank\b", r"\bfundrais(er|ing)\b",
                r"\btournament\b")
COMPETITOR = r"\b(rivals?|competitors?|competing|compet(e|es))\b"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"”])\s+")
_DOMAIN_TOKEN = re.compile(r"\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}\b")


class NewsItem(Frozen):
    """One corpus item as the scanner reads it (its label is not part of it)."""

    id: str
    domain: str
    published: dt.date
    outlet: str | None = None
    url: str
    title: str
    text: str


class Reading(Frozen):
    """What the rules read in one item: the type, the sentence it rests on, and how sure (or why nothing)."""

    type: str | None = None
    quote: str | None = None
    confidence: float = 0.0
    refused: str | None = None


def _any(patterns: Iterable[str], text: str) -> bool:
    return any(compile_search(p)(text) for p in patterns)


def sentences(text: str) -> list[str]:
    """The text's sentences, each exactly as it stands in the text."""
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def classify(title: str, text: str) -> Reading:
    """The item's signal type: the type whose cues hit the title (2 points) and the most sentences (1 each),
    ties to the more specific type; only a type some sentence of the text reports can win, so the quote is
    always a sentence of the text."""
    parts = sentences(text)
    scored: list[tuple[int, int, str, str, int]] = []
    for rank, (type_id, cues) in enumerate(CUES.items()):
        hits = [s for s in parts if _any(cues, s)]
        if hits:
            titled = int(_any(cues, title))
            scored.append((2 * titled + len(hits), -rank, type_id, hits[0], titled))
    if not scored:
        return Reading(refused="no signal type recognised")
    scored.sort(reverse=True)
    score, _, type_id, quote, titled = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0
    # surer when the title says it too and more sentences do, less sure when another type came close
    confidence = 0.55 + 0.25 * titled + 0.05 * min(score - 2 * titled - 1, 2) - 0.15 * (runner_up >= score - 1)
    return Reading(type=type_id, quote=quote, confidence=round(min(max(confidence, 0.3), 0.95), 2))


def refusal(item: NewsItem, target: ScanTarget) -> str | None:
    """Why an item must not become a signal, before its type is read (None: read it)."""
    whole = f"{item.title}. {item.text}"
    if _any(INJECTION, whole):
        return "instructions to the reader in the text: treated as data, no signal"
    if not re.search(rf"(?<![\w-]){re.escape(target.name)}(?![\w-])", whole, re.IGNORECASE):
        return f"another company: {target.name!r} is not named in the item"
    named = {d.removeprefix("www.") for d in _DOMAIN_TOKEN.findall(whole.lower())}
    others = sorted(d for d in named if d != target.domain and not d.endswith("." + target.domain))
    if others:
        return f"another company: the item names the domain {others[0]}, not {target.domain}"
    if _any(DENIAL, whole):
        return "a denial or an unconfirmed report"
    if _any(RUMOR, whole) and not (compile_search(CONFIRMED)(whole) and not compile_search(NOT_CONFIRMED)(whole)):
        return "a rumour"
    if _any(NOT_BUSINESS, whole):
        return "no buying signal (a sponsorship, charity or community news)"
    return None


def read_item(item: NewsItem, target: ScanTarget) -> Reading:
    """The rules' answer for one item about ``target``: refused with a reason, or a type with its quote."""
    why = refusal(item, target)
    if why:
        return Reading(refused=why)
    reading = classify(item.title, item.text)
    if reading.quote and compile_search(COMPETITOR)(reading.quote):
        return Reading(type=reading.type, refused="a competitor's news, not the target's")
    return reading


def read_corpus(path: Path) -> list[NewsItem]:
    """The items of a JSON-lines corpus (labels left out).

    Raises:
        ConfigError: the file cannot be read, or a line is not an item (with its line).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the news corpus: {exc.strerror}", Location(str(path))) from None
    items: list[NewsItem] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            items.append(NewsItem.model_validate({k: v for k, v in raw.items() if k != "label"}))
        except (json.JSONDecodeError, AttributeError, ValidationError) as exc:
            raise ConfigError(f"not a news item: {str(exc).splitlines()[0]}", Location(str(path), n)) from None
    return items


def _source_allowed(url: str, allowed: Sequence[str], blocked: Sequence[str]) -> bool:
    host = host_of(url) or ""

    def under(domains: Sequence[str]) -> bool:
        return any(host == d or host.endswith("." + d) for d in domains)

    return under(allowed) if allowed else not under(blocked)


class OfflineScanner(SignalScanner):
    """The default scanner: the shipped news corpus read by fixed rules. It costs nothing and says its news is
    synthetic.

    Args:
        corpus: the JSON-lines file (``None``: no corpus, every scan finds nothing).
    """

    name = "offline"
    synthetic = True

    def __init__(self, corpus: Path | None = None) -> None:
        self.corpus = corpus
        self._by_domain: dict[str, list[NewsItem]] = {}
        for item in read_corpus(corpus) if corpus is not None else []:
            self._by_domain.setdefault(item.domain, []).append(item)

    @classmethod
    def for_config(cls, config_dir: Path) -> OfflineScanner:
        """The scanner over ``<config_dir>/../signals/news.jsonl`` (none there: a scanner that finds nothing)."""
        path = Path(config_dir).resolve().parent / "signals" / "news.jsonl"
        return cls(path if path.is_file() else None)

    def scan(self, target: ScanTarget, *, now: dt.datetime, max_searches: int,
             allowed_domains: Sequence[str] = (), blocked_domains: Sequence[str] = ()) -> ScanResult:
        """Every corpus item about ``target.domain`` published in ``[target.since, now]`` read into a signal or
        dropped with its reason.

        Raises:
            UpstreamRejected: both allowed and blocked domains were given (the web search API refuses that too).
        """
        if allowed_domains and blocked_domains:
            raise UpstreamRejected("allowed_domains and blocked_domains cannot both be given")
        wanted = {k.id for k in target.kinds}
        signals: list[FoundSignal] = []
        dropped: list[dict[str, str]] = []
        for item in sorted(self._by_domain.get(target.domain, []), key=lambda i: (i.published, i.id)):
            if item.published > now.date():
                continue  # not published yet, as far as this scan knows
            note = {"id": item.id, "url": item.url, "title": item.title}
            if item.published < target.since:
                dropped.append({**note, "reason": f"stale: published {item.published}, before {target.since}"})
                continue
            if not _source_allowed(item.url, allowed_domains, blocked_domains):
                dropped.append({**note, "reason": f"source {host_of(item.url)} is not to be read"})
                continue
            reading = read_item(item, target)
            typed = {"type": reading.type} if reading.type else {}
            if reading.refused or reading.type is None or reading.quote is None:
                dropped.append({**note, **typed, "reason": reading.refused or "no signal type recognised"})
            elif wanted and reading.type not in wanted:
                dropped.append({**note, **typed, "reason": f"off type: {reading.type} is not scanned for"})
            else:
                source = Source(url=item.url, title=item.title, outlet=item.outlet, published=item.published,
                                quote=reading.quote)
                signals.append(FoundSignal(type=reading.type, headline=item.title[:300], event_date=item.published,
                                           sources=[source], confidence=reading.confidence))
        return ScanResult(signals=signals, dropped=dropped, cost=ScanCost(), provider="offline", synthetic=True)

    def worst_case(self, max_searches: int) -> ScanCost:
        """Nothing: the offline scanner searches nothing and calls no model."""
        return ScanCost()


class TypeScores(Frozen):
    """Precision and recall of signal types against ground truth (micro-averaged overall).

    Attributes:
        per_type: type -> {"precision", "recall", "support" (expected), "found" (predicted)}.
    """

    precision: float
    recall: float
    per_type: dict[str, dict[str, float]]


def type_scores(pairs: Iterable[tuple[str | None, str | None]]) -> TypeScores:
    """Score ``(expected, predicted)`` type pairs, ``None`` meaning no signal: a prediction counts only when it
    names the expected type; a missing or wrong one costs recall, a wrong or spurious one precision. A metric
    with nothing to measure (no predictions, or no expected signals) is 1.0."""
    tp: dict[str, int] = {}
    found: dict[str, int] = {}
    support: dict[str, int] = {}
    for expected, predicted in pairs:
        if expected is not None:
            support[expected] = support.get(expected, 0) + 1
        if predicted is not None:
            found[predicted] = found.get(predicted, 0) + 1
            if predicted == expected:
                tp[predicted] = tp.get(predicted, 0) + 1

    def ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    per_type = {t: {"precision": ratio(tp.get(t, 0), found.get(t, 0)), "recall": ratio(tp.get(t, 0), support.get(t, 0)),
                    "support": float(support.get(t, 0)), "found": float(found.get(t, 0))}
                for t in sorted(set(support) | set(found))}
    hits = sum(tp.values())
    return TypeScores(precision=ratio(hits, sum(found.values())), recall=ratio(hits, sum(support.values())),
                      per_type=per_type)
