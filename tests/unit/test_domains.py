"""Registrable domains, free mail and company-name normalisation."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from revloops.core.domains import (
    FREE_MAIL_DOMAINS,
    company_domain,
    is_free_mail,
    normalise_company,
    registrable_domain,
)


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("bob@acme.com", "acme.com"),
        ("Bob.Smith@EU.Acme.co.uk", "acme.co.uk"),
        ("https://www.acme.com.au/about?x=1", "acme.com.au"),
        ("http://user:secret@shop.acme.de:8443/cart", "acme.de"),
        ("www.acme.co.jp", "acme.co.jp"),
        ("acme.io.", "acme.io"),
        ("acme.github.io", "acme.github.io"),  # a private suffix: the company's own site, not GitHub's
        ("jane@mail.yahoo.co.jp", "yahoo.co.jp"),
    ],
)
def test_registrable_domain(text: str, domain: str) -> None:
    assert registrable_domain(text) == domain


@pytest.mark.parametrize("text", [None, "", "   ", "localhost", "10.1.2.3", "http://[::1]/", "bob@", "nodots"])
def test_no_registrable_domain(text: str | None) -> None:
    assert registrable_domain(text) is None


@pytest.mark.parametrize(
    "text",
    ["jane@gmail.com", "x@googlemail.com", "a@yahoo.co.uk", "a@yahoo.fr", "a@outlook.com", "a@hotmail.de",
     "a@live.com", "a@msn.com", "a@icloud.com", "a@me.com", "a@aol.com", "a@proton.me", "a@protonmail.com",
     "a@gmx.de", "a@web.de", "a@mail.ru", "a@yandex.ru", "a@qq.com", "a@163.com", "gmail.com", "GMAIL.COM"],
)
def test_free_mail(text: str) -> None:
    assert is_free_mail(text)
    assert company_domain(text) is None


def test_company_domains_are_not_free_mail() -> None:
    for text in ("bob@acme.com", "acme.de", "https://gmail-tools.com", "a@yahoo-finance-partners.com"):
        assert not is_free_mail(text)
        assert company_domain(text) is not None


def test_free_mail_list_holds_registrable_domains_only() -> None:
    # A listed domain that is not itself registrable could never match a registrable lookup.
    assert all(registrable_domain(d) == d for d in FREE_MAIL_DOMAINS)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ACME, Inc.", "acme"), ("Acme Inc", "acme"), ("acme", "acme"), ("Acme LLC", "acme"),
        ("Procter & Gamble Co.", "procter and gamble"), ("Procter and Gamble", "procter and gamble"),
        ("Siemens AG", "siemens"), ("Nordlicht GmbH & Co. KG", "nordlicht"), ("Atlassian Pty Ltd", "atlassian"),
        ("Toyota Motor Co., Ltd.", "toyota motor"), ("The Coca-Cola Company", "coca cola"),
        ("Société Générale S.A.", "societe generale"), ("Ubisoft SAS", "ubisoft"), ("ASML B.V.", "asml"),
        ("Spotify AB", "spotify"), ("Kone Oyj", "kone"), ("Rakuten K.K.", "rakuten"), ("Unilever PLC", "unilever"),
        ("Grab Pte. Ltd.", "grab"), ("Maersk A/S", "maersk"), ("AG", "ag"), ("", ""),
    ],
)
def test_normalise_company(name: str, key: str) -> None:
    assert normalise_company(name) == key


def test_legal_form_inside_a_name_is_kept() -> None:
    assert normalise_company("Inc Ventures Group") == "inc ventures group"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
@example("𝖠")  # a letter whose compatibility form has a case: folded once it must stay folded
@example("İstanbul Ticaret A.Ş.")
def test_normalise_company_is_idempotent(name: str) -> None:
    once = normalise_company(name)
    assert normalise_company(once) == once


@given(st.from_regex(r"[a-z]{3,10}\.(com|de|co\.uk|com\.au|io)", fullmatch=True),
       st.sampled_from(["{d}", "www.{d}", "https://{d}/", "HTTP://WWW.{d}/path", "sales@{d}", "a.b@mail.{d}"]))
def test_every_form_of_a_domain_agrees(domain: str, form: str) -> None:
    assert registrable_domain(form.format(d=domain)) == domain
