"""Outbound signals, the parts under the flow: the decayed score (the column path, the per-signal path and the
explanation agree), the scan order, the ledger on the state database (folding by event, once-only marks, the
budget's reservation, also under concurrent reservers), and the text edits of ``generate/targets.yaml``."""

from __future__ import annotations

import datetime as dt
import io
import math
import multiprocessing
import random
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from revloops.adapters.sql.db import open_database
from revloops.adapters.sql.signals import SqlSignalLedger
from revloops.adapters.sql.tables import signal_budget
from revloops.config.loader import load_config
from revloops.core.errors import ConfigError, NotFound
from revloops.loops.generate.config import TargetsFile
from revloops.loops.generate.signals import Decay, explain, scan_order, scores_frame, scores_loop, signal_id
from revloops.loops.generate.targets_edit import _flow_value, add_target, remove_target
from revloops.ports.ledger import Budget, Spend, StoredScan, StoredSignal
from revloops.testing.postgres import PostgresServer
from tests.support.postgres import postgres  # noqa: F401  (the fixture)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme" / "config"
NOW = dt.date(2025, 1, 15)
AT = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
FOLD = 10
ROOMY = Budget(searches_per_day=10_000, tokens_per_day=10**9, usd_per_month=10_000.0)

# -- the decayed score ---------------------------------------------------------------------------------------

KNOWN = ("funding", "hiring_surge", "product_launch")
decays_st = st.dictionaries(st.sampled_from(KNOWN),
                            st.builds(Decay, st.floats(0, 1), st.floats(0.5, 3650, allow_nan=False)), max_size=3)
row_st = st.tuples(st.sampled_from(["a.example", "b.example", "c.example"]),
                   st.sampled_from([*KNOWN, "retired_type"]),  # a type the config no longer has counts nothing
                   st.floats(0, 1),
                   st.dates(NOW - dt.timedelta(days=2000), NOW + dt.timedelta(days=90)))  # future events too


def _frame(rows: list[tuple[str, str, float, dt.date]]) -> pl.DataFrame:
    return pl.DataFrame({"domain": [r[0] for r in rows], "type": [r[1] for r in rows],
                         "strength": [r[2] for r in rows], "event_date": [r[3] for r in rows]},
                        schema={"domain": pl.String, "type": pl.String, "strength": pl.Float64, "event_date": pl.Date})


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(row_st, max_size=40), decays=decays_st,
       now=st.dates(NOW - dt.timedelta(days=30), NOW + dt.timedelta(days=30)))
def test_the_column_score_the_per_signal_score_and_the_explanation_agree(
        rows: list[tuple[str, str, float, dt.date]], decays: dict[str, Decay], now: dt.date) -> None:
    looped = scores_loop(rows, decays, now)
    framed = {d: (s, n) for d, s, n in scores_frame(_frame(rows), decays, now).select("domain", "score", "signals")
              .iter_rows()}
    assert set(framed) == set(looped) == {r[0] for r in rows}
    for domain, score in looped.items():
        assert framed[domain][0] == pytest.approx(score, rel=1e-9, abs=1e-9)
        assert framed[domain][1] == sum(1 for r in rows if r[0] == domain)
        mine = [(f"sig{i}", kind, "h", strength, event) for i, (d, kind, strength, event) in enumerate(rows)
                if d == domain]
        total, terms = explain(mine, decays, now)
        assert total == pytest.approx(score, rel=1e-9, abs=1e-9)
        assert math.fsum(t.value for t in terms) == total
        assert [t.value for t in terms] == sorted((t.value for t in terms), reverse=True)
        assert all(t.type in decays for t in terms)


