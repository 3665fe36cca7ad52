"""Enrichment state in the state DB: answers cached by provider + kind + key with a TTL, and every
paid call's spend (the ``x-call-credits-spent`` header) logged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from revloops.adapters.sql.tables import enrichment_cache, enrichment_spend
from revloops.ports.enrichment import (
    Answer,
    CompanyFacts,
    Enrichment,
    Hints,
    Kind,
    PersonFacts,
    facts_dict,
    facts_from,
)
from revloops.ports.spend import EnrichmentSpend, SpendTotals

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes even for timezone=True columns; they were written in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def cache_key(key: str) -> str:
    """Keys compare case-insensitively: ``Ava@X.com`` and ``ava@x.com`` are one lookup."""
    return key.strip().lower()


@dataclass(frozen=True)
class Cached:
    """A live cache entry: the facts as stored (None: the provider had none)."""

    facts: dict[str, Any] | None
    fetched_at: dt.datetime


class EnrichmentCache:
    """Answers by (provider, kind, key), each live until its expiry."""

    def __init__(self, engine: sa.Engine, now: Clock = _utc_now) -> None:
        self.engine = engine
        self._now = now

    def get(self, provider: str, kind: Kind, key: str) -> Cached | None:
        """The live entry, or None when there is none or it expired."""
        t = enrichment_cache
        query = sa.select(t.c.facts, t.c.fetched_at, t.c.expires_at).where(
            t.c.provider == provider, t.c.kind == kind, t.c.key == cache_key(key))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or _aware(row.expires_at) <= self._now():
            return None
        return Cached(row.facts, _aware(row.fetched_at))

    def put(self, provider: str, kind: Kind, key: str, facts: dict[str, Any] | None, ttl: dt.timedelta) -> None:
        """Store (or replace) an answer for ``ttl``."""
        t = enrichment_cache
        now = self._now()
        values = {"facts": facts, "fetched_at": now, "expires_at": now + ttl}
        where = (t.c.provider == provider, t.c.kind == kind, t.c.key == cache_key(key))
        with self.engine.begin() as conn:
            if conn.execute(t.update().where(*where).values(values)).rowcount:
                return
            try:
                with conn.begin_nested():
                    conn.execute(t.insert().values(provider=provider, kind=kind, key=cache_key(key), **values))
            except IntegrityError:  # a concurrent lookup stored it first: same answer, keep theirs
                pass

    def entries(self, provider: str) -> Iterator[dict[str, Any]]:
        """Every entry of ``provider`` that holds facts, live or expired, in batches of rows."""
        t = enrichment_cache
        query = sa.select(t.c.kind, t.c.key, t.c.facts, t.c.fetched_at).where(t.c.provider == provider,
                                                                               t.c.facts.is_not(None))
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=5000).execute(query):
                yield {"provider": provider, "kind": row.kind, "key": row.key, "facts": row.facts,
                       "fetched_at": _aware(row.fetched_at)}

    def purge_expired(self) -> int:
        """Delete expired entries; answers how many."""
        with self.engine.begin() as conn:
            return int(conn.execute(enrichment_cache.delete().where(enrichment_cache.c.expires_at <= self._now()))
                       .rowcount)


class SpendLog(EnrichmentSpend):
    """One row per provider call with its status and the credits it spent."""

    def __init__(self, engine: sa.Engine, now: Clock = _utc_now) -> None:
        self.engine = engine
        self._now = now

    def record(self, provider: str, kind: Kind, key: str, status: str, http_status: int | None,
               credits: float) -> None:
        """Log one call."""
        with self.engine.begin() as conn:
            conn.execute(enrichment_spend.insert().values(
                provider=provider, kind=kind, key=cache_key(key)[:320], status=status, http_status=http_status,
                credits=float(credits), created_at=self._now()))

    def totals(self, since: dt.datetime | None = None, provider: str | None = None) -> SpendTotals:
        """Calls and credits since ``since`` (all time when None)."""
        t = enrichment_spend
        query = sa.select(t.c.status, sa.func.count(), sa.func.coalesce(sa.func.sum(t.c.credits), 0.0)).group_by(
            t.c.status)
        if since is not None:
            query = query.where(t.c.created_at >= since)
        if provider is not None:
            query = query.where(t.c.provider == provider)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        by_status = {str(r[0]): int(r[1]) for r in rows}
        return SpendTotals(sum(by_status.values()), float(sum(r[2] for r in rows)), by_status)


class CachedEnrichment(Enrichment):
    """A provider behind the cache: a live entry answers without a call (and without credits).

    Not-found answers are cached too (for ``negative_ttl``), so an unknown email is not paid for twice;
    errors are never cached.
    """

    def __init__(self, inner: Enrichment, cache: EnrichmentCache, ttl: dt.timedelta,
                 negative_ttl: dt.timedelta | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.cache = cache
        self.ttl = ttl
        self.negative_ttl = negative_ttl if negative_ttl is not None else ttl

    def _lookup(self, kind: Kind, key: str, fetch: Callable[[], Answer[Any]]) -> Answer[Any]:
        hit = self.cache.get(self.name, kind, key)
        if hit is not None:
            facts = None if hit.facts is None else facts_from(kind, hit.facts)
            return Answer(facts, provider=self.name, cached=True)
        answer = fetch()
        ttl = self.ttl if answer.facts is not None else self.negative_ttl
        self.cache.put(self.name, kind, key, facts_dict(answer.facts), ttl)
        return answer

    def known_facts(self) -> Iterator[dict[str, Any]]:
        return self.cache.entries(self.name)

    def enrich_person(self, email: str, *, hints: Hints | None = None,
                      timeout: float | None = None) -> Answer[PersonFacts]:
        return self._lookup("person", email, lambda: self.inner.enrich_person(email, hints=hints, timeout=timeout))

    def enrich_company(self, domain: str, *, hints: Hints | None = None,
                       timeout: float | None = None) -> Answer[CompanyFacts]:
        return self._lookup("company", domain,
                            lambda: self.inner.enrich_company(domain, hints=hints, timeout=timeout))

