"""Route's batch paths end to end over stored leads: what `revloops route preview --from-crm` and its diff cost a
user, against the floor of reading the same columns, and against the path before the columnar reader. One command,
every figure measured side by side in one run.

    python bench/route_e2e.py                    # 1,000,000 leads (SQLite), the old path on 50,000
    python bench/route_e2e.py --leads 200000 --old 20000   # quicker
    python bench/route_e2e.py --big 5000000      # also a 5,000,000-lead preview (chunked), its time and peak memory
    python bench/route_e2e.py --postgres         # the same on the throwaway Postgres server (Debian's postgresql)
    python bench/route_e2e.py --assign 1000000   # also territory assign over that many stored accounts

Set-up: the example org (examples/acme/config) is seeded with 20 users and 2,000 accounts; a template of 20,000
realistic seeded leads is replicated to N (each copy its own Id, its own email address, a creation date spread over
three years), written straight into the embedded CRM's table. Each figure then runs in a fresh child process (so
its peak memory is its own, and nothing is cached from the one before):

- floor: ``crm.read_columns`` of exactly the columns the preview reads, every chunk into a frame;
- preview: ``Revloops.preview_routing(from_crm=True)``: read, contexts, resolve (daily caps per creation day),
  distribution: the application-layer action behind the CLI and the API;
- diff: the same with a proposed rules file (two rules changed), both sides routed;
- old: the path before this change on the first ``--old`` leads: every record read as a model, each context built
  per record, one frame per day, and a second pass without caps to count capped records; given per record.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import polars as pl  # noqa: E402

CONFIG = ROOT / "examples" / "acme" / "config"
TEMPLATE = 20_000
SPAN_DAYS = 3 * 365


def _app(db: str) -> Any:
    from revloops.app.context import open_app

    return open_app(CONFIG, db)


def _operator() -> Any:
    from revloops.core.identity import Caller

    return Caller.operator()


# -- set-up ---------------------------------------------------------------------------------------------------
def _template(seed: int) -> pl.DataFrame:
    from revloops.core.frames import records_to_frame
    from revloops.core.records import Lead
    from revloops.loops.generate.seed import generate_org

    org = generate_org(users=20, accounts=2000, leads=TEMPLATE, seed=seed, history=False)
    columns = [c for c in Lead.model_fields if c not in ("Id",)]
    return records_to_frame("Lead", org.leads, columns)


def _replicate(template: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    from revloops.core.ids import checksum

    rng = random.Random(seed)
    copies = -(-n // template.height)
    frame = pl.concat([template] * copies).head(n)
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    offsets = [rng.randrange(SPAN_DAYS * 86_400) for _ in range(n)]
    ids = [f"00Q8d{i:010d}" for i in range(n)]
    email = pl.col("Email")
    return frame.with_columns(
        pl.Series("Id", [i + checksum(i) for i in ids]),
        pl.when(email.is_null()).then(None).otherwise(
            pl.format("{}{}@{}", email.str.split("@").list.first(), pl.int_range(n), email.str.split("@").list.last())
        ).alias("Email"),
        pl.Series("CreatedDate", [start + dt.timedelta(seconds=o) for o in offsets]).dt.cast_time_unit("us"),
        pl.lit(None, pl.String).alias("External_Id__c"),
    ).sort("CreatedDate")


def seed_store(db: str, leads: int, seed: int = 7) -> None:
    """The example org with ``leads`` stored leads, written straight into the table."""
    from revloops.adapters.sql.db import make_engine
    from revloops.adapters.sql.tables import SOBJECT_TABLES

    app = _app(db)
    app.seed_org(_operator(), users=20, accounts=2000, leads=0, seed=seed, history=False)
    frame = _replicate(_template(seed), leads, seed)
    engine = make_engine(db)
    table = SOBJECT_TABLES["Lead"]
    frame = frame.select([c.name for c in table.columns if c.name in frame.columns])
    if engine.url.get_backend_name() == "postgresql":
        import psycopg

        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            with cur.copy(f"COPY {table.name} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy_in:
                for part in frame.iter_slices(200_000):
                    copy_in.write(part.write_csv(include_header=False, datetime_format="%Y-%m-%d %H:%M:%S%z"))
            conn.commit()
    else:  # SQLite: the values as SQLAlchemy stores them, through the driver in one transaction
        stored = frame.with_columns(
            *(pl.col(c).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
              for c, t in frame.schema.items() if isinstance(t, pl.Datetime)),
            *(pl.col(c).dt.strftime("%Y-%m-%d") for c, t in frame.schema.items() if t == pl.Date),
            *(pl.col(c).cast(pl.Int8) for c, t in frame.schema.items() if t == pl.Boolean))
        cols = ", ".join(f'"{c}"' for c in stored.columns)
        marks = ", ".join("?" for _ in stored.columns)
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for part in stored.iter_slices(100_000):
                cursor.executemany(f"INSERT INTO {table.name} ({cols}) VALUES ({marks})", part.rows())
            raw.commit()
        finally:
            raw.close()
    engine.dispose()


# -- the figures (each in a child process) --------------------------------------------------------------------
def _proposal() -> dict[str, Any]:
    """The example rules with two pools changed: EMEA mid-market leads to the NA SDRs, international SMB leads to
    the SMB AEs."""
    from revloops.config.yamlfile import load_yaml

    rules = copy.deepcopy(load_yaml(CONFIG / "rules.yaml", "rules.yaml").data)
    for rule in rules["rules"]:
        pool = {"mid-market-emea": "na-sdr", "smb-intl": "smb-ae"}.get(rule["id"])
        if pool is not None:
            rule["action"] = {"type": "round_robin", "pool": pool}
    return dict(rules)


def figure(name: str, db: str, limit: int | None) -> dict[str, Any]:
    from revloops.app.route import Proposal, RecordSource
    from revloops.loops.route.flow import BatchRouter, route_env

    app = _app(db)
    caller = _operator()
    app.platform.config.version  # noqa: B018 - the config loads before the clock starts, as a CLI has it
    source = RecordSource(from_crm=True, limit=limit)
    start = time.perf_counter()
    if name == "floor":
        router = BatchRouter(route_env(app.platform), "Lead", {}, None)
        start = time.perf_counter()  # the snapshot above is the preview's work, not the floor's
        rows = sum(f.height for f in app.platform.crm.read_columns("Lead", router.columns, limit=limit,
                                                                   created_order=True))
        out: dict[str, Any] = {"rows": rows, "columns": len(router.columns)}
    elif name == "preview":
        result = app.preview_routing(caller, source)
        out = {"rows": result.records, "rules": len(result.preview.by_rule)}
    elif name == "diff":
        result = app.preview_routing(caller, source, Proposal(rules=_proposal()))
        out = {"rows": result.records, "moves": len(result.moves or [])}
    elif name == "old":
        out = {"rows": _old_preview(app, limit)}
    else:
        raise SystemExit(f"unknown figure {name}")
    out["seconds"] = time.perf_counter() - start
    out["peak_mb"] = _peak_mb()
    # the SQLite reader's child process (an upper bound: ru_maxrss counts the forked copy before exec)
    out["reader_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def _peak_mb() -> float:
    """This process's peak resident memory since it started (``VmHWM``: unlike ``ru_maxrss`` it does not carry
    the parent's peak over ``exec``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _old_preview(app: Any, limit: int | None) -> int:
    """The preview before the columnar reader (as it was): records as models, a context per record, one frame
    per creation day, and a second batch pass with caps lifted to count the capped records."""
    from revloops.core.rotation import InMemoryRotation
    from revloops.core.rules.batch import contexts_to_frame
    from revloops.core.rules.resolve_batch import frame_fields
    from revloops.loops.route.logic import resolve_batch
    from revloops.ports.crm import Query

    plat = app.platform
    from revloops.loops.route.flow import route_env

    env = route_env(plat)
    records = []
    for rec in plat.crm.query_all(Query("Lead")):
        records.append(rec)
        if limit is not None and len(records) >= limit:
            break
    compiled = env.compiled("Lead")

    def run(caps: bool) -> list[Any]:
        rotation = InMemoryRotation(dict(plat.rotation.states()))
        contexts = [env.context(r, "Lead") for r in records]
        days: dict[dt.date, list[int]] = {}
        for i, rec in enumerate(records):
            days.setdefault(rec.CreatedDate.date() if rec.CreatedDate else dt.date.today(), []).append(i)
        rule_ids: list[Any] = [None] * len(records)
        for day in sorted(days):
            rows = days[day]
            handlers = env.handlers(rotation, day, caps=caps)
            frame = contexts_to_frame([contexts[i] for i in rows], frame_fields(compiled, handlers))
            out = resolve_batch(compiled, frame, handlers)
            for k, i in enumerate(rows):
                rule_ids[i] = out.rule_ids[k]
        return rule_ids

    capped, free = run(True), run(False)
    assert len(capped) == len(free)
    return len(records)


