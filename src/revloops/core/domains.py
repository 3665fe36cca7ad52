"""Domains and company names: the keys that tie a lead to an account.

``registrable_domain`` reduces an email address or a URL to the domain a company registers
(``bob@eu.acme.co.uk`` -> ``acme.co.uk``) with the public suffix list bundled in tldextract; it never
fetches the list and never writes a cache. ``is_free_mail`` tells a personal mailbox (gmail.com,
yahoo.co.uk, web.de...) from a company domain, so a free-mail address never matches an account.
``normalise_company`` folds a company name to a comparable key ("ACME, Inc." and "Acme" agree).
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache, lru_cache

import tldextract

from revloops.core.geo import fold

_FREE_MAIL_TEXT = """
    gmail.com googlemail.com
    yahoo.com yahoo.co.uk yahoo.fr yahoo.de yahoo.es yahoo.it yahoo.ca yahoo.com.au yahoo.co.jp yahoo.co.in
    yahoo.com.br yahoo.com.mx yahoo.com.sg yahoo.co.nz yahoo.se yahoo.no yahoo.dk yahoo.ie yahoo.gr
    ymail.com rocketmail.com
    outlook.com outlook.fr outlook.de outlook.es outlook.it outlook.co.uk outlook.jp
    hotmail.com hotmail.co.uk hotmail.fr hotmail.de hotmail.es hotmail.it hotmail.nl hotmail.se hotmail.ca
    live.com live.co.uk live.fr live.de live.nl live.ca live.com.au live.se live.dk msn.com passport.com
    icloud.com me.com mac.com aol.com aol.co.uk aim.com
    proton.me protonmail.com protonmail.ch pm.me tutanota.com tutanota.de tuta.io hey.com fastmail.com fastmail.fm
    gmx.com gmx.de gmx.net gmx.at gmx.ch gmx.fr web.de t-online.de freenet.de posteo.de mailbox.org
    mail.com email.com usa.com zoho.com zohomail.com yandex.ru yandex.com ya.ru mail.ru bk.ru inbox.ru list.ru
    qq.com 163.com 126.com yeah.net sina.com sina.cn sohu.com aliyun.com 139.com
    naver.com daum.net hanmail.net
    orange.fr wanadoo.fr free.fr laposte.net sfr.fr neuf.fr libero.it virgilio.it tiscali.it alice.it
    btinternet.com sky.com virginmedia.com talktalk.net ntlworld.com
    comcast.net verizon.net att.net sbcglobal.net bellsouth.net cox.net charter.net earthlink.net juno.com
    rogers.com shaw.ca sympatico.ca telus.net bigpond.com bigpond.net.au optusnet.com.au xtra.co.nz
    seznam.cz wp.pl o2.pl interia.pl onet.pl rediffmail.com hushmail.com
    mailinator.com guerrillamail.com 10minutemail.com yopmail.com temp-mail.org
"""
#: personal mailbox providers, as registrable domains
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(_FREE_MAIL_TEXT.split())

# Legal forms removed from the end of a company name (folded, multi-word forms first).
_LEGAL_SUFFIXES: tuple[tuple[str, ...], ...] = tuple(
    tuple(s.split())
    for s in sorted(
        """inc|incorporated|llc|l l c|ltd|limited|corp|corporation|co|company|plc|lp|llp|ulc|pc|
        gmbh|gmbh co kg|gmbh and co kg|co kg|kg|ag|se|ug|e v|ev|sa|sas|sarl|sa de cv|sl|slu|srl|spa|s p a|
        bv|nv|ab|ab publ|oy|oyj|as|asa|a s|aps|kk|kabushiki kaisha|co ltd|pty|pty ltd|pte|pte ltd|sdn bhd|
        bhd|ltda|sp z oo|kft|doo""".replace("\n", "").split("|"),
        key=lambda s: -len(s.split()),
    )
)
# Legal forms by their last word, longest first, so stripping looks at a handful of forms, not all of them.
_SUFFIXES_BY_LAST: dict[str, tuple[tuple[str, ...], ...]] = {}
for _form in _LEGAL_SUFFIXES:
    _SUFFIXES_BY_LAST[_form[-1]] = (*_SUFFIXES_BY_LAST.get(_form[-1], ()), _form)
_EMAIL_HOST = re.compile(r"^[^@\s]*@([^@\s]+)$")


@cache
def _extractor() -> tldextract.TLDExtract:
    # The bundled snapshot only: no network fetch, no cache directory.
    return tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), include_psl_private_domains=True)


def host_of(email_or_url: str) -> str | None:
    """The lower-case host of an email address or URL (``https://www.Acme.com:8080/x`` -> ``www.acme.com``)."""
    text = email_or_url.strip().lower()
    if not text:
        return None
    m = _EMAIL_HOST.match(text)
    if m:
        host = m.group(1)
    else:
        host = text.split("://", 1)[1] if "://" in text else text
        host = re.split(r"[/?#]", host, maxsplit=1)[0]
        host = host.rsplit("@", 1)[-1]
        host = host.split(":", 1)[0] if host.count(":") == 1 else host
    host = host.strip().strip(".")
    return host or None


def registrable_domain(email_or_url: str | None) -> str | None:
    """The registrable domain of an email address or URL, or None for hosts with no public suffix.

    Args:
        email_or_url: ``bob@eu.acme.co.uk``, ``https://www.acme.com/about``, ``acme.de``...

    Returns:
        ``acme.co.uk``-style lower-case domain; None for empty input, IP addresses and bare hosts.
    """
    if not email_or_url:
        return None
    host = host_of(email_or_url)
    return None if host is None else _registrable_host(host)


@lru_cache(maxsize=65536)
def _registrable_host(host: str) -> str | None:
    # Cached by host, not by address: every lead of one company shares the entry.
    try:
        ipaddress.ip_address(host.strip("[]"))
        return None
    except ValueError:
        pass
    result = _extractor()(host)
    return result.top_domain_under_public_suffix or None


def is_free_mail(domain_or_email: str | None) -> bool:
    """Whether a domain (or the domain of an email address or URL) is a personal mailbox provider."""
    if not domain_or_email:
        return False
    host = host_of(domain_or_email)
    if host in FREE_MAIL_DOMAINS:
        return True
    return registrable_domain(domain_or_email) in FREE_MAIL_DOMAINS


def company_domain(email_or_url: str | None) -> str | None:
    """The registrable domain when it belongs to a company (None for free mail or no domain)."""
    domain = registrable_domain(email_or_url)
    return None if domain is None or domain in FREE_MAIL_DOMAINS else domain


@lru_cache(maxsize=65536)
def normalise_company(name: str | None) -> str:
    """A comparable company key: folded case, accents and punctuation, ``&`` as ``and``, legal forms removed.

    ``"ACME, Inc."``, ``"Acme Inc"`` and ``"acme"`` all give ``"acme"``; ``"Procter & Gamble Co."`` gives
    ``"procter and gamble"``. A name made only of a legal form keeps it (``"AG"`` stays ``"ag"``).
    """
    if not name:
        return ""
    tokens = fold(name.replace("&", " and ").replace("+", " and ")).split()
    if tokens and tokens[0] == "the" and len(tokens) > 1:
        tokens = tokens[1:]
    stripped = True
    while stripped and tokens:
        stripped = False
        for suffix in _SUFFIXES_BY_LAST.get(tokens[-1], ()):
            n = len(suffix)
            if len(tokens) > n and tuple(tokens[-n:]) == suffix:
                tokens = tokens[:-n]
                stripped = True
                break
    return " ".join(tokens)
