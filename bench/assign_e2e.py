"""Deploy benchmark: ``territories assign`` end to end over stored accounts, against the floor of reading them.

    python bench/assign_e2e.py                       # 1,000,000 accounts in the embedded CRM (SQLite file)
    python bench/assign_e2e.py --accounts 100000     # a shorter run
    python bench/assign_e2e.py --postgres            # the embedded CRM on a throwaway Postgres server
    python bench/assign_e2e.py --settled             # also a second run, the first one's writes stored

Figures, measured side by side in this one process on the same stored accounts (best of ``--repeat``):
  1. the floor: reading the Account columns the assign reads (``crm.read_columns``) into frames;
  2. the plan end to end through the application layer (``app.assign_territories(caller, dry_run=True)``):
     the columnar reads of accounts, associations and exclusions, matching (the gazetteer resolver for the
     unclear addresses), the frame diff against the CRM and the plan id.
Target: plan <= 3x the floor for 1,000,000 accounts. The first run has every account to assign (a create and
a status update each); with ``--settled`` the plan's writes are then stored straight into the tables (what an
apply leaves) and both figures are taken again: the plan then also reads every association, and writes nothing.

The accounts are written straight into the embedded CRM's table (the table's Core insert compiled once, run as
executemany 100,000 rows a transaction; COPY on Postgres), deterministic for a seed, with addresses spelled the
ways people type them against the example org's territories (examples/acme/config): most match a territory, a
few need the resolver, some match none.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from revloops.adapters.sql.tables import SOBJECT_TABLES  # noqa: E402
from revloops.app.context import open_app  # noqa: E402
from revloops.core.identity import Caller  # noqa: E402
from revloops.core.ids import KEY_PREFIX  # noqa: E402
from revloops.loops.deploy import flow  # noqa: E402
from revloops.loops.deploy.flow import RULE_CAUSE  # noqa: E402
from revloops.loops.deploy.resolver import GeoQuestion  # noqa: E402

EXAMPLE = ROOT / "examples" / "acme" / "config"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SPACE = 62 ** 10
_STRIDE = 3_486_784_401  # coprime with 62: i -> i * stride mod 62**10 is a bijection, so ids are unique
_ROWS_PER_TRANSACTION = 100_000

# (country spellings, [(state, [postal codes], city)]) per market of the example org's territories
_MARKETS: list[tuple[tuple[str | None, ...], list[tuple[str | None, tuple[str, ...], str | None]], int]] = [
    (("USA", "US", "United States", "U.S.A.", "United States of America", "usa"), [
        ("CA", ("94105", "94107", "90012", "95113"), "San Francisco"), ("California", ("90001", "92101"), "Los Angeles"),
        ("WA", ("98101", "98109"), "Seattle"), ("Oregon", ("97201",), "Portland"), ("CO", ("80202",), "Denver"),
        ("TX", ("73301", "75201", "77002"), "Austin"), ("IL", ("60601", "60606"), "Chicago"),
        ("Minnesota", ("55401",), "Minneapolis"), ("OH", ("43215",), "Columbus"), ("MI", ("48226",), "Detroit"),
        ("NY", ("10001", "10013", "10118"), "New York"), ("MA", ("02134", "02110"), "Boston"),
        ("GA", ("30301", "30303"), "Atlanta"), ("FL", ("33101",), "Miami"), ("NC", ("27601",), "Raleigh"),
        ("Virginia", ("22201",), "Arlington"), ("PA", ("19103",), "Philadelphia"), (None, (), "Chicago"),
    ], 46),
    (("Canada", "CA", "CAN"), [
        ("ON", ("M5V 2T6", "M5H 2N2"), "Toronto"), ("Quebec", ("H3B 4W8",), "Montreal"),
        ("BC", ("V6B 1A1",), "Vancouver"), (None, (), "Calgary"),
    ], 7),
    (("United Kingdom", "UK", "GB", "Great Britain", "England"), [
        (None, ("SW1A 1AA", "EC1A 1BB", "E1 6AN"), "London"), (None, ("M1 1AE",), "Manchester"),
        ("Scotland", ("EH1 1YZ",), "Edinburgh"),
    ], 9),
    (("Ireland", "Eire"), [(None, ("D02 X285",), "Dublin"), (None, (), "Cork")], 2),
    (("Germany", "Deutschland", "DE"), [
        ("Bavaria", ("80331", "80333"), "Munich"), ("Berlin", ("10115", "10117"), "Berlin"),
        (None, ("20095",), "Hamburg"),
    ], 7),
    (("Austria", "Österreich"), [(None, ("1010",), "Wien")], 1),
    (("Switzerland", "Schweiz", "CH"), [(None, ("8001",), "Zurich"), (None, ("1201",), "Geneva")], 2),
    (("France", "FR"), [(None, ("75001", "75008"), "Paris"), (None, ("69001",), "Lyon")], 5),
    (("Belgium",), [(None, ("1000",), "Brussels")], 1),
    (("Sweden", "Sverige"), [(None, ("111 20",), "Stockholm")], 2),
    (("Norway", "Denmark", "Finland"), [(None, (), None)], 2),
    (("Australia", "AU"), [("NSW", ("2000",), "Sydney"), ("VIC", ("3000",), "Melbourne")], 4),
    (("New Zealand",), [(None, ("1010",), "Auckland")], 1),
    (("Japan", "JP", "Nippon"), [(None, ("100-0001",), "Tokyo"), (None, (), "Osaka")], 3),
    (("Singapore", "SG"), [(None, ("018989",), "Singapore")], 2),
    (("Malaysia", "Thailand", "Vietnam"), [(None, (), None)], 1),
    (("Brazil", "India", "Mexico"), [(None, (), None)], 2),  # no territory: pending:no_match
    ((None,), [  # unclear: the resolver reads them
        ("Georgia", (), None), (None, (), "Valencia"), (None, (), "London"), ("Georgia", (), "Atlanta"),
        (None, (), None),
    ], 2),
    (("Germany",), [("CA", (), None)], 1),  # contradictory: ambiguous
]
_INDUSTRIES = ("Software", "Manufacturing", "Retail", "Financial Services", "Healthcare", "Logistics", None)
_WORDS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell",
          "Cyberdyne", "Aperture", "Wonka", "Gringotts", "Oscorp", "Massive", "Dynamic", "Nimbus")
_SUFFIXES = ("Inc", "GmbH", "Ltd", "SA", "KK", "Pty", "LLC", "AG", "BV", "")


def account_ids(start: int, n: int, sobject: str = "Account") -> list[str]:
    """The 18-character ids of bench records ``start .. start + n``: the object's key prefix, ``8d`` and a
    scrambled base-62 body (unique, and not in insertion order, as real ids are not), and the checksum."""
    values = (np.arange(start, start + n, dtype=np.int64) * _STRIDE + 12_345) % _SPACE
    chars = np.empty((n, 18), dtype=np.uint8)
    chars[:, :5] = np.frombuffer((KEY_PREFIX[sobject] + "8d").encode(), dtype=np.uint8)
    alphabet = np.frombuffer(_BASE62.encode(), dtype=np.uint8)
    for k in range(10):
        values, digit = np.divmod(values, 62)
        chars[:, 5 + k] = alphabet[digit]
    suffix = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)
    upper = (chars[:, :15] >= ord("A")) & (chars[:, :15] <= ord("Z"))
    weights = 1 << np.arange(5)
    for chunk in range(3):
        chars[:, 15 + chunk] = suffix[upper[:, chunk * 5: chunk * 5 + 5] @ weights]
    return np.ascontiguousarray(chars).view("S18").ravel().astype(str).tolist()  # type: ignore[no-any-return]


def _addresses() -> list[tuple[str | None, str | None, str | None, str | None]]:
    """Every address the bench writes, repeated by its market's weight (so picking one uniformly is weighted)."""
    out: list[tuple[str | None, str | None, str | None, str | None]] = []
    for countries, places, weight in _MARKETS:
        combos = [(c, s, p, city) for c in countries for s, postals, city in places for p in (postals or (None,))]
        per = max(1, round(weight * 60 / len(combos)))
        out.extend(combos * per)
    return out


