"""Lead-to-account matching by domain and by fuzzy company name."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from revloops.core.domains import normalise_company
from revloops.core.errors import InputError
from revloops.core.matching import AccountIndex
from revloops.core.records import Account

ACCOUNTS = [
    {"Id": "001A", "Name": "Acme Corporation", "Website": "https://www.acme.com", "Named__c": True},
    {"Id": "001B", "Name": "Bluepeak Analytics GmbH", "Website": "bluepeak.de"},
    {"Id": "001C", "Name": "Bluepeak Analytics UK Ltd", "Website": "bluepeak.de", "ParentId": "001B"},
    {"Id": "001D", "Name": "Gmail Fans Club", "Website": "gmail.com"},
    {"Id": "001E", "Name": "Northwind Traders", "Website": None},
]


@pytest.fixture
def index() -> AccountIndex:
    return AccountIndex(ACCOUNTS)


def test_email_domain_matches_account_website(index: AccountIndex) -> None:
    m = index.match(email="jane@eu.acme.com")
    assert m is not None
    assert (m.account_id, m.how, m.score, m.key) == ("001A", "domain", 100.0, "acme.com")
    assert m.fields["Named__c"] is True


def test_website_used_when_email_is_free_mail(index: AccountIndex) -> None:
    m = index.match(email="jane@gmail.com", website="http://acme.com/contact")
    assert m is not None and m.account_id == "001A"


def test_free_mail_never_matches_even_if_an_account_lists_it(index: AccountIndex) -> None:
    assert index.match(email="someone@gmail.com") is None


def test_domain_mode_does_not_fall_back_to_name(index: AccountIndex) -> None:
    assert index.match(email="x@other.com", company="Northwind Traders") is None
    m = index.match(email="x@other.com", company="Northwind Traders", mode="domain_then_name")
    assert m is not None and (m.account_id, m.how) == ("001E", "name")


def test_shared_domain_prefers_best_name_then_parent(index: AccountIndex) -> None:
    m = index.match(email="a@bluepeak.de", company="Bluepeak Analytics UK")
    assert m is not None and (m.account_id, m.candidates) == ("001C", 2)
    top = index.match(email="a@bluepeak.de")
    assert top is not None and top.account_id == "001B"  # the account without a parent


def test_fuzzy_name_with_typo_and_legal_suffix(index: AccountIndex) -> None:
    m = index.match_name("Northwnd Traders Inc.")
    assert m is not None and m.account_id == "001E"
    assert 90 <= m.score < 100


def test_threshold_rejects_loose_names(index: AccountIndex) -> None:
    assert index.match_name("Northwind") is None  # "northwind" vs "northwind traders" is far from equal
    assert index.match_name("Northwind Trading Partners", threshold=90) is None


def test_records_and_mappings_index_alike() -> None:
    records = [Account(Id="001X", Name="Zeta Oy", Website="zeta.fi")]
    m = AccountIndex(records).match(email="a@zeta.fi")
    assert m is not None and m.account_id == "001X" and m.fields["Name"] == "Zeta Oy"


def test_account_without_id_is_refused() -> None:
    with pytest.raises(InputError) as err:
        AccountIndex([{"Name": "No Id"}])
    assert err.value.field == "Id"


def _random_names(rng: random.Random, n: int) -> list[str]:
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(6, 9))) for _ in range(300)]
    return [" ".join(rng.sample(words, rng.randint(1, 3))).title() for _ in range(n)]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 199))
def test_blocked_name_search_agrees_with_brute_force(seed: int, pick: int) -> None:
    rng = random.Random(seed)
    names = _random_names(rng, 200)
    index = AccountIndex([{"Id": f"001{i:05d}", "Name": n} for i, n in enumerate(names)])
    target = names[pick]
    typo_at = rng.randrange(1, len(target))
    query = target[:typo_at] + target[typo_at + 1 :]  # drop one letter (never the first)
    got = index.match_name(query, threshold=85)
    norm = normalise_company(query)
    best = max(fuzz.token_sort_ratio(norm, normalise_company(n)) for n in names)
    if best < 85:
        assert got is None
    else:
        # One dropped letter in words of six letters or more leaves the first or last three letters
        # of each word intact, so blocking cannot hide the best-scoring account.
        assert got is not None and got.score == pytest.approx(best)
