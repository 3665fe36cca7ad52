"""Outbound signals, the pure part: a signal's id from its event, an account's decayed signal score (the
whole ledger at once in columns, or one signal at a time in Python, explained term by term), and the order
in which targets are scanned.

An account's score is the sum over its signals of ``weight × strength × 0.5 ** (age / half_life)``, where
weight and half-life are its type's (``generate/targets.yaml``) and age is days since the event. Both paths
compute exactly that, in the same order of operations; a test holds them equal to 1e-9.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Decay:
    """How a signal type counts: its weight, and the days after which it counts half."""

    weight: float
    half_life_days: float


def normalised_headline(text: str) -> str:
    """A headline reduced to its words, lower case (the id's last part: wording differences in case,
    punctuation or spacing are the same headline)."""
    return " ".join(_WORDS.findall(text.lower()))


#: capitalised words a headline carries that name no particular event (roles, forms, filler)
_GENERIC_WORDS = ("a an and the of for to in on at with as by from new its their our vp svp evp ceo cro cfo cto "
                  "coo cmo cio chief officer head president director vice sales revenue marketing operations revops "
                  "series seed round funding million billion inc ltd llc plc gmbh ag sa kk co corp group record "
                  "quarter announces names appoints launches unveils")
_GENERIC = frozenset(_GENERIC_WORDS.split())
_AMOUNT = re.compile(r"\$\s?(\d+(?:[.,]\d+)?)\s*(m|mn|million|b|bn|billion|k)?\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][A-Za-z0-9&'-]+")
#: the types whose events are told apart by what they name (a product, a tool, a partner, a person)
NAMED_TYPES = frozenset({"product_launch", "tech_change", "m_and_a", "partnership", "leadership_change"})
#: the types whose events are told apart by their amount
AMOUNT_TYPES = frozenset({"funding"})


def amounts(headline: str) -> frozenset[str]:
    """The money amounts a headline names, as numbers with their unit (``$150M`` and ``$150 million`` are both
    ``150m``)."""
    return frozenset(n.replace(",", "") + (unit or "").lower()[:1] for n, unit in _AMOUNT.findall(headline))


def names(headline: str, company: str) -> frozenset[str]:
    """The proper nouns a headline names, without the company's own name and words that name no event."""
    own = set(_WORDS.findall(company.lower()))
    return frozenset(w for w in (m.lower() for m in _NAME.findall(_AMOUNT.sub(" ", headline)))
                     if w not in own and w not in _GENERIC)


def same_event(kind: str, headline_a: str, headline_b: str, company: str) -> bool:
    """Whether two reports of one account's signal of one type, close in time, are one event. A funding round
    is another event when both name an amount and the amounts differ; a launch, a tool, a deal, a partner or a
    leader is another when each headline names something and they name nothing in common (two products, two
    merger partners); for other types (an expansion told by its country or its city) the window decides."""
    if kind in AMOUNT_TYPES:
        a, b = amounts(headline_a), amounts(headline_b)
        return not (a and b and not (a & b))
    if kind in NAMED_TYPES:
        a, b = names(headline_a, company), names(headline_b, company)
        return not (a and b and not (a & b))
    return True


def signal_id(domain: str, kind: str, event_date: dt.date, headline: str) -> str:
    """The id of a signal as first reported: a re-run of the same scan answers the same id."""
    key = f"{domain}|{kind}|{event_date.isoformat()}|{normalised_headline(headline)}"
    return "sig_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _age_days(event: dt.date, now: dt.date) -> float:
    return float(max((now - event).days, 0))


def term(decay: Decay, strength: float, event: dt.date, now: dt.date) -> float:
    """One signal's contribution to its account's score on ``now``."""
    return decay.weight * strength * math.pow(0.5, _age_days(event, now) / decay.half_life_days)


def scores_loop(rows: Iterable[tuple[str, str, float, dt.date]], decays: Mapping[str, Decay],
                now: dt.date) -> dict[str, float]:
    """Every account's score, one signal at a time (the reference): rows are (domain, type, strength, event
    date); a type the config no longer has counts nothing."""
    out: dict[str, float] = {}
    for domain, kind, strength, event in rows:
        decay = decays.get(kind)
        value = term(decay, strength, event, now) if decay is not None else 0.0
        out[domain] = out.get(domain, 0.0) + value
    return out


def scores_frame(signals: pl.DataFrame, decays: Mapping[str, Decay], now: dt.date) -> pl.DataFrame:
    """Every account's score over a frame of signals (``domain``, ``type``, ``strength``, ``event_date``), in
    columns: ``domain``, ``score``, ``signals``."""
    table = pl.DataFrame({"type": list(decays), "_weight": [d.weight for d in decays.values()],
                          "_half": [d.half_life_days for d in decays.values()]},
                         schema={"type": pl.String, "_weight": pl.Float64, "_half": pl.Float64})
    age = (pl.lit(now, dtype=pl.Date) - pl.col("event_date")).dt.total_days().clip(lower_bound=0).cast(pl.Float64)
    value = pl.col("_weight") * pl.col("strength") * pl.lit(0.5).pow(age / pl.col("_half"))
    return (signals.join(table, on="type", how="left")
            .with_columns(pl.when(pl.col("_weight").is_null()).then(0.0).otherwise(value).alias("_term"))
            .group_by("domain").agg(pl.col("_term").sum().alias("score"), pl.len().alias("signals"))
            .sort("domain"))


@dataclass(frozen=True)
class Term:
    """One signal's part of its account's score, for the explanation."""

    signal_id: str
    type: str
    headline: str
    event_date: dt.date
    age_days: float
    weight: float
    strength: float
    half_life_days: float
    value: float

    def line(self) -> str:
        """``funding 0.90 × 0.9 × 0.5^(12/60) = 0.705 (Globex raises ...)``."""
        return (f"{self.type} {self.weight:.2f} × {self.strength:.2f} × 0.5^({self.age_days:.0f}/"
                f"{self.half_life_days:.0f}) = {self.value:.3f} ({self.headline})")


def explain(signals: Sequence[tuple[str, str, str, float, dt.date]], decays: Mapping[str, Decay],
            now: dt.date) -> tuple[float, list[Term]]:
    """An account's score and its terms, largest first: rows are (id, type, headline, strength, event date)."""
    terms = []
    for sid, kind, headline, strength, event in signals:
        decay = decays.get(kind)
        if decay is None:
            continue
        terms.append(Term(sid, kind, headline, event, _age_days(event, now), decay.weight, strength,
                          decay.half_life_days, term(decay, strength, event, now)))
    terms.sort(key=lambda t: (-t.value, t.signal_id))
    return math.fsum(t.value for t in terms), terms


def scan_order(targets: Sequence[tuple[str, int]], last: Mapping[str, dt.datetime],
               now: dt.datetime) -> list[str]:
    """The order targets are due: never scanned first, then the longest waiting, where a higher priority
    (1, the highest, of 1..5) makes the wait count more (priority 1 counts five times priority 5), so it jumps
    the queue without starving the rest. ``targets`` are (domain, priority) in config order."""
    def key(item: tuple[int, tuple[str, int]]) -> tuple[int, float, int]:
        index, (domain, priority) = item
        seen = last.get(domain)
        if seen is None:
            return (0, float(priority), index)
        waited = (now - seen).total_seconds()
        return (1, -waited * (6 - priority), index)

    return [domain for _, (domain, _p) in sorted(enumerate(targets), key=key)]