_CREATED = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _columns(start: int, n: int, seed: int) -> dict[str, list[Any]]:
    """The columns of accounts ``start .. start + n`` (the same for a seed however the rows are chunked)."""
    rng = np.random.default_rng([seed, start])
    addresses = _addresses()
    picked = [addresses[k] for k in rng.integers(len(addresses), size=n).tolist()]
    country, state, postal, city = (list(c) for c in zip(*picked, strict=True))
    for k in np.flatnonzero(rng.random(n) < 0.15).tolist():
        postal[k] = None  # people leave it out
    w, s = len(_WORDS), len(_SUFFIXES)
    rows = range(start, start + n)
    return {
        "Id": account_ids(start, n),
        "Name": [f"{_WORDS[i % w]} {_WORDS[(i // w) % w]} {i} {_SUFFIXES[i % s]}".rstrip() for i in rows],
        "Website": [f"https://co{i}.example.com" for i in rows],
        "Industry": [_INDUSTRIES[i % len(_INDUSTRIES)] for i in rows],
        "NumberOfEmployees": rng.choice(np.array([5, 40, 250, 1200, 9000]), size=n).tolist(),
        "BillingCountry": country, "BillingState": state, "BillingPostalCode": postal, "BillingCity": city,
        "CreatedDate": [_CREATED] * n, "LastModifiedDate": [_CREATED] * n, "SystemModstamp": [_CREATED] * n,
    }


