"""Building blocks of the synthetic org: unique ids, unique companies, people, phones, sizes, titles, months."""

from __future__ import annotations

import datetime as dt
import math
import random
import string
from collections.abc import Mapping

from revloops.core.domains import normalise_company
from revloops.core.geo import country_code, fold
from revloops.core.ids import KEY_PREFIX, checksum, new_id
from revloops.core.records import Account
from revloops.loops.generate import seed_data as D

SIZES: tuple[tuple[str, float, int, int], ...] = (("smb", 0.55, 5, 199), ("mid_market", 0.30, 200, 999),
                                                  ("enterprise", 0.15, 1000, 50_000))


def weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    """One key of ``weights``, drawn in proportion to its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def ascii_name(text: str) -> str:
    """A name folded to lower-case ASCII without spaces, for usernames, emails and domains."""
    return fold(text).replace(" ", "")


class Ids:
    """Deterministic, unique ids for one object type."""

    def __init__(self, sobject: str, rng: random.Random) -> None:
        self.sobject, self.rng, self.seen = sobject, rng, set[str]()

    def __call__(self) -> str:
        while True:
            value = new_id(self.sobject, self.rng)
            if value not in self.seen:
                self.seen.add(value)
                return value


class QuickIds(Ids):
    """Deterministic, unique ids like ``Ids`` but one draw of the stream each (for the many records of the
    history: its tasks); a stream gives other ids than ``Ids`` would from it."""

    _ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase

    def __call__(self) -> str:
        prefix = KEY_PREFIX[self.sobject] + "8d"
        while True:
            bits, chars = self.rng.getrandbits(60), []
            for _ in range(10):
                bits, digit = divmod(bits, 62)
                chars.append(self._ALPHABET[digit])
            body = prefix + "".join(chars)
            value = body + checksum(body)
            if value not in self.seen:
                self.seen.add(value)
                return value


class Companies:
    """Company names and domains, unique across the accounts and the companies leads come from."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.domains: set[str] = set()

    def new(self, rng: random.Random, country: str, industry: str) -> tuple[str, str, str]:
        """(display name, legal name, domain) of a company no other generated company shares."""
        words = D.INDUSTRIES[industry][1]
        for attempt in range(60):
            root = rng.choice(D.NAME_HEADS) + rng.choice(D.NAME_TAILS)
            if attempt >= 30:  # the two-part roots are running out: a three-part root
                root += rng.choice(D.NAME_TAILS)
            name = f"{root} {rng.choice(words)}" if rng.random() < 0.8 else root
            key = normalise_company(name)
            domain = self._domain(rng, root, name, country, industry)
            if key not in self.names and domain is not None:
                break
        else:
            name = f"{name} {len(self.names)}"
            key, domain = normalise_company(name), f"{ascii_name(name)}.com"
        self.names.add(key)
        self.domains.add(domain)
        legal = f"{name} {rng.choice(D.LEGAL_FORMS[country])}" if rng.random() < 0.7 else name
        return name, legal, domain

    def _domain(self, rng: random.Random, root: str, name: str, country: str, industry: str) -> str | None:
        r = rng.random()
        tld = rng.choice(D.TECH_TLDS) if industry == "Technology" and r < 0.15 else (
            D.LOCAL_TLDS[country][0] if r < 0.75 else "com")
        for label in (ascii_name(root), ascii_name(name), "-".join(fold(name).split())):
            domain = f"{label}.{tld}"
            if domain not in self.domains:
                return domain
        return None


def account_address(country: str, city: str | None, region: str | None) -> tuple[str, str, str, str] | None:
    """The clean address (city, state as written, ISO region, postal code) an account in ``country`` has at a
    lead's city, or in its region when the lead gave no city; None where the seed has no such place."""
    for place in D.CITIES.get(country, ()):
        if (city is not None and place[0] == city) or (city is None and region is not None and place[2] == region):
            return place
    return None


def website(rng: random.Random, domain: str) -> str:
    """The domain written as a website, one of the ways people write it."""
    return rng.choice((f"https://www.{domain}", f"www.{domain}", domain, f"http://{domain}/", f"https://{domain}"))


def person(rng: random.Random, country: str) -> tuple[str, str]:
    """A first and last name that fit the country."""
    locale = D.LOCALE_OF.get(country, "en")
    return rng.choice(D.FIRST_NAMES[locale]), rng.choice(D.LAST_NAMES[locale])


def email_local(rng: random.Random, first: str, last: str) -> str:
    """The part of a work email before the ``@``, in one of the usual patterns."""
    f, la = ascii_name(first), ascii_name(last)
    return rng.choice((f"{f}.{la}", f"{f[0]}{la}", f, f"{f}{la[0]}", f"{f}_{la}"))


def phone(rng: random.Random, country: str) -> str:
    """A phone number with the country's dialling code."""
    return f"{D.DIAL_CODES[country]} {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def employees(rng: random.Random) -> tuple[str, int]:
    """(size class, employee count): log-uniform inside SMB, mid-market or enterprise."""
    r, acc = rng.random(), 0.0
    for name, share, low, high in SIZES:
        acc += share
        if r < acc or name == SIZES[-1][0]:
            n = int(math.exp(rng.uniform(math.log(low), math.log(high + 1))))
            n = min(max(n, low), high)
            return name, n if n < 200 else int(round(n, -1))
    raise AssertionError("unreachable")


def country_of(acc: Account) -> str:
    """The alpha-2 country of a generated account (its billing country is written one of many ways)."""
    return country_code(acc.BillingCountry) or "US"


def domain_of(record: Account) -> str:
    """The bare domain of a generated account's website."""
    site = record.Website or ""
    return site.split("://")[-1].removeprefix("www.").rstrip("/")


def title(rng: random.Random) -> str:
    """A job title: the level by its share (C-level, VP, Director, Manager, IC), then a title in it."""
    levels = D.TITLE_LEVELS
    level = rng.choices(levels, weights=[w for _, w, _ in levels])[0]
    return rng.choice(level[2])


def title_level(value: str | None) -> int:
    """0 for a C-level title, 1 for VP, ... 4 for an individual contributor (or an unknown title)."""
    for i, (_, _, titles) in enumerate(D.TITLE_LEVELS):
        if value in titles:
            return i
    return len(D.TITLE_LEVELS) - 1


def logistic(x: float) -> float:
    """The logistic function, from a log-odds to a probability."""
    return 1 / (1 + math.exp(-x))


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method: fine for the small rates the seed uses)."""
    limit, k, p = math.exp(-min(lam, 500.0)), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, kept inside the month it lands in (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first day of every month from ``first``'s month to ``last``'s, both included."""
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month)
        month = add_months(month, 1)
    return out
