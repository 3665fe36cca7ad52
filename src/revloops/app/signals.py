"""Generate's outbound actions: ticks and scans, the signal ledger, the targets and the scan budget."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

from revloops.app.base import AppBase, Page, page_offset
from revloops.core.decisions import Decision
from revloops.core.errors import InputError
from revloops.core.identity import Caller
from revloops.core.model import Frozen

Progress = Callable[[int, int], None]


class SignalSource(Frozen):
    """Where a signal was read, and the passage it rests on."""

    url: str
    title: str | None = None
    outlet: str | None = None
    published: dt.date | None = None
    quote: str


class SignalRow(Frozen):
    """One signal of the ledger: what happened, its sources, and whether it started outreach."""

    id: str
    domain: str
    account_id: str | None = None
    type: str
    headline: str
    event_date: dt.date
    sources: list[SignalSource]
    strength: float
    confidence: float
    provider: str
    synthetic: bool
    first_seen: dt.datetime
    outreach: str | None = None


class TargetRow(Frozen):
    """A target account: when it was last scanned, when it is next due, its signal score."""

    name: str
    domain: str
    priority: int
    territory: str | None = None
    last_scanned: dt.datetime | None = None
    next_due: dt.datetime
    score: float


class TargetEditResult(Frozen):
    """A change to ``generate/targets.yaml``: its diff, and whether it was written."""

    file: str
    diff: str
    written: bool
    dry_run: bool


class BudgetView(Frozen):
    """The scan budget: today's searches and tokens and this month's dollars, used (reserved or spent) and
    allowed."""

    day: dt.date
    searches: int
    searches_per_day: int
    tokens: int
    tokens_per_day: int
    usd_month: float
    usd_per_month: float
    scanner: str
    synthetic: bool


class ScanRow(Frozen):
    """One scan: how it ended, what it found, kept, folded and dropped, what it cost."""

    id: str
    domain: str
    at: dt.datetime
    status: str
    reason: str | None = None
    provider: str
    found: int
    kept: int
    folded: int
    dropped: list[dict[str, str]] = []
    searches: int = 0
    tokens: int = 0
    usd: float = 0.0
    outreach: str | None = None
    why: str | None = None


class ScoreTerm(Frozen):
    """One signal's part of its account's score."""

    signal_id: str
    type: str
    headline: str
    event_date: dt.date
    age_days: float
    weight: float
    strength: float
    half_life_days: float
    value: float


class AccountScore(Frozen):
    """An account's decayed signal score on a day, explained term by term."""

    domain: str
    on: dt.date
    score: float
    threshold: float
    terms: list[ScoreTerm]
    explanation: str


class TickResult(Frozen):
    """One tick (or a simulated run of ticks): the scans, the signals added and folded, the budget after, the
    outreach runs created and each one's outcome."""

    ticks: int
    scans: list[ScanRow]
    new_signals: int
    folded: int
    skipped: int
    outreach: list[dict[str, Any]]
    budget: BudgetView
    story: list[Decision] = []
    dry_run: bool = False


class SignalMetrics(Frozen):
    """How the scanner does: scans per day, cost per scan, signals per scan, the share of reports folded as
    duplicates, the share dropped for want of a citation, the share of signals that led to outreach, and the
    outcome of that outreach once Pursue has recorded it."""

    since: dt.date | None
    scans: int
    scans_per_day: float
    cost_per_scan_usd: float
    searches_per_scan: float
    signals_per_scan: float
    dedupe_rate: float | None = None
    no_citation_rate: float | None = None
    outreach_share: float | None = None
    outreach_outcomes: dict[str, int] = {}


def _row(s: Any) -> SignalRow:
    return SignalRow(id=s.id, domain=s.domain, account_id=s.account_id, type=s.type, headline=s.headline,
                     event_date=s.event_date, sources=[SignalSource(**src) for src in s.sources], strength=s.strength,
                     confidence=s.confidence, provider=s.provider, synthetic=s.synthetic, first_seen=s.first_seen,
                     outreach=s.outreach)


def _scan_row(s: Any, extra: dict[str, Any] | None = None) -> ScanRow:
    return ScanRow(id=s.id, domain=s.domain, at=s.at, status=s.status, reason=s.reason, provider=s.provider,
                   found=s.found, kept=s.kept, folded=s.folded, dropped=s.dropped, searches=s.searches,
                   tokens=s.input_tokens + s.output_tokens, usd=s.usd, **(extra or {}))




