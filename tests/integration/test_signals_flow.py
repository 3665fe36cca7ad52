"""Outbound signals end to end on the embedded CRM: ticks on the engine in this process (the app's
``run_ticks``), with a scripted scanner at the scanner port.

- a re-run of a tick (same ``at``) records nothing twice: no scan, signal, lead, task or decision, no budget
  and no call to the scanner; also when the re-run comes after later ticks (a late recovery);
- a scan that does not fit the day's budget is recorded ``skipped`` with the budget as its reason, and the
  next day's scan runs;
- a scan step re-run after it marked its outreach (a crash before its result was kept) still queues it;
- one outreach per event (another outlet's report of it starts none), and none within the cool-down;
- the outreach lead's story: the ``generate`` decision (news item, source, score), qualify, route, and
  engage with a play the signal's type selects, whose first email cites the signal;
- a scanner that stays down fails its scan, keeps the worst case in the budget, and the tick completes.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dbos import DBOS

from revloops.app import Caller, app_on
from revloops.bootstrap import Platform, build
from revloops.chains.signals import scan_run, tick_run
from revloops.core.errors import UpstreamUnavailable
from revloops.core.rules.conditions import leaves
from revloops.engine import setup
from revloops.engine.registry import run_key, start_once
from revloops.loops.engage.config import PlaysFile
from revloops.loops.generate.outbound import find_target, outreach_due, scan_target, targets_file
from revloops.loops.generate.outreach import LEAD_SOURCE, lead_key
from revloops.ports.crm import Query
from revloops.ports.signals import FoundSignal, ScanCost, ScanResult, ScanTarget, SignalScanner, Source

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
DAY = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
OPS = Caller.operator("ops")
INITECH = "  - {name: Initech, domain: initech.example, territory: NA_East, priority: 2}\n"
LINDEN = "  - {name: Linden Payments, domain: lindenpayments.example, territory: NA_East, priority: 3}\n"
#: what one scan costs, and the most it may cost (what it reserves)
COST = ScanCost(searches=1, input_tokens=400, output_tokens=100, usd=0.01)
WORST = ScanCost(searches=1, input_tokens=1000, output_tokens=500, usd=0.02)

News = Callable[[str, dt.date], Sequence[FoundSignal]]


class ScriptedScanner(SignalScanner):
    """The scanner port, scripted: a scan of ``domain`` on ``day`` answers ``news(domain, day)`` at a fixed
    cost; ``failing`` makes every scan raise ``UpstreamUnavailable`` (a service that stayed down)."""

    name = "scripted"

    def __init__(self, news: News | None = None, *, failing: bool = False) -> None:
        self.news = news or (lambda _domain, _day: [])
        self.failing = failing
        self.calls: list[tuple[str, dt.datetime]] = []

    def scan(self, target: ScanTarget, *, now: dt.datetime, max_searches: int,
             allowed_domains: Sequence[str] = (), blocked_domains: Sequence[str] = ()) -> ScanResult:
        self.calls.append((target.domain, now))
        if self.failing:
            raise UpstreamUnavailable("news search unavailable: 503 after 3 attempts")
        return ScanResult(signals=list(self.news(target.domain, now.date())), cost=COST, provider=self.name)

    def worst_case(self, max_searches: int) -> ScanCost:
        return WORST


def report(headline: str, event: dt.date, *, kind: str = "funding", outlet: str = "Wire") -> FoundSignal:
    """One outlet's report of an event."""
    slug = "-".join(headline.lower().split())
    return FoundSignal(type=kind, headline=headline, event_date=event, confidence=0.9, sources=[Source(
        url=f"https://{outlet.lower()}.example/{slug}", title=headline, outlet=outlet, published=event,
        quote=f"{headline}, the company said.")])


def _edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the example targets file no longer has {old!r}"
    return text.replace(old, new)


