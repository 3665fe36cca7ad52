"""Lead-to-account matching: by company domain, then (optionally) by fuzzy company name.

An :class:`AccountIndex` is built once from the accounts and answered many times. The domain path keys
accounts by the registrable domain of their website and looks up the lead's email domain, then its
website; free-mail domains never match. The name path compares normalised company names with rapidfuzz,
but only against accounts sharing a blocking key (the first or last three letters of a name
token), so a lookup stays far below O(accounts) on a large index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from rapidfuzz import fuzz, process

from revloops.core.domains import company_domain, normalise_company
from revloops.core.errors import InputError
from revloops.core.model import Frozen
from revloops.core.records import SObject

MatchMode = Literal["domain", "domain_then_name"]
_AFFIX = 3  # letters at each end of a token used as blocking keys: one typo leaves at least one end intact
_MAX_BLOCK = 2000  # a key shared by more accounts than this is too common to narrow anything


class AccountMatch(Frozen):
    """The account a lead matched.

    Attributes:
        account_id: the account's Id.
        how: ``domain`` (website domain = lead's email/website domain) or ``name`` (company name).
        score: 100 for a domain or exact name match, else the fuzzy name score (0-100).
        key: the domain or normalised name that matched.
        candidates: how many accounts shared the key; above 1 the match picked one (see ``AccountIndex``).
        fields: the account's fields, for the ``account.*`` context.
    """

    account_id: str
    how: Literal["domain", "name"]
    score: float
    key: str
    candidates: int = 1
    fields: dict[str, Any]


def _as_fields(account: Mapping[str, Any] | SObject) -> dict[str, Any]:
    return account.fields() if isinstance(account, SObject) else dict(account)


def _blocking_keys(name: str) -> set[str]:
    # The first and last letters of every token: a single typo in a token of six letters or more keeps
    # one of them, so the right account stays among the candidates.
    keys: set[str] = set()
    for token in name.split():
        keys.add(f"p:{token[:_AFFIX]}")
        keys.add(f"s:{token[-_AFFIX:]}")
    return keys


class AccountIndex:
    """Accounts indexed by company domain and by normalised name.

    Several accounts on one domain (a parent and its subsidiaries) resolve to the best company-name
    score, then the account without a ``ParentId``, then the first given: the answer is deterministic.
    """

    def __init__(self, accounts: Iterable[Mapping[str, Any] | SObject]) -> None:
        """Index ``accounts`` (records, or mappings with ``Id``, ``Name``, ``Website`` and any other fields).

        Raises:
            InputError: an account has no ``Id``.
        """
        self._accounts: list[dict[str, Any]] = []
        self._names: list[str] = []
        self._by_domain: dict[str, list[int]] = {}
        self._by_name: dict[str, list[int]] = {}
        self._blocks: dict[str, list[int]] = {}
        for pos, account in enumerate(accounts):
            fields = _as_fields(account)
            if not fields.get("Id"):
                raise InputError(f"account #{pos + 1} has no Id", field="Id")
            self._accounts.append(fields)
            name = normalise_company(fields.get("Name"))
            self._names.append(name)
            domain = company_domain(fields.get("Website"))
            if domain:
                self._by_domain.setdefault(domain, []).append(pos)
            if name:
                self._by_name.setdefault(name, []).append(pos)
                for key in _blocking_keys(name):
                    self._blocks.setdefault(key, []).append(pos)

    def __len__(self) -> int:
        return len(self._accounts)

    def match(
        self,
        email: str | None = None,
        website: str | None = None,
        company: str | None = None,
        mode: MatchMode = "domain",
        threshold: float = 90,
    ) -> AccountMatch | None:
        """The account a lead belongs to, or None.

        Args:
            email: the lead's email; its domain is tried first (free mail never matches).
            website: the lead's website; its domain is tried next.
            company: the lead's company name, to pick among accounts sharing a domain and for ``name`` matching.
            mode: ``domain`` matches by domain only; ``domain_then_name`` falls back to the company name.
            threshold: the lowest fuzzy name score (0-100) accepted as a match.
        """
        query_name = normalise_company(company)
        for source in (email, website):
            domain = company_domain(source)
            if domain and domain in self._by_domain:
                return self._pick_domain(domain, query_name)
        if mode == "domain_then_name" and query_name:
            return self.match_name(company, threshold)
        return None

    def match_domain(self, email_or_url: str | None, company: str | None = None) -> AccountMatch | None:
        """The account whose website has the registrable domain of ``email_or_url``, or None."""
        domain = company_domain(email_or_url)
        if domain is None or domain not in self._by_domain:
            return None
        return self._pick_domain(domain, normalise_company(company))

    def _pick_domain(self, domain: str, query_name: str) -> AccountMatch:
        positions = self._by_domain[domain]

        def rank(pos: int) -> tuple[float, bool, int]:
            name_score = fuzz.token_sort_ratio(query_name, self._names[pos]) if query_name else 0.0
            return (-name_score, bool(self._accounts[pos].get("ParentId")), pos)

        best = min(positions, key=rank) if len(positions) > 1 else positions[0]
        return self._result(best, "domain", 100.0, domain, len(positions))

    def match_name(self, company: str | None, threshold: float = 90) -> AccountMatch | None:
        """The account whose normalised name is closest to ``company`` (score >= ``threshold``), or None."""
        query = normalise_company(company)
        if not query:
            return None
        exact = self._by_name.get(query)
        if exact:
            return self._result(exact[0], "name", 100.0, query, len(exact))
        candidates = self._candidates(query)
        if not candidates:
            return None
        choices = {pos: self._names[pos] for pos in candidates}
        found = process.extractOne(query, choices, scorer=fuzz.token_sort_ratio, score_cutoff=threshold)
        if found is None:
            return None
        _, score, pos = found
        ties = sum(1 for n in choices.values() if fuzz.token_sort_ratio(query, n) == score)
        return self._result(pos, "name", float(score), self._names[pos], ties)

    def _candidates(self, query: str) -> list[int]:
        """Accounts sharing a blocking key with ``query``, in input order, skipping keys too common to help."""
        postings = [self._blocks[k] for k in _blocking_keys(query) if k in self._blocks]
        useful = [p for p in postings if len(p) <= _MAX_BLOCK] or sorted(postings, key=len)[:1]
        return sorted({pos for p in useful for pos in p})

    def _result(self, pos: int, how: Literal["domain", "name"], score: float, key: str, n: int) -> AccountMatch:
        fields = self._accounts[pos]
        return AccountMatch(account_id=str(fields["Id"]), how=how, score=score, key=key, candidates=n, fields=fields)