def test_a_signal_one_half_life_old_counts_half() -> None:
    decays = {"funding": Decay(weight=0.5, half_life_days=30)}
    rows = [("a.example", "funding", 0.8, NOW - dt.timedelta(days=30)),  # 0.5 * 0.8 * 0.5 = 0.2
            ("b.example", "funding", 0.8, NOW + dt.timedelta(days=5)),  # not yet happened: counts whole, 0.4
            ("b.example", "retired_type", 1.0, NOW)]  # a type the config dropped: nothing
    assert scores_loop(rows, decays, NOW) == {"a.example": pytest.approx(0.2, abs=1e-12),
                                              "b.example": pytest.approx(0.4, abs=1e-12)}
    framed = dict(scores_frame(_frame(rows), decays, NOW).select("domain", "score").iter_rows())
    assert framed == {"a.example": pytest.approx(0.2, abs=1e-12), "b.example": pytest.approx(0.4, abs=1e-12)}
    total, terms = explain([("s1", "funding", "Globex raises", 0.8, NOW - dt.timedelta(days=30))], decays, NOW)
    assert total == pytest.approx(0.2, abs=1e-12) and terms[0].age_days == 30
    assert terms[0].line() == "funding 0.50 × 0.80 × 0.5^(30/30) = 0.200 (Globex raises)"


# -- the scan order ------------------------------------------------------------------------------------------


def test_never_scanned_targets_come_first_by_priority_then_config_order() -> None:
    targets = [("a.example", 3), ("b.example", 1), ("c.example", 3), ("d.example", 2), ("e.example", 1)]
    last = {"b.example": AT - dt.timedelta(days=30)}  # waited longest of all, but was scanned once
    assert scan_order(targets, last, AT) == ["e.example", "d.example", "a.example", "c.example", "b.example"]


def test_priority_one_waiting_a_fifth_as_long_jumps_priority_five_without_starving_it() -> None:
    targets = [("slow.example", 5), ("vip.example", 1)]
    p5 = AT - dt.timedelta(minutes=100)
    assert scan_order(targets, {"slow.example": p5, "vip.example": AT - dt.timedelta(minutes=21)}, AT)[0] \
        == "vip.example"
    assert scan_order(targets, {"slow.example": p5, "vip.example": AT - dt.timedelta(minutes=20)}, AT)[0] \
        == "slow.example"  # a tie goes by config order
    assert scan_order(targets, {"slow.example": p5, "vip.example": AT - dt.timedelta(minutes=10)}, AT)[0] \
        == "slow.example"


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.none() | st.integers(0, 10_000)), min_size=1, max_size=20),
       st.randoms(use_true_random=False))
def test_the_scan_order_is_a_function_of_its_inputs(spec: list[tuple[int, int | None]], rnd: random.Random) -> None:
    targets = [(f"t{i}.example", p) for i, (p, _) in enumerate(spec)]
    items = [(f"t{i}.example", AT - dt.timedelta(minutes=m)) for i, (_, m) in enumerate(spec) if m is not None]
    shuffled = list(items)
    rnd.shuffle(shuffled)
    order = scan_order(targets, dict(items), AT)
    assert sorted(order) == sorted(d for d, _ in targets)
    assert order == scan_order(targets, dict(shuffled), AT)  # not the mapping's order
    never = [d for d, _ in targets if d not in dict(items)]
    assert order[: len(never)] == sorted(never, key=lambda d: (dict(targets)[d], int(d[1:].split(".")[0])))