def org(root: Path, scanner: SignalScanner, *, targets: Sequence[str] = (INITECH,), searches_per_day: int = 300,
        cooldown_days: int = 30) -> Platform:
    """A private copy of the example org with these targets and limits, its scanner the scripted one."""
    config = root / "config"
    shutil.copytree(EXAMPLE, config)
    path = config / "generate" / "targets.yaml"
    text = path.read_text(encoding="utf-8")
    text = _edit(text, "  searches_per_day: 300\n", f"  searches_per_day: {searches_per_day}\n")
    text = _edit(text, "  cooldown_days: 30\n", f"  cooldown_days: {cooldown_days}\n")
    path.write_text(text[: text.index("\ntargets:\n")] + "\ntargets:\n" + "".join(targets), encoding="utf-8")
    plat = build(config=config, db=f"sqlite:///{root / 'state.sqlite'}", state_dir=root)
    plat.__dict__["scanner"] = scanner  # the platform's scanner (a cached property) is the port: ours
    app_on(plat).seed_org(Caller.operator("seed"), users=6, accounts=20, leads=0, seed=11)
    return plat


def outreach_leads(plat: Platform) -> dict[str, Any]:
    """External id → lead, of every lead outbound signals made."""
    found = plat.crm.query_all(Query("Lead").where("LeadSource", "eq", LEAD_SOURCE))
    return {str(lead.External_Id__c): lead for lead in found}


def effects(plat: Platform) -> dict[str, Any]:
    """Everything a tick may leave behind, as counts and ids (the seeded history's own tasks left out)."""
    leads = outreach_leads(plat)
    spent, month = plat.ledger.spend(DAY.date())
    tasks = [str(t.Revloops_Key__c) for t in plat.crm.query_all(Query("Task"))]
    return {"scans": sorted(s.id for s in plat.ledger.scans()),
            "signals": sorted((s.id, len(s.sources), s.outreach) for s in plat.ledger.all_signals()),
            "leads": sorted(leads), "tasks": sorted(key for key in tasks if not key.startswith("seed11-")),
            "decisions": sorted(d.id for lead in leads.values() for d in plat.decisions.for_record(lead.Id, limit=50)),
            "sequences": len(plat.sequences.all()), "spent": (spent, month)}


def test_a_rerun_of_a_tick_records_nothing_twice(tmp_path: Path) -> None:
    def news(domain: str, _day: dt.date) -> list[FoundSignal]:
        return [report("Initech raises $40M Series B", dt.date(2025, 1, 13))] if domain == "initech.example" else []

    scanner = ScriptedScanner(news)
    plat = org(tmp_path, scanner, targets=(INITECH, LINDEN))
    app = app_on(plat)
    # 13 ticks: Initech (priority 2) first, then the two take turns, so Initech's first scan has 6 after it
    ran = app.run_ticks(OPS, start=DAY, ticks=13)
    assert [s.domain for s in ran.scans[:2]] == ["initech.example", "lindenpayments.example"]
    assert len(ran.outreach) == 1 and ran.new_signals == 1
    before, calls = effects(plat), len(scanner.calls)
    assert len(before["scans"]) == 13 and len(before["leads"]) == 1 and len(before["tasks"]) == 1

    again = app.run_ticks(OPS, start=DAY)  # the same forced tick: the engine answers the recorded run
    assert [s.id for s in again.scans] == [ran.scans[0].id]
    setup.launch(plat)
    try:  # the same minute run again under another run id (the schedule's tick, a late recovery): it runs
        rerun = start_once("signals-tick-rerun", tick_run, DAY.isoformat(), True).get_result()
    finally:
        setup.shutdown()
    assert [r["domain"] for r in rerun] == ["initech.example"]
    assert rerun[0]["new"] == [] and rerun[0]["outreach"] == ran.outreach[0]["signal_id"]  # the same run, queued
    target = find_target(targets_file(plat), "initech.example")
    direct = scan_target(plat, target, now=DAY, scan_id=f"scan:{DAY.isoformat()}:initech.example")
    assert direct.scan == plat.ledger.scans(domain="initech.example", limit=100)[-1]

    assert effects(plat) == before
    assert len(scanner.calls) == calls, "a re-run called the scanner (and spent) again"