def seed_accounts(engine: sa.Engine, n: int, seed: int) -> None:
    """Write ``n`` deterministic accounts straight into the embedded CRM's Account table.

    SQLite gets the table's insert as one executemany per 100,000 rows, each in its own transaction (values
    bound the way SQLAlchemy binds them, once per distinct value); Postgres gets COPY through psycopg.
    """
    table = SOBJECT_TABLES["Account"]
    names = [c.name for c in table.c]
    if engine.url.get_backend_name() == "postgresql":
        _copy(engine, table, names, n, seed)
        return
    insert = str(table.insert().compile(dialect=engine.dialect, column_keys=names))
    bind = {c.name: c.type.dialect_impl(engine.dialect).bind_processor(engine.dialect) for c in table.c}
    for start in range(0, n, _ROWS_PER_TRANSACTION):
        size = min(_ROWS_PER_TRANSACTION, n - start)
        cols = _columns(start, size, seed)
        values = [_bound(cols.get(name), bind[name], size) for name in names]
        with engine.begin() as conn:
            conn.exec_driver_sql(insert, list(zip(*values, strict=True)))


def _bound(column: list[Any] | None, process: Any, size: int) -> list[Any]:
    if column is None:
        return [None] * size
    if process is None:
        return column
    seen: dict[Any, Any] = {}
    return [seen[v] if v in seen else seen.setdefault(v, process(v)) for v in column]


def _copy(engine: sa.Engine, table: sa.Table, names: list[str], n: int, seed: int) -> None:
    quoted = ", ".join(f'"{c}"' for c in names)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for start in range(0, n, _ROWS_PER_TRANSACTION):
                size = min(_ROWS_PER_TRANSACTION, n - start)
                cols = _columns(start, size, seed)
                for row in zip(*(cols.get(c) or [None] * size for c in names), strict=True):
                    copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


def settle(app: Any) -> int:
    """Store what the plan would write straight into the tables (what an apply leaves: one rule association
    per assigned account, the status fields), so the next plan is a second run: every association read, and
    nothing to write. Answers the associations stored."""
    plan = flow.plan_assignments(app.platform.config, app.platform.crm, flow.make_resolver(None))
    engine = app.platform.engine
    creates = plan.creates.frame  # type: ignore[attr-defined]
    updates = plan.field_updates.frame  # type: ignore[attr-defined]
    assoc, account = SOBJECT_TABLES["ObjectTerritory2Association"], SOBJECT_TABLES["Account"]
    territory_ids = creates.get_column("want").replace_strict(plan.territory_ids, return_dtype=pl.String)
    rows = list(zip(account_ids(0, creates.height, "ObjectTerritory2Association"), creates.get_column("Id").to_list(),
                    territory_ids.to_list(), strict=True))
    changed = list(zip(updates.get_column("status").to_list(), updates.get_column("evidence").to_list(),
                       updates.get_column("Id").to_list(), strict=True))
    with engine.begin() as conn:
        conn.execute(assoc.insert(), [{"Id": i, "ObjectId": o, "Territory2Id": t, "AssociationCause": RULE_CAUSE}
                                      for i, o, t in rows])
        stmt = (account.update().where(account.c.Id == sa.bindparam("key"))
                .values(Territory_Status__c=sa.bindparam("status"), Territory_Evidence__c=sa.bindparam("evidence")))
        conn.execute(stmt, [{"status": s, "evidence": e, "key": k} for s, e, k in changed])
    return len(rows)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _timed(fn: Callable[[], Any], seconds: list[float]) -> Any:
    start = time.perf_counter()
    out = fn()
    seconds.append(time.perf_counter() - start)
    return out