# -- the ledger on SQLite ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state database at the latest schema, copied for each test (migrating each would take seconds)."""
    path = tmp_path_factory.mktemp("ledger") / "template.sqlite"
    open_database(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def ledger(migrated: Path, tmp_path: Path) -> Iterator[SqlSignalLedger]:
    shutil.copy(migrated, tmp_path / "state.sqlite")
    engine = open_database(f"sqlite:///{tmp_path / 'state.sqlite'}")
    yield SqlSignalLedger(engine)
    engine.dispose()


def report(headline: str, event: dt.date, *, url: str, kind: str = "funding", domain: str = "globex.example",
           confidence: float = 0.8) -> StoredSignal:
    """A signal as one outlet reported it."""
    return StoredSignal(id=signal_id(domain, kind, event, headline), domain=domain, account_id=None, type=kind,
                        headline=headline, event_date=event,
                        sources=[{"url": url, "title": headline, "outlet": url.split("/")[2], "published": None,
                                  "quote": headline}],
                        strength=0.9, confidence=confidence, provider="fake", synthetic=False, scan_id="scan:1",
                        first_seen=AT)


def test_one_event_from_two_outlets_is_one_signal_with_two_sources(ledger: SqlSignalLedger) -> None:
    first, what = ledger.add(report("Globex raises $40M Series B", NOW, url="https://wire.example/a"), fold_days=FOLD)
    assert what == "new"
    second = report("Globex closes a $40 million round led by Foundry", NOW + dt.timedelta(days=3),
                    url="https://ledger.example/b", confidence=0.95)
    folded, what = ledger.add(second, fold_days=FOLD)
    assert what == "folded" and folded.id == first.id
    assert [s["url"] for s in folded.sources] == ["https://wire.example/a", "https://ledger.example/b"]
    assert folded.confidence == 0.95 and folded.headline == first.headline
    assert ledger.get(first.id) == folded and ledger.get(second.id) is None
    assert ledger.signals()[1] == 1

    for again in (second, report("Globex raises $40M Series B", NOW, url="https://wire.example/a")):
        stored, what = ledger.add(again, fold_days=FOLD)
        assert what == "known" and stored == folded
    assert ledger.all_signals() == [folded]


def test_another_type_or_a_date_beyond_the_fold_window_is_another_signal(ledger: SqlSignalLedger) -> None:
    base, _ = ledger.add(report("Globex raises $40M", NOW, url="https://wire.example/a"), fold_days=FOLD)
    _, what = ledger.add(report("Globex raises $40M", NOW, url="https://wire.example/b", kind="hiring_surge"),
                         fold_days=FOLD)
    assert what == "new"
    _, what = ledger.add(report("Globex raises $40M", NOW, url="https://wire.example/c", domain="initech.example"),
                         fold_days=FOLD)
    assert what == "new"
    edge, what = ledger.add(report("Globex funding", NOW + dt.timedelta(days=FOLD), url="https://x.example/d"),
                            fold_days=FOLD)
    assert what == "folded" and edge.id == base.id  # fold_days apart is still the same event
    beyond, what = ledger.add(report("Globex funding again", NOW - dt.timedelta(days=FOLD + 1),
                                     url="https://x.example/e"), fold_days=FOLD)
    assert what == "new" and beyond.id != base.id
    assert ledger.signals()[1] == 4
    assert ledger.signals(domain="globex.example", type="funding")[1] == 2


def test_outreach_is_marked_once_and_a_scan_recorded_once(ledger: SqlSignalLedger) -> None:
    sig, _ = ledger.add(report("Globex raises $40M", NOW, url="https://wire.example/a"), fold_days=FOLD)
    assert ledger.set_outreach(sig.id, "outbound-1", AT) is True
    assert ledger.set_outreach(sig.id, "outbound-2", AT + dt.timedelta(hours=1)) is False
    stored = ledger.get(sig.id)
    assert stored is not None and (stored.outreach, stored.outreach_at) == ("outbound-1", AT)
    assert ledger.outreach_since("globex.example", AT) == [stored]
    assert ledger.outreach_since("globex.example", AT + dt.timedelta(seconds=1)) == []

    scan = StoredScan(id="scan:t1:globex.example", domain="globex.example", at=AT, status="done", provider="fake",
                      found=2, kept=1, folded=1, dropped=[{"reason": "no citation"}], searches=2, usd=0.02)
    assert ledger.record_scan(scan) is True
    assert ledger.record_scan(StoredScan(id=scan.id, domain=scan.domain, at=AT, status="failed")) is False
    assert ledger.scans() == [scan]


def test_last_scanned_counts_done_and_failed_scans_not_skipped_ones(ledger: SqlSignalLedger) -> None:
    def scan(domain: str, minutes: int, status: str) -> StoredScan:
        return StoredScan(id=f"scan:{minutes}:{domain}", domain=domain, at=AT + dt.timedelta(minutes=minutes),
                          status=status, reason="over budget" if status == "skipped" else None)

    for s in (scan("a.example", 0, "done"), scan("a.example", 5, "skipped"), scan("b.example", 0, "skipped"),
              scan("c.example", 0, "done"), scan("c.example", 5, "failed")):
        ledger.record_scan(s)
    assert dict(ledger.last_scanned()) == {"a.example": AT, "c.example": AT + dt.timedelta(minutes=5)}


# -- the budget ----------------------------------------------------------------------------------------------


def test_reservations_stop_at_the_days_searches_and_take_nothing_when_refused(ledger: SqlSignalLedger) -> None:
    budget = Budget(searches_per_day=3, tokens_per_day=10**6, usd_per_month=100.0)
    assert [ledger.reserve(NOW, 1, 100, 0.01, budget) for _ in range(4)] == [True, True, True, False]
    day, month = ledger.spend(NOW)
    assert (day.searches, day.tokens) == (3, 300) and month.usd == pytest.approx(0.03)
    assert ledger.reserve(NOW + dt.timedelta(days=1), 3, 100, 0.01, budget) is True  # a new day
    assert ledger.reserve(NOW, 0, 10**6, 0.0, budget) is False  # tokens count too
    assert ledger.spend(NOW)[0] == day


def test_the_months_dollars_stop_reservations_on_any_day_of_it(ledger: SqlSignalLedger) -> None:
    budget = Budget(searches_per_day=100, tokens_per_day=10**6, usd_per_month=0.05)
    assert ledger.reserve(NOW, 1, 10, 0.03, budget) is True
    later = NOW + dt.timedelta(days=3)
    assert ledger.reserve(later, 1, 10, 0.03, budget) is False
    assert ledger.spend(later) == (Spend(later.isoformat()), Spend("2025-01", usd=pytest.approx(0.03)))
    assert ledger.reserve(dt.date(2025, 2, 1), 1, 10, 0.03, budget) is True  # a new month


def test_settling_gives_back_what_the_scan_did_not_use(ledger: SqlSignalLedger) -> None:
    budget = Budget(searches_per_day=3, tokens_per_day=2000, usd_per_month=0.06)
    assert ledger.reserve(NOW, 3, 2000, 0.05, budget) is True
    assert ledger.reserve(NOW, 1, 1, 0.001, budget) is False
    ledger.settle(NOW, (3, 2000, 0.05), (1, 300, 0.01))
    day, month = ledger.spend(NOW)
    assert (day.period, day.searches, day.tokens) == ("2025-01-15", 1, 300)
    assert (month.period, month.usd) == ("2025-01", pytest.approx(0.01))
    assert ledger.reserve(NOW, 2, 1700, 0.05, budget) is True  # what came back can be reserved again
    assert ledger.spend(dt.date(2024, 12, 31)) == (Spend("2024-12-31"), Spend("2024-12"))


# -- concurrent reservers ------------------------------------------------------------------------------------

K, THREADS = 7, 16


def _stored_searches(engine: sa.Engine, day: dt.date) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(signal_budget.c.searches)
                                .where(signal_budget.c.period == day.isoformat())).scalar_one())


