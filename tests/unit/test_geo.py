"""Geography normalisation: spellings, codes, inference and contradictions."""

from __future__ import annotations

import pycountry
import pytest
from hypothesis import given
from hypothesis import strategies as st

from revloops.core.geo import country_code, fold, normalise_geo, normalise_postal, region_code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("USA", "US"), ("U.S.", "US"), ("U.S.A.", "US"), ("United States of America", "US"), ("America", "US"),
        ("united states", "US"), ("UK", "GB"), ("Great Britain", "GB"), ("England", "GB"), ("Deutschland", "DE"),
        ("Allemagne", "DE"), ("Schweiz", "CH"), ("Suisse", "CH"), ("Österreich", "AT"), ("OSTERREICH", "AT"),
        ("Holland", "NL"), ("The Netherlands", "NL"), ("Nippon", "JP"), ("Korea, Republic of", "KR"),
        ("South Korea", "KR"), ("Türkiye", "TR"), ("Turkey", "TR"), ("de", "DE"), ("DEU", "DE"), ("276", "DE"),
        ("840", "US"), ("036", "AU"), ("36", "AU"), (" france ", "FR"), ("Viet Nam", "VN"), ("Czechia", "CZ"),
        ("Sverige", "SE"), ("Suomi", "FI"), ("Danmark", "DK"), ("Norge", "NO"), ("日本", "JP"),
    ],
)
def test_country_spellings_map_to_alpha2(text: str, code: str) -> None:
    assert normalise_geo(text, None).country == code


def test_every_pycountry_name_and_code_round_trips() -> None:
    for c in pycountry.countries:
        assert country_code(c.alpha_2) == c.alpha_2
        assert country_code(c.alpha_3) == c.alpha_2
        assert country_code(c.numeric) == c.alpha_2
        assert country_code(c.name.upper()) == c.alpha_2, c.name


def test_us_state_alone_implies_us() -> None:
    geo = normalise_geo(None, "Texas")
    assert (geo.country, geo.region, geo.ambiguous) == ("US", "US-TX", False)


def test_bare_state_code_ca_is_california_not_canada() -> None:
    geo = normalise_geo(None, "CA")
    assert (geo.country, geo.region, geo.ambiguous) == ("US", "US-CA", False)


def test_canadian_province_and_bavaria_imply_their_country() -> None:
    assert normalise_geo(None, "Ontario").region == "CA-ON"
    bavaria = normalise_geo(None, "Bavaria")
    assert (bavaria.country, bavaria.region) == ("DE", "DE-BY")


@pytest.mark.parametrize(
    ("country", "state", "region"),
    [("USA", "ca", "US-CA"), ("US", "New York", "US-NY"), ("Canada", "QC", "CA-QC"), ("Canada", "Québec", "CA-QC"),
     ("Deutschland", "Bayern", "DE-BY"), ("Germany", "NRW", "DE-NW"), ("Austria", "Wien", "AT-9"),
     ("Switzerland", "Zürich", "CH-ZH"), ("Australia", "NSW", "AU-NSW"), ("Japan", "Tokyo", "JP-13"),
     ("UK", "Scotland", "GB-SCT"), ("US", "US-WA", "US-WA")],
)
def test_region_within_country(country: str, state: str, region: str) -> None:
    geo = normalise_geo(country, state)
    assert geo.region == region
    assert not geo.ambiguous


def test_georgia_alone_is_ambiguous_but_read_as_state() -> None:
    geo = normalise_geo(None, "Georgia")
    assert geo.ambiguous
    assert geo.region == "US-GA"
    assert geo.reason is not None and "GE" in geo.reason


def test_georgia_as_country_is_the_country() -> None:
    geo = normalise_geo("Georgia", None)
    assert (geo.country, geo.ambiguous) == ("GE", False)


def test_us_state_with_country_germany_is_contradictory() -> None:
    geo = normalise_geo("Germany", "CA")
    assert geo.country == "DE"
    assert geo.region is None
    assert geo.ambiguous and "US-CA" in (geo.reason or "")


def test_state_written_in_country_field() -> None:
    geo = normalise_geo("California", None)
    assert (geo.country, geo.region) == ("US", "US-CA")


def test_england_gives_gb_and_nation() -> None:
    geo = normalise_geo("England", None)
    assert (geo.country, geo.region) == ("GB", "GB-ENG")


def test_unknown_country_is_reported_not_guessed() -> None:
    geo = normalise_geo("Atlantis", None)
    assert geo.country is None
    assert geo.reason is not None and "Atlantis" in geo.reason


def test_empty_input_is_all_none() -> None:
    assert normalise_geo("  ", "", None, None).model_dump() == {
        "country": None, "region": None, "postal": None, "ambiguous": False, "reason": None,
    }


def test_postal_shapes() -> None:
    assert normalise_postal("US", "94105-1234") == "94105"
    assert normalise_postal("US", "2134") == "02134"  # a spreadsheet dropped the leading zero
    assert normalise_postal("CA", "m5v2t6") == "M5V 2T6"
    assert normalise_postal("GB", "sw1a1aa") == "SW1A 1AA"
    assert normalise_postal("DE", " 80331 ") == "80331"


def test_canadian_postal_code_infers_country_and_province() -> None:
    geo = normalise_geo(None, None, "V6B 1A1")
    assert (geo.country, geo.region, geo.postal) == ("CA", "CA-BC", "V6B 1A1")


def test_postal_contradicting_region_is_flagged() -> None:
    assert normalise_geo("US", "CA", "10001").ambiguous
    assert not normalise_geo("US", "NY", "10001").ambiguous
    assert normalise_geo("Canada", "BC", "M5V 2T6").ambiguous


def test_city_fills_a_missing_country_only() -> None:
    assert normalise_geo(None, None, None, "München").country == "DE"
    assert normalise_geo("US", None, None, "Paris").country == "US"  # Paris, Texas


def test_region_code_helper() -> None:
    assert region_code("ca", "Alberta") == "CA-AB"
    assert region_code("US", "Ontario") is None


@given(st.sampled_from(["United States", "Deutschland", "Österreich", "Korea, Republic of", "U.K."]),
       st.lists(st.sampled_from([str.upper, str.lower, lambda s: f"  {s} ", lambda s: s.replace(" ", "  ")]),
                max_size=3))
def test_case_and_spacing_do_not_change_the_answer(text: str, transforms: list) -> None:
    variant = text
    for t in transforms:
        variant = t(variant)
    assert normalise_geo(variant, None).country == normalise_geo(text, None).country is not None


def test_fold_removes_accents_and_punctuation() -> None:
    assert fold("Ősterreich-Ungarn, K.u.K.") == "osterreich ungarn kuk"
