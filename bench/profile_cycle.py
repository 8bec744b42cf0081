"""Where a claim → submit cycle spends the web tier's CPU: a profile, in process.

    python bench/profile_cycle.py                  # 600 cycles of kind=any, top 35 functions
    python bench/profile_cycle.py --cycles 2000 --top 60 --sort cumulative

It recreates the database ``arbor_profile`` on the server ``DATABASE_URL`` names
(default ``postgresql://postgres@127.0.0.1:5432/postgres``), seeds it as ``load.py``
does (a project with its rate limits lifted, volunteers with tokens, prompts waiting
for review), then runs claim → submit cycles through Django's request handler — the
whole middleware stack, DRF, token authentication, the services — with one volunteer
after another, under ``cProfile``. It prints the CPU milliseconds one cycle costs (this
process's CPU time: no server, no network, so the ASGI server's own share is not in
it — ``load.py`` measures that) and the functions that cost the most. Celery is eager
here: follow-up work (scoring, the lottery) runs in the request as in embedded mode,
and shows in the profile as such.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=600)
    parser.add_argument("--volunteers", type=int, default=16)
    parser.add_argument("--prompts", type=int, default=1500)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument(
        "--no-profile", action="store_true", help="only the CPU per cycle, without cProfile"
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="instead of a profile: the SQL statements by shape, with their count and time",
    )
    arguments = parser.parse_args()

    import load  # the load benchmark's seeding, so both measure the same data

    server = os.environ.get("DATABASE_URL", DEFAULT_SERVER_URL)
    url = load.database_url(server, "arbor_profile")
    load.recreate_database(server, "arbor_profile")
    load.migrate(url)
    tokens = load.seed(url, volunteers=arguments.volunteers, prompts=arguments.prompts, authors=40)
    load.analyze(url)
    os.environ.pop("REDIS_URL", None)

    from django.db import connections
    from rest_framework.test import APIClient

    clients = []
    for token in tokens:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        clients.append(client)
    rng = random.Random(11)

    def cycle(client: APIClient, number: int) -> bool:
        claimed = client.post("/api/v1/assignments/", {"project": "bench"}, format="json")
        if claimed.status_code != 201:
            return False
        assignment = claimed.json()
        submitted = client.post(
            f"/api/v1/assignments/{assignment['id']}/submit",
            load.answer_for(assignment, rng),
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"profile-{number}",
        )
        return submitted.status_code == 200

    for number, client in zip(range(50), itertools.cycle(clients), strict=False):
        cycle(client, -number - 1)  # warm up: imports, caches, the pool

    from collections import defaultdict

    from django.db import connection

    timings: defaultdict[str, list[float]] = defaultdict(list)

    def timed(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            shape = " ".join(sql.split())[:110]
            timings[shape].append(time.perf_counter() - started)

    profiler = cProfile.Profile()
    done = 0
    started_cpu, started = cpu_seconds(), time.perf_counter()
    if not (arguments.no_profile or arguments.statements):
        profiler.enable()
    wrapper = connection.execute_wrapper(timed) if arguments.statements else None
    if wrapper is not None:
        wrapper.__enter__()
    for number, client in zip(range(arguments.cycles), itertools.cycle(clients), strict=False):
        done += cycle(client, number)
    if wrapper is not None:
        wrapper.__exit__(None, None, None)
    profiler.disable()
    cpu, wall = cpu_seconds() - started_cpu, time.perf_counter() - started
    connections.close_all()
    load.drop_database(server, "arbor_profile")

    print(f"{done} cycles of {arguments.cycles} completed (kind=any, {len(clients)} volunteers)")
    print(
        f"CPU per cycle {1000 * cpu / max(done, 1):.2f} ms"
        f"{'' if arguments.no_profile else ' (profiled: cProfile adds to it)'},"
        f" wall {1000 * wall / max(done, 1):.2f} ms"
    )
    if arguments.statements:
        total = sum(sum(values) for values in timings.values())
        print(
            f"statements per cycle {sum(map(len, timings.values())) / max(done, 1):.1f},"
            f" their wall time per cycle {1000 * total / max(done, 1):.2f} ms; by shape:"
        )
        ranked = sorted(timings.items(), key=lambda item: -sum(item[1]))
        for shape, values in ranked[: arguments.top]:
            per_cycle = len(values) / max(done, 1)
            each = 1000 * sum(values) / len(values)
            cost = each * per_cycle
            print(f"{per_cycle:6.2f}/cycle {each:7.3f} ms each {cost:7.3f} ms/cycle  {shape}")
        return 0
    if arguments.no_profile:
        return 0
    stats = pstats.Stats(profiler)
    stats.strip_dirs().sort_stats(arguments.sort).print_stats(arguments.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