def _race_threads(ledger: SqlSignalLedger, budget: Budget) -> list[bool]:
    start = threading.Barrier(THREADS)
    results: list[bool] = []
    lock = threading.Lock()

    def one() -> None:
        start.wait()
        took = ledger.reserve(NOW, 1, 0, 0.0, budget)
        with lock:
            results.append(took)

    threads = [threading.Thread(target=one) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


def test_threads_reserving_the_last_searches_on_sqlite_take_exactly_the_budget(ledger: SqlSignalLedger) -> None:
    budget = Budget(searches_per_day=K, tokens_per_day=10**6, usd_per_month=100.0)
    results = _race_threads(ledger, budget)
    assert len(results) == THREADS and results.count(True) == K
    assert _stored_searches(ledger.engine, NOW) == K


@pytest.fixture
def pg_ledger(postgres: PostgresServer) -> Iterator[SqlSignalLedger]:  # noqa: F811
    postgres.reset()
    engine = open_database(postgres.url())
    yield SqlSignalLedger(engine)
    engine.dispose()


def _reserve_in_process(url: str, day: dt.date, tries: int, budget: Budget, start: Any, out: Any) -> None:
    """One process's reserver: ``tries`` reservations of one search, once the other process is ready too."""
    engine = open_database(url)
    try:
        ledger = SqlSignalLedger(engine)
        start.wait(timeout=60)
        out.put(sum(ledger.reserve(day, 1, 0, 0.0, budget) for _ in range(tries)))
    finally:
        engine.dispose()


def test_threads_and_processes_reserving_on_postgres_take_exactly_the_budget(
        pg_ledger: SqlSignalLedger, postgres: PostgresServer) -> None:  # noqa: F811
    budget = Budget(searches_per_day=K, tokens_per_day=10**6, usd_per_month=100.0)
    results = _race_threads(pg_ledger, budget)
    assert len(results) == THREADS and results.count(True) == K
    assert _stored_searches(pg_ledger.engine, NOW) == K

    later = NOW + dt.timedelta(days=1)
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()
    tries = 2 * K
    procs = [ctx.Process(target=_reserve_in_process, args=(postgres.url(), later, tries, budget, start, out))
             for _ in range(2)]
    for p in procs:
        p.start()
    try:
        taken = [out.get(timeout=90) for _ in procs]
        for p in procs:
            p.join(timeout=30)
            assert p.exitcode == 0
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join(timeout=10)
    assert sum(taken) == K
    assert _stored_searches(pg_ledger.engine, later) == K


# -- editing generate/targets.yaml ---------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A private copy of the example org's config."""
    shutil.copytree(EXAMPLE, tmp_path / "config")
    return tmp_path / "config"


def _targets(root: Path) -> Path:
    return root / "generate" / "targets.yaml"


def test_adding_then_removing_a_target_gives_back_the_file_byte_for_byte(config: Path) -> None:
    before = _targets(config).read_bytes()
    name = 'Zoë "Nova" Labs: 🚀'
    added = add_target(config, name=name, domain="nova-labs.example", priority=2, territory="NA_East")
    assert added.written and added.diff.count("\n+  - ") == 1
    found = [t for t in load_config(config).require("targets", TargetsFile).targets if t.domain == "nova-labs.example"]
    assert [(t.name, t.priority, t.territory) for t in found] == [(name, 2, "NA_East")]
    removed = remove_target(config, "nova-labs.example")
    assert removed.written and _targets(config).read_bytes() == before


def test_the_round_trip_holds_when_the_last_target_is_a_block_and_the_list_is_not_last(config: Path) -> None:
    path = _targets(config)
    text = path.read_text(encoding="utf-8")
    head, rest = text[: text.index("\noutreach:\n")], text[text.index("\noutreach:\n"):]
    rest, _ = rest[: rest.index("\ntargets:\n")], rest[rest.index("\ntargets:\n"):]
    path.write_text(head + "\ntargets:\n  - {name: Globex, domain: globex.example, priority: 1}\n"
                    "  - name: Initech\n    domain: initech.example\n    signals:\n      - funding\n"
                    "  # more to come\n" + rest, encoding="utf-8")
    before = path.read_bytes()
    add_target(config, name="Hooli", domain="hooli.example")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[lines.index("      - funding") + 1] == '  - {name: "Hooli", domain: "hooli.example", priority: 3}'
    remove_target(config, "hooli.example")
    assert path.read_bytes() == before


def test_a_target_in_an_unknown_territory_is_refused_naming_its_line_and_the_file_stays(config: Path) -> None:
    path = _targets(config)
    before = path.read_bytes()
    with pytest.raises(ConfigError) as err:
        add_target(config, name="Atlantis Co", domain="atlantis.example", territory="Atlantis")
    line = before.decode().count("\n") + 1  # the line it was appended on
    problems = getattr(err.value, "errors", [err.value])
    assert any(f"generate/targets.yaml:{line}:" in str(p.location) and "Atlantis" in p.message for p in problems)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["targets.yaml"]  # no temp file left behind


def test_removing_a_domain_that_is_no_target_is_not_found(config: Path) -> None:
    before = _targets(config).read_bytes()
    with pytest.raises(NotFound):
        remove_target(config, "nobody.example")
    assert _targets(config).read_bytes() == before


@settings(deadline=None)
@given(st.text(max_size=40))
def test_a_value_written_into_the_targets_file_reads_back_as_it_was(value: str) -> None:
    assert YAML(typ="rt").load(io.StringIO(f"{{name: {_flow_value(value)}}}"))["name"] == value
