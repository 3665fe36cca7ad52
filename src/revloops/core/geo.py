"""Geography normalisation: the many ways people write a place, to ISO 3166-1 and ISO 3166-2 codes.

``normalise_geo`` reads a record's country, state, postal code and city and answers a :class:`Geo`:
the country as alpha-2, the region as an ISO 3166-2 code (``US-CA``, ``CA-ON``, ``DE-BY``), the postal code
in its national shape, and an ``ambiguous`` flag with a reason when the input is contradictory or could mean
two places. The best reading is still given when ambiguous, so a rule can either use it or send the record
to triage on ``geo.ambiguous``. Country and region names come from pycountry; a small alias table adds what
people actually type ("U.S.A.", "Deutschland", "Holland", "Bavaria"). Everything is cached: this runs per record.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import pycountry

from revloops.core.model import Frozen

# Folding keeps letters and digits only: dots and apostrophes vanish ("U.S.A." -> "usa"), other
# punctuation becomes a space ("Korea, Republic of" -> "korea republic of").
_DROP = str.maketrans({".": None, "'": None, "\u2019": None, "`": None,
                       "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "þ": "th", "ı": "i"})
_NON_WORD = re.compile(r"[^\w]+|_")
_BRACKETS = re.compile(r"\s*\[.*?\]")

_COUNTRY_ALIASES: dict[str, str] = {
    "US": "usa|us|u s|u s a|america|united states|united states of america|the united states|"
    "the usa|estados unidos|etats unis|vereinigte staaten|stati uniti",
    "GB": "uk|u k|great britain|britain|united kingdom|the united kingdom|the uk|gbr|grossbritannien|"
    "royaume uni|reino unido|vereinigtes konigreich",
    "DE": "deutschland|allemagne|alemania|germania|federal republic of germany|brd|duitsland|tyskland|saksa",
    "CH": "schweiz|suisse|svizzera|svizra|confoederatio helvetica|helvetia",
    "AT": "osterreich|oesterreich|autriche|austria",
    "NL": "holland|the netherlands|nederland|netherlands the|pays bas|niederlande|paises bajos",
    "FR": "la france|frankreich|francia",
    "JP": "nippon|nihon|japon|japan|日本",
    "KR": "south korea|korea|republic of korea|korea south|korea rep|s korea|대한민국",
    "TR": "turkey|turkiye|turkei|republic of turkey",
    "SE": "sverige|schweden|suede",
    "NO": "norge|noreg|norwegen|norvege",
    "DK": "danmark|danemark|dänemark",
    "FI": "suomi|finnland",
    "IS": "island|ísland",
    "ES": "espana|spanien|espagne",
    "IT": "italia|italien|italie",
    "BE": "belgie|belgique|belgien",
    "CZ": "czech republic|ceska republika",
    "RU": "russia",
    "CN": "china|prc|peoples republic of china|mainland china|中国",
    "TW": "taiwan|republic of china",
    "HK": "hong kong|hongkong",
    "VN": "vietnam",
    "AE": "uae|u a e|emirates",
    "SA": "ksa",
    "NZ": "aotearoa",
    "BR": "brasil",
    "MX": "mejico",
    "IE": "eire|republic of ireland",
    "CI": "ivory coast",
    "MM": "burma",
    "MK": "macedonia",
    "SZ": "swaziland",
    "IR": "iran",
    "SY": "syria",
    "LA": "laos",
    "BO": "bolivia",
    "VE": "venezuela",
    "TZ": "tanzania",
    "MD": "moldova",
    "PS": "palestine",
}
# A country field that names a constituent country (ISO 3166-2 region of GB).
_COUNTRY_REGIONS: dict[str, tuple[str, str]] = {
    "england": ("GB", "GB-ENG"), "scotland": ("GB", "GB-SCT"), "wales": ("GB", "GB-WLS"),
    "cymru": ("GB", "GB-WLS"), "northern ireland": ("GB", "GB-NIR"),
}
# English and common names pycountry does not carry (its region names are in the local language).
_REGION_ALIASES: dict[str, dict[str, str]] = {
    "DE": {"bavaria": "BY", "hesse": "HE", "north rhine westphalia": "NW", "nrw": "NW", "lower saxony": "NI",
           "saxony": "SN", "saxony anhalt": "ST", "thuringia": "TH", "rhineland palatinate": "RP",
           "mecklenburg western pomerania": "MV", "baden wuerttemberg": "BW", "bayern": "BY"},
    "AT": {"vienna": "9", "wien": "9", "upper austria": "4", "lower austria": "3", "styria": "6",
           "carinthia": "2", "tyrol": "7"},
    "CH": {"zurich": "ZH", "geneva": "GE", "genf": "GE", "lucerne": "LU"},
    "CA": {"quebec": "QC", "que": "QC", "pq": "QC", "newfoundland": "NL", "nfld": "NL", "pei": "PE"},
    "US": {"d c": "DC", "washington dc": "DC", "washington d c": "DC", "calif": "CA", "mass": "MA"},
    "GB": {"london": "LND", "greater london": "LND"},
}
# Countries whose regions a state field implies on its own, most likely first ("WA" is US before AU).
_STATE_ONLY = ("US", "CA", "AU", "GB", "DE", "AT", "CH")
_STATE_ONLY_CODES = frozenset({"US", "CA", "AU"})  # where people write the bare region code
_GB_NATIONS = frozenset({"GB-ENG", "GB-SCT", "GB-WLS", "GB-NIR"})

# First digit of a US ZIP code -> the states it serves (the national ZIP areas).
_ZIP_AREAS: dict[str, frozenset[str]] = {
    d: frozenset(s.split()) for d, s in {
        "0": "CT MA ME NH NJ PR RI VT VI", "1": "DE NY PA", "2": "DC MD NC SC VA WV",
        "3": "AL FL GA MS TN", "4": "IN KY MI OH", "5": "IA MN MT ND SD WI", "6": "IL KS MO NE",
        "7": "AR LA OK TX", "8": "AZ CO ID NM NV UT WY", "9": "AK CA HI OR WA GU AS MP UM",
    }.items()
}
# First letter of a Canadian postal code -> its province(s).
_CA_POSTAL: dict[str, frozenset[str]] = {
    k: frozenset(v.split()) for k, v in {
        "A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC", "K": "ON", "L": "ON",
        "M": "ON", "N": "ON", "P": "ON", "R": "MB", "S": "SK", "T": "AB", "V": "BC", "X": "NT NU", "Y": "YT",
    }.items()
}
_CA_POSTAL_RE = re.compile(r"^[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d$")
_GB_POSTAL_RE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$")
_US_POSTAL_RE = re.compile(r"^(\d{4,5})(?:-?\d{4})?$")
# A few large cities that imply the country when it is missing (never used to contradict a given country).
_CITY_HINTS: dict[str, str] = {
    "london": "GB", "manchester": "GB", "edinburgh": "GB", "paris": "FR", "lyon": "FR", "berlin": "DE",
    "munich": "DE", "munchen": "DE", "hamburg": "DE", "frankfurt": "DE", "vienna": "AT", "wien": "AT",
    "zurich": "CH", "geneva": "CH", "amsterdam": "NL", "stockholm": "SE", "oslo": "NO", "copenhagen": "DK",
    "kobenhavn": "DK", "helsinki": "FI", "toronto": "CA", "montreal": "CA", "vancouver": "CA",
    "sydney": "AU", "melbourne": "AU", "auckland": "NZ", "tokyo": "JP", "osaka": "JP", "singapore": "SG",
    "new york": "US", "san francisco": "US", "chicago": "US", "boston": "US", "seattle": "US",
}


class Geo(Frozen):
    """Normalised geography of one record.

    Attributes:
        country: ISO 3166-1 alpha-2 code, or None when unknown.
        region: ISO 3166-2 code (``US-CA``, ``CA-ON``, ``DE-BY``), or None.
        postal: the postal code in its national shape (US 5-digit ZIP, ``A1A 1A1``, ``SW1A 1AA``), or None.
        ambiguous: the input is contradictory or could mean two places; the fields hold the best reading.
        reason: why the input was ambiguous, contradictory or not understood (None when all is clean).
    """

    country: str | None = None
    region: str | None = None
    postal: str | None = None
    ambiguous: bool = False
    reason: str | None = None


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case, accents and punctuation folded: ``"Österreich"`` -> ``"osterreich"``, ``"U.S.A."`` -> ``"usa"``."""
    # Compatibility forms first ("𝖠" -> "A"), then case, then accents: folding case before the compatibility
    # step left "𝖠" as "A" after one fold and "a" after two.
    compatible = unicodedata.normalize("NFKD", text).casefold().translate(_DROP)
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", compatible) if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", plain).split())