def run(app: Any, caller: Caller, *, repeat: int = 2) -> dict[str, Any]:
    """Time the floor and the assign plan side by side, alternating, the best of ``repeat`` runs each.

    floor: ``crm.read_columns`` of the Account columns the assign reads, every chunk into one frame.
    plan: ``app.assign_territories(caller, dry_run=True)``, the application-layer action behind the CLI.
    The gazetteer (loaded once per process) is loaded before either is timed.
    """
    crm, cfg = app.platform.crm, app.platform.config
    columns = flow.account_columns(cfg)
    flow.make_resolver(None).resolve(GeoQuestion("warm-up", city="London"))
    floor: list[float] = []
    plan: list[float] = []
    for _ in range(max(1, repeat)):
        frame = _timed(lambda: pl.concat(list(crm.read_columns("Account", columns))), floor)
        result = _timed(lambda: app.assign_territories(caller, dry_run=True), plan)
    return {"accounts": frame.height, "columns": columns, "floor_s": min(floor), "plan_s": min(plan),
            "ratio": min(plan) / min(floor), "floor_runs": floor, "plan_runs": plan, "counts": result.counts,
            "creates": result.creates, "deletes": result.deletes, "status_updates": result.status_updates,
            "plan_id": result.plan_id}


def report(figures: dict[str, Any]) -> None:
    """Print what :func:`run` measured."""
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(figures["counts"].items(), key=lambda kv: -kv[1]))
    print(f"  outcomes: {counts}")
    print(f"  plan: {figures['creates']:,} associations to create, {figures['deletes']:,} to delete, "
          f"{figures['status_updates']:,} account statuses to update ({figures['plan_id']})")
    print(f"  floor (read {len(figures['columns'])} Account columns)  {figures['floor_s']:8.2f} s   "
          f"runs {', '.join(f'{s:.2f}' for s in figures['floor_runs'])}")
    print(f"  plan end to end (dry run)            {figures['plan_s']:8.2f} s   "
          f"runs {', '.join(f'{s:.2f}' for s in figures['plan_runs'])}")
    ratio = figures["ratio"]
    print(f"  plan / floor: {ratio:.2f}x  (target <= 3x: {'met' if ratio <= 3 else 'NOT met'})", flush=True)


def main_for(db: str, accounts: int, *, seed: int = 7, repeat: int = 2, settled: bool = False) -> dict[str, Any]:
    """Open the example org on ``db`` (empty), create its territory model, seed ``accounts``, run and print;
    with ``settled``, store the plan's writes and run again (the second run's figures under ``"settled"``)."""
    app, caller = open_app(EXAMPLE, db), Caller.operator()
    app.sync_territories(caller, dry_run=False)
    start = time.perf_counter()
    seed_accounts(app.platform.engine, accounts, seed)
    print(f"  seeded {accounts:,} accounts in {time.perf_counter() - start:.1f} s (load {_load()})", flush=True)
    print("first run (no account assigned yet):")
    figures = run(app, caller, repeat=repeat)
    report(figures)
    if settled:
        start = time.perf_counter()
        stored = settle(app)
        print(f"second run (the first one's writes stored: {stored:,} associations, "
              f"{time.perf_counter() - start:.1f} s):", flush=True)
        figures["settled"] = run(app, caller, repeat=repeat)
        report(figures["settled"])
    print(f"  load after: {_load()}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 accounts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each figure (the best is kept)")
    parser.add_argument("--postgres", action="store_true", help="a throwaway Postgres server, not a SQLite file")
    parser.add_argument("--settled", action="store_true", help="also a second run, the first one's writes stored")
    args = parser.parse_args()
    if args.quick:
        args.accounts = min(args.accounts, 100_000)
    if args.postgres:
        from revloops.testing.postgres import throwaway_postgres

        with throwaway_postgres() as server:
            print(f"assign: {args.accounts:,} stored accounts, Postgres (load {_load()})", flush=True)
            main_for(server.url(), args.accounts, seed=args.seed, repeat=args.repeat, settled=args.settled)
        return
    with tempfile.TemporaryDirectory() as tmp:
        print(f"assign: {args.accounts:,} stored accounts, SQLite (load {_load()})", flush=True)
        main_for(f"sqlite:///{Path(tmp) / 'state.db'}", args.accounts, seed=args.seed, repeat=args.repeat,
                 settled=args.settled)


if __name__ == "__main__":
    main()
