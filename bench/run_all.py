"""Run every benchmark, one after another (`make bench`); pass --quick for the short runs.

Each benchmark prints its own figures and the ratio against the baseline its issue names.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = ["route.py", "route_e2e.py", "territories.py", "assign_e2e.py", "design.py", "chain.py", "retention.py", "signals.py",
           "warehouse.py", "mcp.py", "plan.py"]


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    failed = []
    for name in BENCHES:
        print(f"\n=== bench/{name} {' '.join(argv)}", flush=True)
        done = subprocess.run([sys.executable, str(here / name), *argv], check=False)
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