def _child(name: str, db: str, limit: int | None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--figure", name, "--db", db]
    if limit is not None:
        cmd += ["--limit", str(limit)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _timed(what: str, fn: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    out = fn()
    print(f"  {what}: {time.perf_counter() - start:.1f} s", flush=True)
    return out


def run(db: str, leads: int, old: int, label: str) -> dict[str, Any]:
    print(f"{label}: {leads:,} stored leads (load {_load()})", flush=True)
    _timed("seed", lambda: seed_store(db, leads))
    figs = {name: _child(name, db, None) for name in ("floor", "preview", "diff")}
    if old:
        figs["old"] = _child("old", db, old)
    floor = figs["floor"]["seconds"]
    new_per = figs["preview"]["seconds"] / figs["preview"]["rows"]
    print(f"  floor   read {figs['floor']['columns']} columns of {figs['floor']['rows']:,} leads: {floor:.2f} s "
          f"(peak {figs['floor']['peak_mb']:.0f} MB)")
    print(f"  preview end to end: {figs['preview']['seconds']:.2f} s = {figs['preview']['seconds'] / floor:.2f}x "
          f"the floor (target <= 3x), peak {figs['preview']['peak_mb']:.0f} MB (target < 2048; the reader process "
          f"at most {figs['preview']['reader_mb']:.0f} MB)")
    print(f"  diff of two configs: {figs['diff']['seconds']:.2f} s = {figs['diff']['seconds'] / floor:.2f}x the "
          f"floor (target <= 4x), {figs['diff']['moves']:,} moves, peak {figs['diff']['peak_mb']:.0f} MB")
    if old:
        old_per = figs["old"]["seconds"] / figs["old"]["rows"]
        print(f"  old path on {figs['old']['rows']:,} leads: {figs['old']['seconds']:.2f} s = {old_per * 1e6:.1f} µs "
              f"a lead; now {new_per * 1e6:.2f} µs a lead: {old_per / new_per:.0f}x faster per record (target >= 50x)")
    print(f"  load after: {_load()}", flush=True)
    return figs


def big(db: str, leads: int) -> None:
    print(f"big: {leads:,} stored leads (load {_load()})", flush=True)
    _timed("seed", lambda: seed_store(db, leads))
    fig = _child("preview", db, None)
    print(f"  preview end to end: {fig['seconds']:.1f} s for {fig['rows']:,} leads, peak {fig['peak_mb']:.0f} MB "
          f"(chunks of 250,000; the reader process at most {fig['reader_mb']:.0f} MB)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--old", type=int, default=50_000, help="leads for the old path (0: skip it)")
    parser.add_argument("--big", type=int, default=0)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--assign", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="200,000 leads, the old path on 10,000")
    parser.add_argument("--figure")
    parser.add_argument("--db")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    if args.figure:
        print(json.dumps(figure(args.figure, args.db, args.limit)))
        return
    if args.quick:
        args.leads, args.old = min(args.leads, 200_000), min(args.old, 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/state.db", args.leads, args.old, "SQLite")
        if args.big:
            big(f"sqlite:///{tmp}/big.db", args.big)
        if args.assign:
            _assign(f"sqlite:///{tmp}/assign.db", args.assign)
    if args.postgres:
        from revloops.testing.postgres import throwaway_postgres

        with throwaway_postgres() as server:
            run(server.url(), args.leads, args.old, "Postgres")
            if args.assign:
                server.reset()
                _assign(server.url(), args.assign)


def _assign(db: str, accounts: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import assign_e2e  # type: ignore[import-not-found]

    print(f"assign: {accounts:,} stored accounts (load {_load()})", flush=True)
    assign_e2e.main_for(db, accounts)


if __name__ == "__main__":
    main()
