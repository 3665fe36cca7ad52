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

import numpy as np
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
        return self._result(self.domain_position(domain, query_name), "domain", 100.0, domain, len(positions))

    def domain_positions(self) -> dict[str, list[int]]:
        """Account positions by company domain (the batch path joins on it)."""
        return self._by_domain

    def domain_position(self, domain: str, query_name: str) -> int:
        """The position of the account a lead of ``domain`` (normalised company ``query_name``) matches."""
        positions = self._by_domain[domain]
        if len(positions) == 1:
            return positions[0]

        def rank(pos: int) -> tuple[float, bool, int]:
            name_score = fuzz.token_sort_ratio(query_name, self._names[pos]) if query_name else 0.0
            return (-name_score, bool(self._accounts[pos].get("ParentId")), pos)

        return min(positions, key=rank)

    def account_at(self, pos: int) -> dict[str, Any]:
        """The fields of the account at a position."""
        return self._accounts[pos]

    def match_name(self, company: str | None, threshold: float = 90) -> AccountMatch | None:
        """The account whose normalised name is closest to ``company`` (score >= ``threshold``), or None."""
        query = normalise_company(company)
        found = self.name_position(query, threshold)
        if found is None:
            return None
        pos, score, ties = found
        return self._result(pos, "name", score, self._names[pos], ties)

    def name_position(self, query: str, threshold: float = 90) -> tuple[int, float, int] | None:
        """(position, score, ties) of the account whose normalised name is closest to the normalised ``query``."""
        if not query:
            return None
        exact = self._by_name.get(query)
        if exact:
            return exact[0], 100.0, len(exact)
        candidates = self._candidates(query)
        if not candidates:
            return None
        choices = {pos: self._names[pos] for pos in candidates}
        found = process.extractOne(query, choices, scorer=fuzz.token_sort_ratio, score_cutoff=threshold)
        if found is None:
            return None
        _, score, pos = found
        ties = sum(1 for n in choices.values() if fuzz.token_sort_ratio(query, n) == score)
        return pos, float(score), ties

    def name_positions(self, queries: list[str], threshold: float = 90) -> list[int | None]:
        """The matched position of each normalised query name (None: no match), as ``name_position`` finds it,
        scored a block at a time: for each blocking key, every query holding it against the key's accounts in
        one ``process.cdist``; a query's answer is its best score over its blocks (ties: the first account)."""
        out: list[int | None] = [None] * len(queries)
        by_key: dict[str, list[int]] = {}
        for i, query in enumerate(queries):
            if not query:
                continue
            exact = self._by_name.get(query)
            if exact:
                out[i] = exact[0]
                continue
            for key in self._useful_keys(query):
                by_key.setdefault(key, []).append(i)
        rows: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        positions: list[np.ndarray] = []
        for key, members in by_key.items():
            block = self._blocks[key]
            names = [self._names[pos] for pos in block]
            big = len(members) * len(names) >= 50_000  # threads pay off on big blocks only
            matrix = process.cdist([queries[i] for i in members], names, scorer=fuzz.token_sort_ratio,
                                   score_cutoff=threshold, dtype=np.float64, workers=-1 if big else 1)
            best = matrix.argmax(axis=1)  # the first of the best: positions in a block ascend
            rows.append(np.asarray(members, dtype=np.int64))
            scores.append(matrix[np.arange(len(members)), best])
            positions.append(np.asarray(block, dtype=np.int64)[best])
        if not rows:
            return out
        row, score, pos = np.concatenate(rows), np.concatenate(scores), np.concatenate(positions)
        keep = (score >= threshold) & (score > 0)
        row, score, pos = row[keep], score[keep], pos[keep]
        order = np.lexsort((pos, -score, row))  # per query: best score, then the first account
        row, pos = row[order], pos[order]
        first = np.ones(len(row), dtype=bool)
        first[1:] = row[1:] != row[:-1]
        for i, p in zip(row[first].tolist(), pos[first].tolist(), strict=True):
            out[i] = p
        return out

    def _useful_keys(self, query: str) -> list[str]:
        """The blocking keys of ``query`` that narrow the search: those shared by few enough accounts, or the
        rarest one when every key is common."""
        keys = [k for k in _blocking_keys(query) if k in self._blocks]
        useful = [k for k in keys if len(self._blocks[k]) <= _MAX_BLOCK]
        return useful or sorted(keys, key=lambda k: (len(self._blocks[k]), k))[:1]

    def _candidates(self, query: str) -> list[int]:
        """Accounts sharing a blocking key with ``query``, in input order, skipping keys too common to help."""
        return sorted({pos for k in self._useful_keys(query) for pos in self._blocks[k]})

    def _result(self, pos: int, how: Literal["domain", "name"], score: float, key: str, n: int) -> AccountMatch:
        fields = self._accounts[pos]
        return AccountMatch(account_id=str(fields["Id"]), how=how, score=score, key=key, candidates=n, fields=fields)
