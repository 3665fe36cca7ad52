"""Outbound on the engine: the scan tick, and Generate Outbound Signal (a signal's account over the threshold
→ its lead → Qualify → Route → Engage with the play of the signal's type).

The tick is a DBOS schedule that fires every minute in every worker with the same workflow id per minute,
so one worker runs each; it scans only on the minutes the config's ``every_minutes`` names. Each target's
scan is a step (``scan:<tick>:<domain>``: a re-run records nothing twice); the outreach a scan makes due is
a child run keyed by the signal (``outbound-<signal id>``), so one event gets one outreach.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dbos import DBOS
from dbos import error as dbos_error

from revloops.chains.inbound import enrich_degraded_step, enrich_step
from revloops.engine.registry import enqueue_once, run_key, scheduled, step, workflow
from revloops.engine.setup import platform

QUEUE = "chain"


def _now(at: Any) -> dt.datetime:
    stamp = at if isinstance(at, dt.datetime) else dt.datetime.now(dt.UTC)
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def tick_due(now: dt.datetime, every_minutes: int) -> bool:
    """Whether the minute of ``now`` is a scan minute (minutes since midnight UTC divisible by the cadence)."""
    return (now.hour * 60 + now.minute) % every_minutes == 0


@step(attempts=3, interval=1.0)
def plan_tick_step(at_iso: str, force: bool) -> list[str]:
    """The targets this tick scans (none when the minute is not a scan minute, unless ``force``, or there is
    no targets file)."""
    from revloops.loops.generate.outbound import due

    plat = platform()
    cfg = plat.config.get("targets")
    now = dt.datetime.fromisoformat(at_iso)
    if cfg is None or not cfg.targets or not (force or tick_due(now, cfg.scan.every_minutes)):
        return []
    return [t.domain for t in due(plat, now)]


@step(attempts=4, interval=2.0)
def scan_step(domain: str, at_iso: str, scan_id: str) -> dict[str, Any]:
    """Scan one target (reserve, scan, settle, fold); answers the signals it added and the outreach due."""
    from revloops.loops.generate.outbound import find_target, outreach_due, scan_target, targets_file

    plat = platform()
    now = dt.datetime.fromisoformat(at_iso)
    outcome = scan_target(plat, find_target(targets_file(plat), domain), now=now, scan_id=scan_id)
    if outcome.new or outcome.folded:
        signal, why = outreach_due(plat, domain, now)
    else:  # a re-run (this step died after its mark, before its result was kept): the mark this tick made
        marked = [s for s in plat.ledger.outreach_since(domain, now) if s.outreach_at == now]
        signal, why = (marked[0], "marked by this scan before") if marked else (None, "no new signal")
    outreach = None
    # marked before its run is queued, so the cool-down holds from now: a second signal of the account in a
    # later tick finds it, and a re-run of this step finds the mark and queues the same run (keyed by signal)
    if signal is not None and (plat.ledger.set_outreach(signal.id, run_key("outbound", signal.id), now)
                               or plat.ledger.get(signal.id) is not None):
        outreach = signal.id
    return {"status": outcome.scan.status, "reason": outcome.scan.reason, "new": outcome.new,
            "folded": outcome.folded, "outreach": outreach, "why": why}


def run_scan(domain: str, at_iso: str, scan_id: str) -> dict[str, Any]:
    """One scan in the running workflow, and its outreach queued once when it made one due."""
    out = scan_step(domain, at_iso, scan_id)
    if out["outreach"]:
        enqueue_once(QUEUE, run_key("outbound", out["outreach"]), outbound_run, out["outreach"])
    return out


@workflow("signals.tick")
def tick_run(at_iso: str, force: bool = False) -> list[dict[str, Any]]:
    """One tick: scan the due targets one after another (``force``: whatever the minute)."""
    return [{"domain": d, **run_scan(d, at_iso, f"scan:{at_iso}:{d}")} for d in plan_tick_step(at_iso, force)]


@scheduled("signal-scan", "0 * * * * *", enabled=lambda settings: bool(settings.signal_scan))
def signal_tick(scheduled_at: Any, context: Any) -> None:
    """Every minute when ``REVLOOPS_SIGNAL_SCAN`` is on (with one workflow id per minute in every worker, so
    one of them runs it): a tick on the minutes the cadence names."""
    tick_run(_now(scheduled_at).replace(second=0, microsecond=0).isoformat())


@workflow("signals.scan")
def scan_run(domain: str, at_iso: str, scan_id: str) -> dict[str, Any]:
    """One target scanned now (``revloops generate scan``)."""
    return run_scan(domain, at_iso, scan_id)


# -- Generate Outbound Signal -----------------------------------------------------------------------------


@step(attempts=6, interval=0.5)
def outbound_prepare_step(signal_id: str, actor: str) -> dict[str, Any]:
    """The account, its territory, the person to work, the lead; the ``generate`` decision."""
    from revloops.loops.generate.outbound import account_score
    from revloops.loops.generate.outreach import get_signal, prepare

    plat = platform()
    signal = get_signal(plat, signal_id)
    # the score on the tick's day, the one that crossed the threshold (not today's: ticks may be simulated)
    on = (signal.outreach_at or dt.datetime.now(dt.UTC)).date()
    score, _ = account_score(plat, signal.domain, on)
    return prepare(plat, signal_id, score=score, actor=actor)


def _signal_ctx(sig: dict[str, Any]) -> dict[str, Any]:
    return dict(sig)


@step(attempts=6, interval=0.5)
def outbound_score_step(lead: dict[str, Any], enrichment: dict[str, Any], sig: dict[str, Any],
                        actor: str) -> dict[str, Any]:
    """Qualify with the signal as intent."""
    from revloops.loops.qualify.flow import score_lead
    from revloops.loops.route.flow import route_env

    plat = platform()
    ctx = route_env(plat).context(lead, "Lead", enrichment=enrichment, score={}, signal=_signal_ctx(sig))
    decision = score_lead(plat, lead["Id"], ctx, actor=actor)
    return {"band": decision.outcome, "total": decision.detail.get("total"), "fit": decision.detail.get("fit"),
            "intent": decision.detail.get("intent")}


@step(attempts=6, interval=0.5)
def outbound_route_step(lead: dict[str, Any], enrichment: dict[str, Any], score: dict[str, Any],
                        sig: dict[str, Any], actor: str) -> dict[str, Any]:
    """Route, with the signal in the context; the decision id is fixed so a rerun claims no second slot."""
    from revloops.loops.route.flow import resolve

    decision = resolve(platform(), record=lead, apply=True, actor=actor, enrichment=enrichment,
                       score={k: score.get(k) for k in ("total", "fit", "intent")}, signal=_signal_ctx(sig),
                       decision_id=f"dec_route_{lead['Id']}")
    return {"owner_id": decision.outcome, "rule_id": decision.detail.get("rule_id")}


@step(attempts=6, interval=0.5)
def outbound_engage_step(lead: dict[str, Any], owner_id: str, enrichment: dict[str, Any], score: dict[str, Any],
                         sig: dict[str, Any], actor: str) -> dict[str, Any]:
    """Engage with the play of the signal's type (offline composer; the first email cites the signal)."""
    from revloops.loops.engage.composer import OfflineComposer
    from revloops.loops.engage.flow import engage_lead
    from revloops.loops.route.flow import route_env

    plat = platform()
    ctx = route_env(plat).context({**lead, "OwnerId": owner_id}, "Lead", enrichment=enrichment,
                                  score={k: score.get(k) for k in ("total", "fit", "intent")}, signal=_signal_ctx(sig))
    composer = None if plat.llm is not None else OfflineComposer()
    decision = engage_lead(plat, lead["Id"], owner_id, ctx, actor=actor, composer=composer)
    return {"play": decision.outcome, "decision_id": decision.id}


@workflow("signals.outbound")
def outbound_run(signal_id: str) -> dict[str, Any]:
    """A signal that lifted its account over the threshold: lead, score, owner, sequence and task."""
    actor = f"workflow:{DBOS.workflow_id or run_key('outbound', signal_id)}"
    prepared = outbound_prepare_step(signal_id, actor)
    lead, sig = prepared["lead"], prepared["signal"]
    try:
        enrichment = enrich_step(lead)
    except dbos_error.DBOSMaxStepRetriesExceeded:
        enrichment = enrich_degraded_step(lead)
    score = outbound_score_step(lead, enrichment, sig, actor)
    routed = outbound_route_step(lead, enrichment, score, sig, actor)
    engaged = None
    if str(routed["owner_id"]).startswith("005"):
        engaged = outbound_engage_step(lead, routed["owner_id"], enrichment, score, sig, actor)
    return {"signal_id": signal_id, "lead_id": lead["Id"], "territory": prepared["territory"], "score": score,
            "owner_id": routed["owner_id"], "play": engaged["play"] if engaged else None}