def _strip_the(key: str) -> str:
    return key[4:] if key.startswith("the ") else key


@cache
def _country_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for c in pycountry.countries:
        names = [c.alpha_2, c.alpha_3, c.numeric, str(int(c.numeric)), c.name]
        names += [getattr(c, "official_name", ""), getattr(c, "common_name", "")]
        for name in names:
            if name:
                index.setdefault(fold(name), c.alpha_2)
    for code, aliases in _COUNTRY_ALIASES.items():
        for alias in aliases.split("|"):
            index[fold(alias)] = code
    return index


@cache
def _regions(country: str) -> dict[str, str]:
    """Folded name, code suffix or full code -> ISO 3166-2 code, for one country's subdivisions."""
    index: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=country) or ():  # type: ignore[no-untyped-call]
        suffix = sub.code.split("-", 1)[1]
        for key in (suffix, sub.code, _BRACKETS.sub("", sub.name), sub.name):
            index.setdefault(fold(key), sub.code)
    for alias, suffix in _REGION_ALIASES.get(country, {}).items():
        index[fold(alias)] = f"{country}-{suffix}"
    return index


@cache
def _state_only_index() -> dict[str, tuple[str, ...]]:
    """Folded region text -> candidate ISO 3166-2 codes across the countries a bare state implies."""
    index: dict[str, list[str]] = {}
    for country in _STATE_ONLY:
        for key, code in _regions(country).items():
            is_code = key == fold(code.split("-", 1)[1]) or key == fold(code)
            if is_code and country not in _STATE_ONLY_CODES:
                continue  # "BE" alone is not Berlin; bare codes only count for US/CA/AU
            if country == "GB" and code not in _GB_NATIONS:
                continue
            found = index.setdefault(key, [])
            if code not in found:
                found.append(code)
    return {k: tuple(v) for k, v in index.items()}


