"""Outbound: scan target accounts for buying signals, keep them in the ledger (folded by event, decayed by
type), and, when an account's score crosses the threshold, start its outreach.

A scan reserves its worst-case cost from the budget before it calls out (``SignalLedger.reserve``: atomic,
so two workers cannot both take the last of it) and settles what it really cost after; a scan that does not
fit is recorded as skipped with the reason, and scanning resumes when the budget does (the next day, or the
next month for dollars). A scan's id is its tick's and the target's, and a signal's id its event's, so a
re-run of a tick records nothing twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import polars as pl

from revloops.core.errors import InputError, NotFound, UpstreamUnavailable
from revloops.loops.generate.signals import (
    Decay,
    Term,
    explain,
    same_event,
    scan_order,
    scores_frame,
    signal_id,
)
from revloops.ports.ledger import Budget, StoredScan, StoredSignal
from revloops.ports.signals import ScanTarget, SignalKind

if TYPE_CHECKING:
    from revloops.loops.generate.config import Target, TargetsFile
    from revloops.ports import Ports

#: two reports of one account's signal of one type this many days apart are the same event
FOLD_DAYS = 10


def targets_file(plat: Ports) -> TargetsFile:
    """``generate/targets.yaml``, required."""
    from revloops.loops.generate.config import TargetsFile

    return plat.config.require("targets", TargetsFile)


def decays(cfg: TargetsFile) -> dict[str, Decay]:
    """Each signal type's weight and half-life."""
    return {t.id: Decay(t.weight, t.half_life_days) for t in cfg.signal_types}


def budget_of(cfg: TargetsFile) -> Budget:
    """The scan budget."""
    return Budget(cfg.budget.searches_per_day, cfg.budget.tokens_per_day, cfg.budget.usd_per_month)


def find_target(cfg: TargetsFile, domain_or_name: str) -> Target:
    """A target by domain (or name, case-insensitive)."""
    key = domain_or_name.strip().lower()
    for t in cfg.targets:
        if t.domain == key or t.name.lower() == key:
            return t
    raise NotFound(f"no target account {domain_or_name!r} in generate/targets.yaml")


def due(plat: Ports, now: dt.datetime, count: int | None = None) -> list[Target]:
    """The targets to scan next, in order (never scanned first, then the longest waiting, priority weighted)."""
    cfg = targets_file(plat)
    by_domain = {t.domain: t for t in cfg.targets}
    order = scan_order([(t.domain, t.priority) for t in cfg.targets], _scanned_before(plat, now), now)
    return [by_domain[d] for d in order[: count if count is not None else cfg.scan.per_tick]]


def _scanned_before(plat: Ports, now: dt.datetime) -> dict[str, dt.datetime]:
    """When each target was last scanned before ``now``: a re-run of a tick plans what the tick first planned,
    not what its own scans (or later ticks') left due."""
    last = dict(plat.ledger.last_scanned())
    for domain in [d for d, at in last.items() if at >= now]:
        earlier = [s.at for s in plat.ledger.scans(domain=domain, limit=10_000)
                   if s.status != "skipped" and s.at < now]
        if earlier:
            last[domain] = max(earlier)
        else:
            del last[domain]
    return last


@dataclass(frozen=True)
class ScanOutcome:
    """What one scan of one target did: the scan as recorded, the signals it added or folded."""

    scan: StoredScan
    new: list[str] = field(default_factory=list)
    folded: list[str] = field(default_factory=list)
    synthetic: bool = False


def scan_target(plat: Ports, target: Target, *, now: dt.datetime, scan_id: str) -> ScanOutcome:
    """Scan one target once (``scan_id`` fixes it): reserve, scan, settle, fold its signals into the ledger."""
    # every scan from ``now`` on, not the last few: a tick recovered late has later scans of the target after it
    known = plat.ledger.scans(domain=target.domain, since=now, limit=10_000)
    done = next((s for s in known if s.id == scan_id), None)
    if done is not None:
        return ScanOutcome(done)
    cfg = targets_file(plat)
    scanner = plat.scanner
    worst = scanner.worst_case(cfg.scan.max_searches)
    reserved = (worst.searches, worst.input_tokens + worst.output_tokens, worst.usd)
    day = now.date()
    if not plat.ledger.reserve(day, *reserved, budget_of(cfg)):
        spent_day, spent_month = plat.ledger.spend(day)
        why = (f"over budget: today {spent_day.searches}/{cfg.budget.searches_per_day} searches, "
               f"{spent_day.tokens}/{cfg.budget.tokens_per_day} tokens; this month ${spent_month.usd:.2f}/"
               f"${cfg.budget.usd_per_month:.2f}; a scan may take {reserved[0]} searches, {reserved[1]} tokens, "
               f"${reserved[2]:.3f}")
        scan = StoredScan(id=scan_id, domain=target.domain, at=now, status="skipped", reason=why,
                          provider=scanner.name)
        plat.ledger.record_scan(scan)
        return ScanOutcome(scan)
    kinds = [SignalKind(id=t.id, label=t.label, look_for=t.look_for) for t in cfg.signal_types
             if not target.signals or t.id in target.signals]
    ask = ScanTarget(name=target.name, domain=target.domain, kinds=kinds,
                     since=day - dt.timedelta(days=cfg.scan.lookback_days))
    try:
        result = scanner.scan(ask, now=now, max_searches=cfg.scan.max_searches,
                              allowed_domains=cfg.sources.allowed_domains, blocked_domains=cfg.sources.blocked_domains)
    except UpstreamUnavailable as exc:
        plat.ledger.settle(day, reserved, reserved)  # what a failed call cost is unknown: keep its worst case
        scan = StoredScan(id=scan_id, domain=target.domain, at=now, status="failed", reason=str(exc)[:1000],
                          provider=scanner.name, searches=reserved[0], usd=reserved[2])
        plat.ledger.record_scan(scan)
        return ScanOutcome(scan)
    cost = result.cost
    plat.ledger.settle(day, reserved, (cost.searches, cost.input_tokens + cost.output_tokens, cost.usd))
    strength = {t.id: t.strength for t in cfg.signal_types}
    account_id = _account_of(plat, target)
    new: list[str] = []
    folded: list[str] = []
    for found in result.signals:
        event = found.event_date or day
        stored, what = plat.ledger.add(StoredSignal(
            id=signal_id(target.domain, found.type, event, found.headline), domain=target.domain,
            account_id=account_id, type=found.type, headline=found.headline, event_date=event,
            sources=[s.model_dump(mode="json") for s in found.sources], strength=strength.get(found.type, 0.5),
            confidence=found.confidence, provider=result.provider, synthetic=result.synthetic, scan_id=scan_id,
            first_seen=now), fold_days=FOLD_DAYS,
            same=lambda old, new: same_event(new.type, old.headline, new.headline, target.name))
        (new if what == "new" else folded if what == "folded" else []).append(stored.id)
    scan = StoredScan(id=scan_id, domain=target.domain, at=now, status="done", provider=result.provider,
                      found=len(result.signals) + len(result.dropped), kept=len(new), folded=len(folded),
                      dropped=[dict(d) for d in result.dropped], searches=cost.searches,
                      input_tokens=cost.input_tokens, output_tokens=cost.output_tokens, usd=cost.usd)
    plat.ledger.record_scan(scan)
    return ScanOutcome(scan, new, folded, result.synthetic)