class SignalActions(AppBase):
    """Outbound signals: scan, list, explain, target, budget."""

    def _now(self, now: dt.datetime | None) -> dt.datetime:
        stamp = now or dt.datetime.now(dt.UTC)
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)

    def list_signals(self, caller: Caller, *, domain: str | None = None, type: str | None = None,
                     since: dt.date | None = None, limit: int = 50, cursor: str | None = None) -> Page[SignalRow]:
        """The ledger's signals, newest event first (every tier; signals are about target accounts)."""
        if not 1 <= limit <= 500:
            raise InputError("limit must be 1 to 500", field="limit")
        start = page_offset(cursor)
        found, total = self.platform.ledger.signals(domain=domain, type=type, since=since, limit=limit, offset=start)
        nxt = str(start + len(found)) if start + len(found) < total else None
        return Page[SignalRow](items=[_row(s) for s in found], total=total, next_cursor=nxt)

    def signal_targets(self, caller: Caller, *, now: dt.datetime | None = None) -> list[TargetRow]:
        """Every target: last scanned, next due, score."""
        from revloops.loops.generate.outbound import target_rows

        return [TargetRow(**r) for r in target_rows(self.platform, self._now(now))]

    def account_signal_score(self, caller: Caller, domain: str, *, on: dt.date | None = None) -> AccountScore:
        """One target's decayed signal score, term by term."""
        from revloops.loops.generate.outbound import account_score, find_target, targets_file

        cfg = targets_file(self.platform)
        target = find_target(cfg, domain)
        day = on or dt.datetime.now(dt.UTC).date()
        score, terms = account_score(self.platform, target.domain, day)
        lines = [t.line() for t in terms] or ["no signal"]
        return AccountScore(domain=target.domain, on=day, score=score, threshold=cfg.outreach.threshold,
                            terms=[ScoreTerm(**vars(t)) for t in terms],
                            explanation=f"{target.name}: {score:.3f} (outreach at {cfg.outreach.threshold:g})\n  "
                                        + "\n  ".join(lines))

    def add_target(self, caller: Caller, *, name: str, domain: str, priority: int = 3, territory: str | None = None,
                   dry_run: bool = True) -> TargetEditResult:
        """Add a target account to ``generate/targets.yaml`` (a dry run shows the diff)."""
        from revloops.loops.generate.outbound import check_new_target, targets_file
        from revloops.loops.generate.targets_edit import add_target

        self.require(caller, "ops")
        if not 1 <= priority <= 5:
            raise InputError("priority is 1 (first) to 5", field="priority")
        check_new_target(targets_file(self.platform), name, domain)
        edit = add_target(self.platform.settings.config, name=name, domain=domain, priority=priority,
                          territory=territory, dry_run=dry_run)
        if edit.written:
            self.platform.reload_config()
        return TargetEditResult(file=edit.file, diff=edit.diff, written=edit.written, dry_run=dry_run)

    def remove_target(self, caller: Caller, domain: str, *, dry_run: bool = True) -> TargetEditResult:
        """Remove a target account from ``generate/targets.yaml`` (its signals stay in the ledger)."""
        from revloops.loops.generate.targets_edit import remove_target

        self.require(caller, "ops")
        edit = remove_target(self.platform.settings.config, domain, dry_run=dry_run)
        if edit.written:
            self.platform.reload_config()
        return TargetEditResult(file=edit.file, diff=edit.diff, written=edit.written, dry_run=dry_run)

    def signal_budget(self, caller: Caller, *, day: dt.date | None = None) -> BudgetView:
        """Today's and this month's scan budget, used and allowed."""
        from revloops.loops.generate.outbound import targets_file

        cfg = targets_file(self.platform)
        on = day or dt.datetime.now(dt.UTC).date()
        today, month = self.platform.ledger.spend(on)
        scanner = self.platform.scanner
        return BudgetView(day=on, searches=today.searches, searches_per_day=cfg.budget.searches_per_day,
                          tokens=today.tokens, tokens_per_day=cfg.budget.tokens_per_day, usd_month=month.usd,
                          usd_per_month=cfg.budget.usd_per_month, scanner=scanner.name, synthetic=scanner.synthetic)

    def run_ticks(self, caller: Caller, *, start: dt.datetime | None = None, ticks: int = 1,
                  domain: str | None = None, progress: Progress | None = None, timeout: float = 600.0) -> TickResult:
        """Run ticks now on the engine in this process: one (``generate tick``), a scan of one target
        (``domain``: ``generate scan``), or a simulated run of ``ticks`` ticks, ``every_minutes`` apart from
        ``start`` (time compressed: the demo's day of 288). Waits for the outreach runs they start."""
        from revloops.chains.signals import scan_run, tick_run
        from revloops.engine import setup
        from revloops.engine.registry import run_key, start_once
        from revloops.loops.generate.outbound import find_target, targets_file

        self.require(caller, "ops")
        if not 1 <= ticks <= 10_000:
            raise InputError("ticks must be 1 to 10,000", field="ticks")
        plat = self.platform
        cfg = targets_file(plat)
        first = self._now(start).replace(second=0)
        target = find_target(cfg, domain) if domain is not None else None
        before = {s.id for s in plat.ledger.all_signals()}
        results: list[dict[str, Any]] = []
        setup.launch(plat)
        try:
            for i in range(ticks):
                at = (first + dt.timedelta(minutes=cfg.scan.every_minutes * i)).isoformat()
                if target is not None:
                    scan_id = f"scan:manual:{at}:{target.domain}"
                    out = start_once(run_key("scan", scan_id), scan_run, target.domain, at, scan_id).get_result()
                    results.append({"domain": target.domain, "scan_id": scan_id, **out})
                else:
                    found = start_once(run_key("tick", f"{at}:forced"), tick_run, at, True).get_result()
                    results += [{**r, "scan_id": f"scan:{at}:{r['domain']}"} for r in found]
                if progress:
                    progress(i + 1, ticks)
            outreach = []
            for r in results:
                if r.get("outreach"):
                    from dbos import DBOS

                    run: Any = DBOS.retrieve_workflow(run_key("outbound", r["outreach"]))
                    outreach.append({"signal_id": r["outreach"], "domain": r["domain"], **run.get_result()})
        finally:
            setup.shutdown()
        scans = {s.id: s for s in plat.ledger.scans(limit=max(1000, len(results) + 10))}
        rows = [_scan_row(scans[r["scan_id"]], {"outreach": r.get("outreach"), "why": r.get("why")})
                for r in results if r["scan_id"] in scans]
        after = {s.id for s in plat.ledger.all_signals()}
        # the story of an outreach that reached its sequence (one parked for review tells less)
        told = next((o for o in outreach if o.get("play")), outreach[0] if outreach else None)
        story = plat.decisions.for_record(told["lead_id"], limit=10) if told else []
        return TickResult(ticks=ticks, scans=rows, new_signals=len(after - before),
                          folded=sum(r.folded for r in rows), skipped=sum(1 for r in rows if r.status == "skipped"),
                          outreach=outreach, budget=self.signal_budget(caller, day=first.date()), story=story)

    def signal_metrics(self, caller: Caller, *, since: dt.date | None = None) -> SignalMetrics:
        """Scans per day, cost and signals per scan, dedupe and no-citation rates, outreach share and outcomes."""
        plat = self.platform
        start = dt.datetime.combine(since, dt.time(), dt.UTC) if since else None
        scans = [s for s in plat.ledger.scans(since=start, limit=1_000_000) if s.status == "done"]
        signals = [s for s in plat.ledger.all_signals() if since is None or s.first_seen.date() >= since]
        days = {s.at.date() for s in scans}
        reports = sum(s.kept + s.folded for s in scans)
        dropped = [d for s in scans for d in s.dropped]
        no_citation = sum(1 for d in dropped if "citation" in str(d.get("reason", "")))
        led = [s for s in signals if s.outreach]
        outcomes: Counter[str] = Counter()
        for s in led:
            lead = plat.crm.find_one(_by_key(f"outbound:{s.id}"))
            opp = getattr(lead, "ConvertedOpportunityId", None) if lead is not None else None
            if not opp:
                outcomes["open"] += 1
                continue
            inst = plat.plans.get(f"pursue:{opp}")
            result = (inst.outcome or {}).get("result") if inst is not None and inst.outcome else None
            outcomes[str(result or "in pursuit")] += 1
        n = len(scans)
        return SignalMetrics(
            since=since, scans=n, scans_per_day=n / len(days) if days else 0.0,
            cost_per_scan_usd=sum(s.usd for s in scans) / n if n else 0.0,
            searches_per_scan=sum(s.searches for s in scans) / n if n else 0.0,
            signals_per_scan=sum(s.kept for s in scans) / n if n else 0.0,
            dedupe_rate=sum(s.folded for s in scans) / reports if reports else None,
            no_citation_rate=no_citation / (reports + len(dropped)) if reports + len(dropped) else None,
            outreach_share=len(led) / len(signals) if signals else None, outreach_outcomes=dict(outcomes))


def _by_key(key: str) -> Any:
    from revloops.ports.crm import eq

    return eq("Lead", External_Id__c=key)
