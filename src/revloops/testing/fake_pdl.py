"""A local fake of People Data Labs' enrichment API (``/v5/person/enrich``, ``/v5/company/enrich``).

It answers the documented bodies and headers: person answers ``{"status", "likelihood", "data": {...}}``,
company answers a flat body; errors are ``{"status", "error": {"type", "message"}}``; every answer carries
``x-ratelimit-remaining`` and ``x-ratelimit-reset``, and billed answers ``x-call-credits-spent``. A match
below ``min_likelihood`` is a 404, as the real API does.

Faults: ``FakePdl(faults=Faults(ratio=1/3))`` fails a seeded third of calls with 429 or 500;
``Faults(count=2, statuses=(429,))`` fails the first two; ``Faults(slow=1.5, slow_count=1)`` delays answers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

BASE_PERSONS: dict[str, dict[str, Any]] = {
    "ava.chen@northwindtraders.com": {
        "likelihood": 9, "full_name": "ava chen", "job_title": "chief revenue officer", "job_title_role": "sales",
        "job_title_levels": ["cxo"], "job_company_name": "northwind traders", "job_company_size": "1001-5000",
        "job_company_industry": "computer software", "industry": "computer software",
        "location_country": "united states",
    },
    "liam.obrien@contoso.co.uk": {
        "likelihood": 7, "full_name": "liam o'brien", "job_title": "director of sales operations",
        "job_title_role": "sales", "job_title_levels": ["director"], "job_company_name": "contoso",
        "job_company_size": "201-500", "job_company_industry": "financial services", "industry": "financial services",
        "location_country": "united kingdom",
    },
    "mia.k@fabrikam.de": {
        "likelihood": 4, "full_name": "mia keller", "job_title": "marketing manager", "job_title_role": "marketing",
        "job_title_levels": ["manager"], "job_company_name": "fabrikam", "job_company_size": "51-200",
        "job_company_industry": "industrial automation", "industry": "industrial automation",
        "location_country": "germany",
    },
}
BASE_COMPANIES: dict[str, dict[str, Any]] = {
    "northwindtraders.com": {
        "likelihood": 9, "name": "northwind traders", "size": "1001-5000", "employee_count": 2350,
        "industry": "computer software", "location": {"country": "united states", "region": "california",
                                                        "locality": "san francisco"},
    },
    "contoso.co.uk": {
        "likelihood": 8, "name": "contoso", "size": "201-500", "employee_count": 310, "industry": "financial services",
        "location": {"country": "united kingdom", "region": "england", "locality": "london"},
    },
    "fabrikam.de": {
        "likelihood": 3, "name": "fabrikam", "size": "51-200", "employee_count": 120,
        "industry": "industrial automation", "location": {"country": "germany", "region": "bayern",
                                                           "locality": "munich"},
    },
}


@dataclass
class Faults:
    """Failures to inject.

    Attributes:
        ratio: share of calls (seeded draw) answered with one of ``statuses``.
        count: the first ``count`` calls are answered with ``statuses`` (cycling), whatever the ratio.
        statuses: the failure statuses (429 carries a reset header ``reset_after`` seconds ahead).
        reset_after: seconds from now the 429's ``x-ratelimit-reset`` names.
        slow: seconds to wait before answering (on the first ``slow_count`` calls; all when 0).
        slow_count: how many calls are slow (0: every call, when ``slow`` is set).
        seed: the draw's seed.
    """

    ratio: float = 0.0
    count: int = 0
    statuses: tuple[int, ...] = (429, 500)
    reset_after: float = 0.2
    slow: float = 0.0
    slow_count: int = 0
    seed: int = 7


@dataclass
class FakePdl:
    """The fake's state: its dataset, its keys, its faults and what it was asked. ``app`` serves it."""

    persons: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(BASE_PERSONS))
    companies: dict[str, dict[str, Any]] = field(default_factory=lambda: dict(BASE_COMPANIES))
    api_keys: frozenset[str] = frozenset({"test-key"})
    faults: Faults = field(default_factory=Faults)
    credits_left: int = 1_000_000
    calls: Counter[str] = field(default_factory=Counter)
    log: list[tuple[str, str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.faults.seed)
        self.app = self._build()

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults (and restart their counters)."""
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)
            self.calls.clear()

    def _fault(self) -> tuple[int | None, float]:
        """The status to fail this call with (None: answer normally) and the delay before answering."""
        with self._lock:
            self.calls["total"] += 1
            n = self.calls["total"]
            f = self.faults
            delay = f.slow if f.slow and (f.slow_count == 0 or n <= f.slow_count) else 0.0
            if n <= f.count:
                return f.statuses[(n - 1) % len(f.statuses)], delay
            if f.ratio and self._rng.random() < f.ratio:
                return self._rng.choice(f.statuses), delay
            return None, delay

    def _headers(self, credits: int | None = None, remaining: int = 99) -> dict[str, str]:
        reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.faults.reset_after)
        headers = {
            "x-ratelimit-remaining": json.dumps({"minute": remaining}),
            "x-ratelimit-reset": reset.isoformat().replace("+00:00", "Z"),
        }
        if credits is not None:
            headers["x-call-credits-spent"] = str(credits)
        return headers

    def _error(self, status: int, kind: str, message: str) -> JSONResponse:
        remaining = 0 if status == 429 else 99
        return JSONResponse({"status": status, "error": {"type": kind, "message": message}}, status_code=status,
                            headers=self._headers(remaining=remaining))

    async def _gate(self, request: Request, endpoint: str, key: str) -> JSONResponse | None:
        status, delay = self._fault()
        if delay:
            await asyncio.sleep(delay)
        api_key = request.query_params.get("api_key") or request.headers.get("x-api-key")
        with self._lock:
            self.log.append((endpoint, key, status or 0))
        if status == 429:
            return self._error(429, "rate_limit_error", "You have hit your account rate limit.")
        if status is not None:
            return self._error(status, "server_error", "An unexpected error occurred.")
        if api_key not in self.api_keys:
            return self._error(401, "authentication_error", "Invalid API key.")
        if self.credits_left <= 0:
            return self._error(402, "payment_required", "You have hit your account maximum for this endpoint.")
        if not key:
            return self._error(400, "invalid_request_error", "Request needs a lookup parameter.")
        return None

    @staticmethod
    def _min_likelihood(request: Request) -> int:
        raw = request.query_params.get("min_likelihood")
        return int(raw) if raw and raw.isdigit() else 2

    def _found(self, record: dict[str, Any] | None, request: Request) -> bool:
        return record is not None and int(record["likelihood"]) >= self._min_likelihood(request)

    def _build(self) -> FastAPI:
        app = FastAPI(title="fake People Data Labs")

        @app.get("/v5/person/enrich")
        async def person(request: Request) -> JSONResponse:
            email = (request.query_params.get("email") or "").strip().lower()
            refused = await self._gate(request, "person", email)
            if refused is not None:
                return refused
            record = self.persons.get(email)
            if record is None or not self._found(record, request):
                return self._error(404, "not_found", "No records were found matching your request")
            self.credits_left -= 1
            data = {k: v for k, v in record.items() if k != "likelihood"}
            body = {"status": 200, "likelihood": record["likelihood"], "data": {"work_email": email, **data}}
            return JSONResponse(body, headers=self._headers(credits=1))

        @app.get("/v5/company/enrich")
        async def company(request: Request) -> JSONResponse:
            site = (request.query_params.get("website") or request.query_params.get("name") or "").strip().lower()
            site = site.split("://", 1)[-1].removeprefix("www.").split("/", 1)[0]
            refused = await self._gate(request, "company", site)
            if refused is not None:
                return refused
            record = self.companies.get(site)
            if record is None or not self._found(record, request):
                return self._error(404, "not_found", "No records were found matching your request")
            self.credits_left -= 1
            return JSONResponse({"status": 200, "website": site, **record}, headers=self._headers(credits=1))

        return app