def country_code(text: str | None) -> str | None:
    """The alpha-2 code a country spelling means ("U.S.", "Deutschland", "826", "Korea, Republic of"), or None."""
    if not text:
        return None
    key = fold(text)
    index = _country_index()
    return index.get(key) or index.get(_strip_the(key))


def region_code(country: str, text: str | None) -> str | None:
    """The ISO 3166-2 code of ``text`` ("Ontario", "ON", "Bavaria") within ``country`` (alpha-2), or None."""
    if not text:
        return None
    return _regions(country.upper()).get(fold(text))


class _Reading:
    """The state of one normalisation while its steps run."""

    def __init__(self) -> None:
        self.country: str | None = None
        self.region: str | None = None
        self.ambiguous = False
        self.reasons: list[str] = []

    def flag(self, reason: str, ambiguous: bool = True) -> None:
        self.reasons.append(reason)
        self.ambiguous = self.ambiguous or ambiguous


def _read_country(r: _Reading, text: str) -> None:
    r.country = country_code(text)
    if r.country:
        return
    key = fold(text)
    if key in _COUNTRY_REGIONS:
        r.country, r.region = _COUNTRY_REGIONS[key]
        return
    candidates = _state_only_index().get(key)
    if candidates:  # a state written in the country field ("California")
        r.region = candidates[0]
        r.country = r.region.split("-")[0]
        if len(candidates) > 1:
            r.flag(f"{text!r} is a region of several countries ({', '.join(candidates)}); read as {r.region}")
        return
    r.flag(f"unknown country {text!r}", ambiguous=False)


