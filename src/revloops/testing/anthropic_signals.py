"""The Anthropic signal scanner against the local fake: a small web corpus, a scripted model, a bench.

``bench_anthropic(n)`` runs ``n`` scans of one target through the real adapter and the fake Messages API
on 127.0.0.1 and answers what a scan consumed (tokens, searches, dollars) and how long it took. The fake
bills a quarter of each found page's characters as input tokens, so the figures are the wire's shape,
not Claude's real consumption: measure that with the spend ledger.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from revloops.adapters.anthropic.client import AnthropicLLM
from revloops.adapters.anthropic.signals import AnthropicScanner
from revloops.adapters.anthropic.spend import SpendLedger
from revloops.adapters.sql.db import open_database
from revloops.ports.signals import ScanTarget, SignalKind
from revloops.testing.fake_anthropic import FakeAnthropic, Page, ToolRequest
from revloops.testing.servers import serve

KINDS = [
    SignalKind(id="funding", label="Raised a round", look_for="a funding round announced recently"),
    SignalKind(id="expansion", label="New market or office", look_for="a new office or market entry"),
    SignalKind(id="leadership_change", label="New leader", look_for="a new CEO, CRO or VP Sales"),
]

FUNDING = Page("https://news.example.com/acme-series-b", "Acme raises $40M Series B",
               "Acme, the Berlin logistics software maker, raised a $40 million Series B led by Northwind "
               "Ventures on 3 March 2026. The company plans to double its sales team.", "March 4, 2026")
OFFICE = Page("https://biz.example.org/acme-paris", "Acme opens Paris office",
              "Acme opened an office in Paris in February 2026 to serve French shippers.", "February 20, 2026")
OTHER = Page("https://people.example.net/globex-cro", "Globex names a new CRO",
             "Globex Corp appointed Jane Roe as chief revenue officer this week, replacing an Acme alumna.",
             "2 days ago", cite=("Globex Corp appointed Jane Roe as chief revenue officer this week",))


def acme_target(since: dt.date = dt.date(2026, 1, 1)) -> ScanTarget:
    """The target the scenarios scan: Acme at acme.example."""
    return ScanTarget(name="Acme GmbH", domain="acme.example", kinds=KINDS, since=since)


def report_first_cited(req: ToolRequest) -> dict[str, Any]:
    """A scripted model that reports one funding signal quoting the first passage it was shown cited."""
    if not req.citations:
        return {"signals": []}
    cite = req.citations[0]
    return {"signals": [{"type": "funding", "headline": str(cite.get("title") or "Funding"),
                         "event_date": "2026-03-03", "source_urls": [cite["url"]], "quote": cite["cited_text"],
                         "confidence": 0.8}]}


def bench_anthropic(scans: int) -> dict[str, float]:
    """Run ``scans`` scans against the fake; answer tokens, searches and dollars per scan, and the ceiling.

    Keys: ``scans``, ``signals_per_scan``, ``input_tokens_per_scan``, ``output_tokens_per_scan``,
    ``searches_per_scan``, ``usd_per_scan``, ``worst_case_usd`` (the reservation of one scan, 3 searches),
    ``worst_case_ratio`` (the reservation over the mean cost) and ``ms_per_scan`` (wall time on loopback).
    """
    scans = max(1, scans)
    fake = FakeAnthropic(pages=[FUNDING, OFFICE, OTHER], queries=["Acme funding", "Acme office"],
                         responder=report_first_cited)
    with tempfile.TemporaryDirectory(prefix="revloops-bench-") as tmp, serve(fake.app) as server:
        engine = open_database(f"sqlite:///{Path(tmp) / 'spend.sqlite'}")
        try:
            llm = AnthropicLLM("test-key", "claude-haiku-5-5", SpendLedger(engine), budget_usd=1e9,
                               base_url=server.url, timeout=10, sleep=lambda s: None)
            scanner = AnthropicScanner(llm, context_tokens=20_000)  # as the platform builds it
            now = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
            start = time.perf_counter()
            results = [scanner.scan(acme_target(), now=now, max_searches=3) for _ in range(scans)]
            elapsed = time.perf_counter() - start
            worst = scanner.worst_case(3)
        finally:
            engine.dispose()
    usd = sum(r.cost.usd for r in results) / scans
    return {
        "scans": float(scans),
        "signals_per_scan": sum(len(r.signals) for r in results) / scans,
        "input_tokens_per_scan": sum(r.cost.input_tokens for r in results) / scans,
        "output_tokens_per_scan": sum(r.cost.output_tokens for r in results) / scans,
        "searches_per_scan": sum(r.cost.searches for r in results) / scans,
        "usd_per_scan": usd,
        "worst_case_usd": worst.usd,
        "worst_case_ratio": worst.usd / usd if usd else 0.0,
        "ms_per_scan": 1000 * elapsed / scans,
    }
