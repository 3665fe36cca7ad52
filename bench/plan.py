"""`revloops plan` end to end over a large org: a change touching the routing rules, the territory match rules and
the scoring, planned over N stored leads and M stored accounts, against the floor of reading those records'
columns. One command, both figures measured side by side in one run, each in a fresh process.

    python bench/plan.py                         # 1,000,000 leads and 100,000 accounts (SQLite)
    python bench/plan.py --leads 200000 --accounts 20000   # quicker

Set-up: the example org's config is copied into a git repository and committed; the working tree then changes
three files: ``rules.yaml`` (one round-robin rule moves to another pool), ``deploy/match_rules.yaml`` (one state
moves from one territory to another) and ``qualify/scoring.yaml`` (the MQL threshold). The store is seeded as
``bench/route_e2e.py`` and ``bench/assign_e2e.py`` seed it (leads replicated from a seeded template, accounts
generated with the example org's address mix).

- floor: ``crm.read_columns`` of exactly the lead columns the plan reads and the account columns the territory
  match reads, every chunk into a frame;
- plan: ``Revloops.plan_change`` (what `revloops plan` runs): load and check both sides, read the leads once for
  Route, Qualify and Engage, plan the territory sync and the accounts' moves, the markdown and JSON answer.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

CONFIG = ROOT / "examples" / "acme" / "config"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=bench@example.com", "-c", "user.name=bench", *args],
                   check=True, capture_output=True)


def make_repo(root: Path) -> Path:
    """The example config committed in a git repository, and the change in its working tree."""
    repo = root / "gtm"
    shutil.copytree(CONFIG, repo / "config")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "the example org")
    cfg = repo / "config"
    rules = (cfg / "rules.yaml").read_text()
    (cfg / "rules.yaml").write_text(rules.replace("action: {type: round_robin, pool: na-sdr}",
                                                  "action: {type: round_robin, pool: smb-ae}", 1))
    match = (cfg / "deploy" / "match_rules.yaml").read_text().splitlines()
    match[4] = match[4].replace(" US-CO,", "")
    match[5] = match[5].replace("US-TX, ", "US-TX, US-CO, ")
    (cfg / "deploy" / "match_rules.yaml").write_text("\n".join(match) + "\n")
    scoring = (cfg / "qualify" / "scoring.yaml").read_text()
    (cfg / "qualify" / "scoring.yaml").write_text(scoring.replace("  mql: 60", "  mql: 55", 1))
    return cfg


def seed(cfg: Path, db: str, leads: int, accounts: int) -> None:
    """The org, its leads and its accounts."""
    import route_e2e
    from assign_e2e import seed_accounts

    route_e2e.CONFIG = cfg  # the committed side and the working tree share the roster and pools
    route_e2e.seed_store(db, leads)
    from revloops.app.context import open_app
    from revloops.core.identity import Caller

    app = open_app(cfg, db)
    app.sync_territories(Caller.operator(), dry_run=False)
    seed_accounts(app.platform.engine, accounts, 7)
    app.close()


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def figure(name: str, cfg: Path, db: str) -> dict[str, Any]:
    """One figure, in this process."""
    from revloops.app.context import open_app
    from revloops.core.identity import Caller
    from revloops.loops.changeplan import LeadPass
    from revloops.loops.deploy.flow import account_columns

    start = time.perf_counter()
    app = open_app(cfg, db)
    op = Caller.operator()
    if name == "floor":
        from revloops.config.revision import load_config_at

        plat = app.platform
        old = load_config_at(cfg, "HEAD")
        columns = LeadPass(plat, old, plat.config, {"route", "qualify", "engage"}).columns
        start = time.perf_counter()  # what is timed: the reads alone
        leads = sum(f.height for f in plat.crm.read_columns("Lead", columns, created_order=True))
        accounts = sum(f.height for f in plat.crm.read_columns("Account", account_columns(plat.config)))
        return {"seconds": time.perf_counter() - start, "leads": leads, "accounts": accounts,
                "lead_columns": len(columns), "peak_mb": _peak_mb()}
    plan = app.plan_change(op, against="HEAD")
    from revloops.interfaces.cli.plan_cmd import markdown

    text = markdown(plan)
    body = plan.model_dump_json()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "sections": {s.loop: [s.moves, s.considered, s.seconds] for s in plan.sections},
            "markdown_chars": len(text), "json_chars": len(body), "peak_mb": _peak_mb(), "problems": plan.problems}


def _child(name: str, cfg: Path, db: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--figure", name, "--cfg", str(cfg), "--db", db],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{name} failed:\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--figure")
    parser.add_argument("--cfg")
    parser.add_argument("--db")
    parser.add_argument("--keep", help="a folder to seed once and reuse (the seeded org stays there)")
    args = parser.parse_args()
    if args.figure:
        print(json.dumps(figure(args.figure, Path(args.cfg), args.db)))
        return
    with tempfile.TemporaryDirectory(prefix="revloops-bench-plan-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        db = f"sqlite:///{folder / 'state.db'}"
        if (folder / "state.db").exists():
            cfg = folder / "gtm" / "config"
            print(f"reusing the org seeded in {folder}", flush=True)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            cfg = make_repo(folder)
            t0 = time.perf_counter()
            seed(cfg, db, args.leads, args.accounts)
            print(f"seeded {args.leads:,} leads and {args.accounts:,} accounts in {time.perf_counter() - t0:.0f} s "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
        floor = _child("floor", cfg, db)
        print(f"floor: read {floor['leads']:,} leads ({floor['lead_columns']} columns) and {floor['accounts']:,} "
              f"accounts in {floor['seconds']:.2f} s", flush=True)
        plan = _child("plan", cfg, db)
        ratio = plan["seconds"] / floor["seconds"]
        print(f"plan end to end: {plan['seconds']:.2f} s = {ratio:.2f}x the floor (target <= 5x); "
              f"peak {plan['peak_mb']:.0f} MB", flush=True)
        for loop, (moves, considered, seconds) in plan["sections"].items():
            print(f"  {loop:<8} {moves:>9,} of {considered:>9,} move   ({seconds:.2f} s)")
        print(f"  markdown {plan['markdown_chars']:,} chars, JSON {plan['json_chars']:,} chars; "
              f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