def _read_state(r: _Reading, text: str, country_text: str | None) -> None:
    if r.country:
        code = region_code(r.country, text)
        if code:
            if r.region is None or r.region in _GB_NATIONS:
                r.region = code
            return
        elsewhere = _state_only_index().get(fold(text), ())
        same_name = _state_only_index().get(fold(country_text or ""), ())
        if elsewhere and same_name and same_name[0].split("-")[0] == elsewhere[0].split("-")[0]:
            # "Georgia" + "GA": the country field held a US state name that is also a country.
            r.country, r.region = elsewhere[0].split("-")[0], elsewhere[0]
            r.flag(f"{country_text!r} is both a country and a region; read as {r.region} given state {text!r}")
        elif elsewhere:
            r.flag(f"state {text!r} is {elsewhere[0]}, not a region of {r.country}")
        else:
            r.flag(f"unknown region {text!r} for {r.country}", ambiguous=False)
        return
    candidates = _state_only_index().get(fold(text), ())
    if not candidates:
        r.country = country_code(text)  # a country written in the state field
        if r.country is None:
            r.flag(f"unknown region {text!r}", ambiguous=False)
        return
    r.region = candidates[0]
    r.country = r.region.split("-")[0]
    # A bare code in a state field is a region code ("CA" is California there, not Canada).
    as_country = country_code(text) if len(fold(text)) > 3 else None
    if as_country and as_country != r.country:
        r.flag(f"{text!r} is both a region ({r.region}) and a country ({as_country}); read as {r.region}")
    elif len(candidates) > 1:
        r.flag(f"{text!r} is a region of several countries ({', '.join(candidates)}); read as {r.region}")


def normalise_postal(country: str | None, postal: str | None) -> str | None:
    """A postal code in its national shape: US 5-digit ZIP, Canadian ``A1A 1A1``, UK ``SW1A 1AA``."""
    if postal is None:
        return None
    text = " ".join(postal.upper().split())
    if not text:
        return None
    compact = text.replace(" ", "")
    if country == "US":
        m = _US_POSTAL_RE.match(compact)
        return m.group(1).zfill(5) if m else text  # spreadsheets drop the leading zero of 02134
    if country == "CA" and _CA_POSTAL_RE.match(compact):
        return f"{compact[:3]} {compact[3:]}"
    if country == "GB" and _GB_POSTAL_RE.match(compact):
        return f"{compact[:-3]} {compact[-3:]}"
    return text


def _read_postal(r: _Reading, postal: str) -> str | None:
    compact = postal.upper().replace(" ", "")
    if r.country is None:
        if _CA_POSTAL_RE.match(compact):
            r.country = "CA"
        elif _GB_POSTAL_RE.match(compact):
            r.country = "GB"
    shaped = normalise_postal(r.country, postal)
    suffix = r.region.split("-", 1)[1] if r.region else None
    if r.country == "CA" and shaped and _CA_POSTAL_RE.match(compact):
        provinces = _CA_POSTAL[compact[0]]
        if suffix is None and len(provinces) == 1:
            r.region = f"CA-{next(iter(provinces))}"
        elif suffix is not None and suffix not in provinces:
            r.flag(f"postal code {shaped} is in {'/'.join(sorted(provinces))}, not {r.region}")
    elif (r.country == "US" and shaped and shaped.isdigit() and suffix is not None
          and suffix not in _ZIP_AREAS[shaped[0]]):
        r.flag(f"ZIP {shaped} is not in {r.region}")
    return shaped


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return text or None


@lru_cache(maxsize=65536)
def normalise_geo(
    country: str | None, state: str | None, postal: str | None = None, city: str | None = None
) -> Geo:
    """Normalise a record's geography to ISO codes.

    Args:
        country: the country as written ("USA", "Deutschland", "GB", "826", "Korea, Republic of").
        state: the state, province or region as written ("CA", "Ontario", "Bavaria").
        postal: the postal code as written.
        city: the city, used only to infer a missing country.

    Returns:
        The normalised :class:`Geo`. A US or Canadian region given with no country implies the country;
        a contradiction (a US state with country Germany) or a double meaning ("Georgia" alone) sets
        ``ambiguous`` with a ``reason`` and keeps the best reading.
    """
    country, state, postal, city = _clean(country), _clean(state), _clean(postal), _clean(city)
    r = _Reading()
    if country:
        _read_country(r, country)
    if state:
        _read_state(r, state, country)
    if r.country is None and city:
        r.country = _CITY_HINTS.get(fold(city))
    shaped = _read_postal(r, postal) if postal else None
    return Geo(
        country=r.country, region=r.region, postal=shaped, ambiguous=r.ambiguous,
        reason="; ".join(r.reasons) or None,
    )