def _account_of(plat: Ports, target: Target) -> str | None:
    """The CRM account a target is tied to: its ``account`` (an id or External_Id__c), else by domain."""
    from revloops.ports.crm import eq

    if target.account:
        if target.account.startswith("001") and len(target.account) in (15, 18):
            try:
                return plat.crm.get("Account", target.account).Id
            except NotFound:
                return None
        found = plat.crm.find_one(eq("Account", External_Id__c=target.account))
        return found.Id if found is not None else None
    from revloops.loops.route.flow import route_env

    match = route_env(plat).accounts.match(email=None, website=target.domain, company=target.name,
                                            mode="domain_then_name")
    return match.account_id if match is not None else None


# -- scores ------------------------------------------------------------------------------------------------


def ledger_frame(plat: Ports) -> pl.DataFrame:
    """Every signal as columns: ``domain``, ``type``, ``strength``, ``event_date``."""
    return plat.ledger.score_frame()


def scores(plat: Ports, on: dt.date) -> dict[str, float]:
    """Every target's decayed signal score on a day."""
    frame = scores_frame(ledger_frame(plat), decays(targets_file(plat)), on)
    return dict(frame.select("domain", "score").iter_rows())


def account_score(plat: Ports, domain: str, on: dt.date) -> tuple[float, list[Term]]:
    """One target's score on a day, term by term."""
    found, _ = plat.ledger.signals(domain=domain, limit=10_000)
    return explain([(s.id, s.type, s.headline, s.strength, s.event_date) for s in found],
                   decays(targets_file(plat)), on)


def outreach_due(plat: Ports, domain: str, now: dt.datetime) -> tuple[StoredSignal | None, str]:
    """The signal to start an account's outreach on, or None and why not: its score must reach the threshold,
    no outreach in the cool-down, and the event must have started none (one outreach per account per event)."""
    cfg = targets_file(plat)
    score, terms = account_score(plat, domain, now.date())
    if score < cfg.outreach.threshold:
        return None, f"score {score:.2f} below the threshold {cfg.outreach.threshold:g}"
    recent = plat.ledger.outreach_since(domain, now - dt.timedelta(days=cfg.outreach.cooldown_days))
    if recent:
        return None, (f"in cool-down: outreach on {recent[0].id} within {cfg.outreach.cooldown_days} days")
    by_id = {s.id: s for s in plat.ledger.signals(domain=domain, limit=10_000)[0]}
    for t in terms:
        signal = by_id.get(t.signal_id)
        if signal is not None and signal.outreach is None:
            return signal, f"score {score:.2f} reached {cfg.outreach.threshold:g}; its strongest signal leads"
    return None, "every signal of the account has had its outreach"


def target_rows(plat: Ports, now: dt.datetime) -> list[dict[str, Any]]:
    """Every target with when it was last scanned, when it is next due, and its score."""
    cfg = targets_file(plat)
    last = plat.ledger.last_scanned()
    order = scan_order([(t.domain, t.priority) for t in cfg.targets], last, now)
    position = {d: i for i, d in enumerate(order)}
    per_tick, every = cfg.scan.per_tick, cfg.scan.every_minutes
    score = scores(plat, now.date())
    return [{"name": t.name, "domain": t.domain, "priority": t.priority, "territory": t.territory,
             "last_scanned": last.get(t.domain),
             "next_due": now + dt.timedelta(minutes=every * (position[t.domain] // per_tick)),
             "score": score.get(t.domain, 0.0)} for t in cfg.targets]


def check_new_target(cfg: TargetsFile, name: str, domain: str) -> None:
    """A target to add must have a plain domain no target has."""
    import re

    if not re.fullmatch(r"[a-z0-9.-]+\.[a-z]{2,}", domain):
        raise InputError(f"{domain!r} is not a domain (lower case, like globex.example)", field="domain")
    if any(t.domain == domain for t in cfg.targets):
        raise InputError(f"{domain} is already a target", field="domain")
    if not name.strip():
        raise InputError("a target needs a name", field="name")