def test_a_scan_step_rerun_after_its_outreach_mark_still_queues_the_outreach(tmp_path: Path) -> None:
    scanner = ScriptedScanner(lambda _d, _day: [report("Initech raises $40M Series B", dt.date(2025, 1, 13))])
    plat = org(tmp_path, scanner)
    target = find_target(targets_file(plat), "initech.example")
    scan_id = f"scan:{DAY.isoformat()}:initech.example"
    # the step's first attempt: its scan, the outreach due and its mark; then the worker died before the
    # engine kept the step's result
    assert scan_target(plat, target, now=DAY, scan_id=scan_id).new
    signal, _ = outreach_due(plat, "initech.example", DAY)
    assert signal is not None and plat.ledger.set_outreach(signal.id, run_key("outbound", signal.id), DAY)
    setup.launch(plat)
    try:  # the step again: it must queue the outreach it marked, or the account waits out a cool-down for none
        out = start_once("signals-scan-rerun", scan_run, "initech.example", DAY.isoformat(), scan_id).get_result()
        assert out["outreach"] == signal.id
        done = DBOS.retrieve_workflow(run_key("outbound", signal.id)).get_result()
    finally:
        setup.shutdown()
    assert done["signal_id"] == signal.id and sorted(outreach_leads(plat)) == [lead_key(signal.id)]
    assert len(scanner.calls) == 1


def test_a_scan_over_the_days_budget_is_skipped_and_the_next_day_scans(tmp_path: Path) -> None:
    scanner = ScriptedScanner()
    plat = org(tmp_path, scanner, searches_per_day=2)
    app = app_on(plat)
    day = app.run_ticks(OPS, start=DAY, ticks=3)
    assert [s.status for s in day.scans] == ["done", "done", "skipped"]
    skipped = plat.ledger.scans(domain="initech.example")[0]
    assert skipped.status == "skipped" and skipped.id == day.scans[2].id
    assert skipped.reason is not None and "over budget" in skipped.reason and "2/2 searches" in skipped.reason
    assert skipped.searches == 0 and skipped.usd == 0.0
    assert len(scanner.calls) == 2
    assert day.skipped == 1 and day.budget.searches == 2

    nxt = app.run_ticks(OPS, start=DAY + dt.timedelta(days=1))
    assert [s.status for s in nxt.scans] == ["done"]
    assert len(scanner.calls) == 3 and nxt.budget.searches == 1


def test_an_event_starts_one_outreach_however_many_outlets_report_it(tmp_path: Path) -> None:
    headline = "Initech raises $40M Series B"
    script = {DAY.date(): [report(headline, dt.date(2025, 1, 14))],
              DAY.date() + dt.timedelta(days=1): [report(f"{headline}, led by Foundry", dt.date(2025, 1, 13),
                                                         outlet="Ledger")],
              DAY.date() + dt.timedelta(days=2): [report("Initech names Dana Ortiz CRO", dt.date(2025, 1, 17),
                                                         kind="leadership_change")]}
    plat = org(tmp_path, ScriptedScanner(lambda _d, day: script.get(day, [])), cooldown_days=0)
    app = app_on(plat)
    runs = [app.run_ticks(OPS, start=DAY + dt.timedelta(days=i)) for i in range(3)]
    assert [len(r.outreach) for r in runs] == [1, 0, 1]
    assert runs[1].scans[0].folded == 1 and runs[1].new_signals == 0  # the second outlet: one more source
    first, _ = plat.ledger.signals(type="funding")
    assert len(first) == 1 and len(first[0].sources) == 2
    assert runs[1].scans[0].why is not None and "had its outreach" in runs[1].scans[0].why
    assert sorted(outreach_leads(plat)) == sorted(lead_key(r.outreach[0]["signal_id"]) for r in (runs[0], runs[2]))


