"""Task page benchmark: server time of ``GET /task/<id>/`` on the demo data.

    python bench/task_page_bench.py                 # 200 requests per kind
    python bench/task_page_bench.py --requests 1000
    DATABASE_URL=postgresql://… python bench/task_page_bench.py   # on PostgreSQL

Seeds the demo (``seed_demo``, as ``make run`` does) into a fresh SQLite file under a
temporary directory unless ``DATABASE_URL`` names a database, then signs in a new
volunteer, holds one assignment of every kind the demo offers and requests each task
page repeatedly through Django's full stack (middleware, sessions, the view, its
queries, template rendering, markdown) in-process, with ``DEBUG`` off. The time is the
server's own: no network, no browser. It prints p50/p95/p99 per kind and over all, of
the wall time and of this thread's CPU time per request (the CPU figure does not grow
when other programs load the machine; with SQLite it includes the database's work, with
PostgreSQL the server's share is only in the wall time).
Target (DESIGN): task page p95 ≤ 50 ms server time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="requests per kind (default 200)")
    arguments = parser.parse_args()

    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.config.settings")
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(
            Path(tempfile.mkdtemp(prefix="arbor-bench-")) / "bench.sqlite3"
        )

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from backend.accounts.services import user_create
    from backend.assignments.models import Kind
    from backend.assignments.services import assignment_claim_next
    from backend.web.demo import seed_demo

    call_command("migrate", interactive=False, verbosity=0)
    project, _logins, _created = seed_demo()
    username = f"bench-{int(time.time())}"
    user = user_create(
        username=username, password="bench-password", email=f"{username}@example.org"
    )
    held = {}
    for kind in Kind.values:
        assignment = assignment_claim_next(user=user, project=project, lang="en", kind=kind)
        if assignment is not None:
            held[kind] = assignment
    client = Client()
    client.force_login(user)

    database = "PostgreSQL" if settings.IS_POSTGRESQL else "SQLite"
    print(
        f"task page bench: {database}, demo project, {arguments.requests} requests per kind,"
        " DEBUG off"
    )
    every: list[float] = []
    every_cpu: list[float] = []
    for kind, assignment in held.items():
        path = f"/task/{assignment.pk}/"
        for _ in range(10):  # warm-up: template loading, caches, connection
            assert client.get(path).status_code == 200
        timings, cpu = [], []
        for _ in range(arguments.requests):
            started, started_cpu = time.perf_counter(), time.thread_time()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
            assert response.status_code == 200
        every.extend(timings)
        every_cpu.extend(cpu)
        print(
            f"  {kind:<24} p50 {percentile(timings, 0.5):6.2f}"
            f"  p95 {percentile(timings, 0.95):6.2f}"
            f"  p99 {percentile(timings, 0.99):6.2f} ms   cpu p50 {percentile(cpu, 0.5):5.2f}"
            f"  p95 {percentile(cpu, 0.95):5.2f} ms  ({len(response.content) // 1024} KiB)"
        )
    missing = sorted(set(Kind.values) - set(held))
    if missing:
        print(f"  (no demo work of kind {', '.join(missing)} for a new volunteer)")
    print(
        f"task page, all kinds: p50 {percentile(every, 0.5):.2f} ms"
        f"  p95 {percentile(every, 0.95):.2f} ms"
        f"  p99 {percentile(every, 0.99):.2f} ms  mean {statistics.fmean(every):.2f} ms"
        f"  (target p95 ≤ 50 ms)"
    )
    print(
        f"task page CPU time:   p50 {percentile(every_cpu, 0.5):.2f} ms"
        f"  p95 {percentile(every_cpu, 0.95):.2f} ms  p99 {percentile(every_cpu, 0.99):.2f} ms"
    )
    print(f"(load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
