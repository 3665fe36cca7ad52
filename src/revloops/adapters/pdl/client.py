"""People Data Labs through the ``peopledatalabs`` client: person by email, company by website.

The client never raises for an HTTP status and sets no timeout, so each call runs on a daemon thread
bounded by our own timeout, and the status decides: 200 facts, 404 "not found" (unbilled), 429 and 5xx
one short in-call retry honouring ``x-ratelimit-reset`` and then ``UpstreamUnavailable(retry_after)``
for the engine's step retries, 400/401/402/403 ``UpstreamRejected``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from revloops.adapters.pdl.mapping import company_facts, person_facts
from revloops.core.errors import UpstreamRejected, UpstreamUnavailable
from revloops.ports.enrichment import (
    Answer,
    CompanyFacts,
    Enrichment,
    EnrichmentTimeout,
    Hints,
    Kind,
    PersonFacts,
)

TRANSIENT = frozenset({429, 500, 502, 503, 504})
REJECTED = frozenset({400, 401, 402, 403, 405, 422})


class Response(Protocol):
    """What we read of a ``requests.Response``."""

    status_code: int
    headers: Any

    def json(self) -> Any: ...


class SpendSink(Protocol):
    """Where each call's spend goes (the state DB's spend table)."""

    def record(self, provider: str, kind: Kind, key: str, status: str, http_status: int | None,
               credits: float) -> None: ...


@dataclass(frozen=True)
class _Outcome:
    response: Response | None = None
    error: BaseException | None = None


def _call_bounded(fn: Callable[[], Response], timeout: float) -> Response:
    """Run ``fn`` on a daemon thread and wait at most ``timeout`` seconds for it.

    A thread rather than a socket timeout because the client hard-codes ``timeout=None``; a call that
    overruns is abandoned (its thread ends when the server answers or the connection drops).
    """
    box: list[_Outcome] = []

    def run() -> None:
        try:
            box.append(_Outcome(response=fn()))
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread below
            box.append(_Outcome(error=exc))

    worker = threading.Thread(target=run, daemon=True, name="pdl-call")
    worker.start()
    worker.join(max(timeout, 0.0))
    if not box:
        raise EnrichmentTimeout(f"People Data Labs did not answer within {timeout:.1f}s", retry_after=1.0)
    if box[0].error is not None:
        raise UpstreamUnavailable(f"People Data Labs unreachable: {box[0].error}", retry_after=1.0) from box[0].error
    assert box[0].response is not None
    return box[0].response


def reset_delay(headers: Any, now: dt.datetime) -> float | None:
    """Seconds until ``x-ratelimit-reset`` (ISO 8601 UTC, epoch seconds or an HTTP date), or None."""
    raw = headers.get("x-ratelimit-reset") if headers is not None else None
    if not raw:
        return None
    raw = str(raw).strip()
    when: dt.datetime | None = None
    try:
        number = float(raw)
        when = dt.datetime.fromtimestamp(number, dt.UTC)
    except ValueError:
        try:
            when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _credits(headers: Any) -> float:
    try:
        return float(headers.get("x-call-credits-spent") or 0)
    except (TypeError, ValueError):
        return 0.0


def _error_text(resp: Response) -> str:
    try:
        err = resp.json().get("error") or {}
        return f"{resp.status_code} {err.get('type', '')}: {err.get('message', '')}".strip()
    except Exception:  # noqa: BLE001 - a body that is not JSON still gets its status reported
        return str(resp.status_code)


class PdlEnrichment(Enrichment):
    """The People Data Labs adapter.

    Args:
        api_key: the PDL key.
        base_url: the API root including ``/v5`` (``http://127.0.0.1:PORT/v5`` for the local fake).
        min_likelihood: matches below this confidence (1-10) are "not found".
        call_timeout: seconds one HTTP call may take.
        retries: in-call retries of a 429/5xx before raising (the engine retries the step after that).
        max_wait: the longest in-call wait for a rate-limit reset; a later reset is left to the engine.
        spend: where each call's credits are recorded.
        sleep, now: the clock (tests pass their own).
    """

    name = "pdl"

    def __init__(self, api_key: str, base_url: str, *, min_likelihood: int = 6, call_timeout: float = 10.0,
                 retries: int = 1, max_wait: float = 2.0, spend: SpendSink | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        from peopledatalabs import PDLPY

        self._client = PDLPY(api_key=api_key, base_path=base_url.rstrip("/"))
        self.min_likelihood = min_likelihood
        self.call_timeout = call_timeout
        self.retries = retries
        self.max_wait = max_wait
        self.spend = spend
        self._sleep, self._now = sleep, now

    def enrich_person(self, email: str, *, hints: Hints | None = None,
                      timeout: float | None = None) -> Answer[PersonFacts]:
        def call() -> Response:
            return self._client.person.enrichment(email=email, min_likelihood=self.min_likelihood)  # type: ignore[no-any-return]

        body, credits = self._get("person", email, call, timeout)
        facts = None if body is None else person_facts(email, body)
        return Answer(self._confident(facts), provider=self.name, credits=credits)

    def enrich_company(self, domain: str, *, hints: Hints | None = None,
                       timeout: float | None = None) -> Answer[CompanyFacts]:
        def call() -> Response:
            return self._client.company.enrichment(website=domain, min_likelihood=self.min_likelihood)  # type: ignore[no-any-return]

        body, credits = self._get("company", domain, call, timeout)
        facts = None if body is None else company_facts(domain, body)
        return Answer(self._confident(facts), provider=self.name, credits=credits)

    def _confident(self, facts: Any) -> Any:
        # The API already filters on min_likelihood; a body that slips through below it is still a miss.
        if facts is not None and facts.likelihood is not None and facts.likelihood < self.min_likelihood:
            return None
        return facts

    def _record(self, kind: Kind, key: str, status: str, http_status: int | None, credits: float) -> None:
        if self.spend is not None:
            self.spend.record(self.name, kind, key, status, http_status, credits)

    def _get(self, kind: Kind, key: str, call: Callable[[], Response],
             timeout: float | None) -> tuple[dict[str, Any] | None, float]:
        """The body of a found match (None for not found) and the credits spent."""
        deadline = None if timeout is None else time.monotonic() + timeout
        attempt = 0
        while True:
            budget = self.call_timeout if deadline is None else min(self.call_timeout, deadline - time.monotonic())
            try:
                resp = _call_bounded(call, budget)
            except UpstreamUnavailable as exc:
                self._record(kind, key, "timeout" if isinstance(exc, EnrichmentTimeout) else "error", None, 0.0)
                raise
            status, credits = resp.status_code, _credits(resp.headers)
            if status == 200:
                self._record(kind, key, "ok", status, credits)
                return resp.json(), credits
            if status == 404:
                self._record(kind, key, "not_found", status, credits)
                return None, credits
            if status not in TRANSIENT:
                self._record(kind, key, "rejected", status, credits)
                raise UpstreamRejected(f"People Data Labs refused the {kind} lookup: {_error_text(resp)}")
            self._record(kind, key, "rate_limited" if status == 429 else "error", status, credits)
            wait = self._wait_for(status, resp, attempt)
            left = None if deadline is None else deadline - time.monotonic()
            if attempt >= self.retries or wait > self.max_wait or (left is not None and wait >= left):
                raise UpstreamUnavailable(f"People Data Labs {kind} lookup: {_error_text(resp)}", retry_after=wait)
            attempt += 1
            self._sleep(wait)

    def _wait_for(self, status: int, resp: Response, attempt: int) -> float:
        if status == 429:
            delay = reset_delay(resp.headers, self._now())
            if delay is not None:
                return delay
        return 0.25 * float(2**attempt)