def test_no_second_outreach_within_the_cool_down_and_one_after_it(tmp_path: Path) -> None:
    d0 = DAY.date()
    script = {d0: [report("Initech raises $40M Series B", d0 - dt.timedelta(days=1))],
              d0 + dt.timedelta(days=3): [report("Initech names Dana Ortiz CRO", d0 + dt.timedelta(days=3),
                                                 kind="leadership_change")],
              d0 + dt.timedelta(days=40): [report("Initech raises $90M Series C", d0 + dt.timedelta(days=39))]}
    plat = org(tmp_path, ScriptedScanner(lambda _d, day: script.get(day, [])), cooldown_days=30)
    app = app_on(plat)
    runs = [app.run_ticks(OPS, start=DAY + dt.timedelta(days=i)) for i in (0, 3, 40)]
    assert [len(r.outreach) for r in runs] == [1, 0, 1]
    assert runs[1].new_signals == 1 and app.account_signal_score(OPS, "initech.example", on=d0 + dt.timedelta(
        days=3)).score >= targets_file(plat).outreach.threshold  # over the threshold: only the cool-down held it
    assert runs[1].scans[0].why is not None and "cool-down" in runs[1].scans[0].why
    later = plat.ledger.get(runs[2].outreach[0]["signal_id"])
    assert later is not None and later.headline == "Initech raises $90M Series C"
    leads = outreach_leads(plat)
    assert len(leads) == 2
    tasks = [t for t in plat.crm.query_all(Query("Task")) if str(t.Revloops_Key__c).startswith("engage:")]
    assert sorted(t.WhoId for t in tasks) == sorted(lead.Id for lead in leads.values())


def test_the_outreach_lead_tells_the_story_from_the_news_item_to_the_first_email(tmp_path: Path) -> None:
    headline = "Initech raises $40M Series B"
    item = report(headline, dt.date(2025, 1, 13), outlet="Wire")
    plat = org(tmp_path, ScriptedScanner(lambda _d, _day: [item]))
    app = app_on(plat)
    ran = app.run_ticks(OPS, start=DAY)
    assert len(ran.outreach) == 1
    lead_id = ran.outreach[0]["lead_id"]
    story = {d.loop: d for d in app.explain(OPS, lead_id)}
    assert {"generate", "qualify", "route", "engage"} <= set(story)

    generate = story["generate"]
    assert generate.outcome == "outbound_signal"
    assert headline in generate.explanation and "Wire" in generate.explanation
    assert [s["url"] for s in generate.detail["sources"]] == [item.sources[0].url]
    assert generate.detail["signal"]["url"] == item.sources[0].url
    # the score the story gives is the account's on the tick's day, the one that crossed the threshold
    threshold = targets_file(plat).outreach.threshold
    assert generate.detail["score"] >= threshold
    assert generate.detail["score"] == app.account_signal_score(OPS, "initech.example", on=DAY.date()).score

    assert story["qualify"].detail["intent"] > 0  # the signal counted as intent
    assert story["route"].outcome == ran.outreach[0]["owner_id"] and str(story["route"].outcome).startswith("005")
    # the play is an outbound-signal play: one the signal's type selects (the example has one for funding and
    # the catch-all ``outbound-signal`` for any signal)
    engage = story["engage"]
    play = next(p for p in plat.config.require("plays", PlaysFile).plays if p.id == engage.outcome)
    assert "signal.type" in {leaf.field for leaf in leaves(play.when)}
    stored = plat.sequences.get(lead_id)
    assert stored is not None and stored.sequence["play_id"] == play.id
    first = stored.sequence["steps"][0]
    assert headline in f"{first['subject']} {first['body']}"


def test_a_scanner_that_stays_down_fails_the_scan_and_keeps_its_worst_case(tmp_path: Path) -> None:
    scanner = ScriptedScanner(failing=True)
    plat = org(tmp_path, scanner, targets=(INITECH, LINDEN))
    ran = app_on(plat).run_ticks(OPS, start=DAY, ticks=2)
    assert [(s.domain, s.status) for s in ran.scans] == [("initech.example", "failed"),
                                                          ("lindenpayments.example", "failed")]
    assert all(s.reason is not None and "unavailable" in s.reason for s in ran.scans)
    assert len(scanner.calls) == 2  # the scanner retries on its own; the tick takes its failure as the answer
    today, month = plat.ledger.spend(DAY.date())
    assert (today.searches, today.tokens) == (2 * WORST.searches, 2 * (WORST.input_tokens + WORST.output_tokens))
    assert abs(month.usd - 2 * WORST.usd) < 1e-9
    assert all(s.searches == WORST.searches and abs(s.usd - WORST.usd) < 1e-9 for s in plat.ledger.scans())
    assert plat.ledger.all_signals() == [] and ran.outreach == []
