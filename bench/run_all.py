"""Run every benchmark in turn and print their figures (what ``make bench`` calls).

Each benchmark creates and drops its own PostgreSQL database (``DATABASE_URL``'s server,
default postgresql://postgres@127.0.0.1:5432), except the fault drill and soak, which
start private PostgreSQL and Redis servers of their own; see bench/README.md for each one's
figures and targets. ``--quick`` runs smaller sizes to check that everything works.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent

FULL = [
    ["load.py"],
    ["task_page_bench.py"],
    ["rescore_bench.py"],
    ["export_bench.py"],
    ["drill.py"],
    ["drill.py", "--soak"],
    ["fuzz.py"],
]
QUICK = [
    ["load.py", "--volunteers", "1,8", "--duration", "5", "--prompts", "300"],
    ["task_page_bench.py", "--requests", "50"],
    ["rescore_bench.py", "--groups", "5000", "--label-votes", "50000"],
    ["export_bench.py", "--messages", "50000"],
    ["drill.py", "--phase-seconds", "10", "--volunteers", "8"],
    ["drill.py", "--soak", "--volunteers", "50", "--duration", "60", "--rss-interval", "10"],
    ["fuzz.py", "--max-examples", "5"],
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few minutes in all")
    parser.add_argument("--only", nargs="*", help="benchmark file names to run (default: all)")
    arguments = parser.parse_args()
    failures = 0
    for command in QUICK if arguments.quick else FULL:
        if arguments.only and command[0] not in arguments.only:
            continue
        print(f"\n##### {' '.join(command)}", flush=True)
        started = time.monotonic()
        script = str(BENCH / command[0])
        done = subprocess.run([sys.executable, script, *command[1:]], cwd=BENCH.parent)
        elapsed = time.monotonic() - started
        print(f"##### {command[0]} finished in {elapsed:.0f} s (exit {done.returncode})")
        failures += done.returncode != 0
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
