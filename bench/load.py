"""Load benchmark: claim → submit cycles through the real HTTP stack on PostgreSQL.

    python bench/load.py                         # 1, 8, 32 volunteers, 20 s each (~2 min)
    python bench/load.py --volunteers 8 --duration 10 --workers 3
    python bench/load.py --kind label_initial_prompt --prompts 6000

What it does, all on loopback:

1. recreates the database ``arbor_bench`` (``--database``) on the server that
   ``DATABASE_URL`` names (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
   and migrates it;
2. seeds a project (rate limits lifted, Open-Assistant's other defaults), one user and
   API token per volunteer and ``--prompts`` prompts waiting for review, so review work
   exists from the first request, then runs ``ANALYZE`` (see ``analyze``);
3. starts the ASGI app with uvicorn (``--workers`` processes, uvloop + httptools,
   ``DJANGO_DEBUG=0``, Celery eager as in the one-box default: no ``REDIS_URL``);
4. for each volunteer count runs that many simulated volunteers (asyncio + httpx, one
   keep-alive connection and one token each) for ``--duration`` seconds after
   ``--warmup`` seconds that are not counted, each doing claim → submit cycles
   (``kind=any`` by default: whatever the engine hands out — reviews, replies,
   rankings, new prompts — answered like a volunteer would);
5. prints cycles/s, claim and submit latency percentiles (measured by the client, so
   they include its own overhead), answers by status, where the CPU went, and a final
   check that no work item has more completions or submissions than it requires;
6. stops the server and drops the database (``--keep-db`` keeps it).

A cycle is one claim answered 201 followed by its submit answered 200. A claim answered
204 (no work for this person right now) counts as "no work" and the volunteer waits
50 ms before asking again.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
KINDS = (
    "any",
    "initial_prompt",
    "prompter_reply",
    "assistant_reply",
    "label_initial_prompt",
    "label_prompter_reply",
    "label_assistant_reply",
    "rank_prompter_replies",
    "rank_assistant_replies",
)
# Lifted so that only the engine limits the rate: one simulated volunteer does more
# in a minute than a person does in a day.
PROJECT_SETTINGS = {
    "requests_per_minute": 1_000_000,
    "replies_per_minute": 1_000_000,
    "max_prompt_lottery_waiting": 1_000_000,
}
NO_WORK_PAUSE_SECONDS = 0.05
TARGET_CYCLES_PER_SECOND = 150
TARGET_CLAIM_P99_MS = 50


# --- Database ---------------------------------------------------------------------


def database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def recreate_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_environment(url: str, pool_size: int = 0) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")
    }
    environment.update(
        DATABASE_URL=url,
        DJANGO_DEBUG="0",
        DJANGO_SETTINGS_MODULE="backend.config.settings",
        ARBOR_LOG_LEVEL="ERROR",
        ARBOR_DB_POOL_SIZE=str(pool_size),
        PYTHONPATH=str(ROOT),
    )
    return environment


def migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=server_environment(url),
        check=True,
    )


def seed(url: str, *, volunteers: int, prompts: int, authors: int) -> list[str]:
    """Project, users with tokens, prompts waiting for review; returns the tokens.

    Runs Django in this process with the benchmark database, through the services.
    """
    os.environ.update(server_environment(url))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections, transaction

    from backend.accounts.services import user_create, user_token
    from backend.assignments.growth import tree_create_from_prompt
    from backend.projects.services import project_create

    # Tokens are what the volunteers use; the production password hasher would spend
    # half a second per user here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    project = project_create(slug="bench", name="Load benchmark", settings=PROJECT_SETTINGS)
    tokens = [
        user_token(user=user_create(username=f"volunteer{n}", password="bench-password"))
        for n in range(volunteers)
    ]
    writers = [
        user_create(username=f"author{n}", password="bench-password") for n in range(authors)
    ]
    rng = random.Random(7)
    for start in range(0, prompts, 250):
        with transaction.atomic():
            for n in range(start, min(start + 250, prompts)):
                tree_create_from_prompt(
                    project=project,
                    author_id=writers[n % len(writers)].pk,
                    lang="en",
                    text=f"Seeded prompt {n}: {_filler(rng, 20)}?",
                )
    connections.close_all()
    return tokens


def analyze(url: str) -> None:
    """Fresh statistics, as autovacuum keeps them on a database in service. Right
    after the bulk seeding the planner still believes the tables empty and picks
    nested loops that make each claim scan everything its person already did
    (~80 ms instead of ~0.5 ms per candidate query, measured)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE")


def final_check(url: str) -> dict[str, int]:
    """Over-assignment and counter consistency, straight from the tables."""
    import psycopg

    queries = {
        # More completions or more submitted assignments than the item requires.
        "over_assigned_items": """
            SELECT count(*) FROM assignments_workitem w
            WHERE w.completed_count > w.required
               OR (SELECT count(*) FROM assignments_assignment a
                   WHERE a.work_item_id = w.id AND a.state = 'submitted') > w.required""",
        # completed_count ≠ submissions, or free slots ≠ required − completed − active.
        "counter_mismatches": """
            SELECT count(*) FROM assignments_workitem w
            WHERE w.completed_count <> (SELECT count(*) FROM assignments_assignment a
                                        WHERE a.work_item_id = w.id AND a.state = 'submitted')
               OR (w.state <> 'closed' AND w.open_slots <> w.required - w.completed_count
                   - (SELECT count(*) FROM assignments_assignment a
                      WHERE a.work_item_id = w.id AND a.state = 'active'))""",
        "same_person_twice": """
            SELECT count(*) FROM (
                SELECT 1 FROM assignments_assignment
                WHERE work_item_id IS NOT NULL AND state IN ('active', 'submitted')
                GROUP BY work_item_id, user_id HAVING count(*) > 1) twice""",
        "work_items": "SELECT count(*) FROM assignments_workitem",
        "submitted_assignments": (
            "SELECT count(*) FROM assignments_assignment WHERE state = 'submitted'"
        ),
        "trees_ready_for_export": (
            "SELECT count(*) FROM trees_tree WHERE state = 'ready_for_export'"
        ),
    }
    with psycopg.connect(url) as connection:
        return {name: connection.execute(sql).fetchone()[0] for name, sql in queries.items()}


# --- Server -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    url: str, port: int, workers: int, pool_size: int, kind: str = "uvicorn"
) -> subprocess.Popen[bytes]:
    if kind == "gunicorn-wsgi":
        # For comparison only: the same Django app as WSGI in threads, no websockets.
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "backend.config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--log-level",
            "warning",
        ]
        return subprocess.Popen(
            command, cwd=ROOT, env=server_environment(url, pool_size), start_new_session=True
        )
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "backend.config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--lifespan",
        "off",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    # Its own process group, so that stopping it stops every worker too.
    return subprocess.Popen(
        command, cwd=ROOT, env=server_environment(url, pool_size), start_new_session=True
    )


def wait_until_up(base_url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer /healthz within {timeout:.0f} s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)
    except ProcessLookupError:
        pass


# --- CPU accounting (from /proc, Linux) -------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu() -> dict[str, dict[int, float]]:
    """CPU seconds used so far by each process, grouped as web (the server's process
    group) and postgres (the backends connected to the benchmark database)."""
    groups: dict[str, dict[int, float]] = {"web": {}, "postgres": {}}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat_file:
                stat = stat_file.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
        pid = int(entry.name)
        if name == "postgres":
            # Only the backends serving the benchmark's database ("postgres: 15/main:
            # USER DATABASE HOST(PORT) …"), not other databases on the same server.
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline_file:
                    title = (
                        cmdline_file.read().replace(b"\0", b" ").decode(errors="replace").split()
                    )
            except OSError:
                continue
            if len(title) > 3 and title[3] == SERVER_GROUP[1]:
                groups["postgres"][pid] = seconds
        elif int(fields[2]) == SERVER_GROUP[0]:  # process group of the server
            groups["web"][pid] = seconds
    return groups


def _machine_busy_seconds() -> float:
    with open("/proc/stat") as stat_file:
        values = [int(value) for value in stat_file.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS


# The server's process group and the benchmark database's name, once known.
SERVER_GROUP: list[Any] = [0, ""]


@dataclass
class CpuWindow:
    start_processes: dict[str, dict[int, float]] = field(default_factory=_process_cpu)
    start_self: float = field(default_factory=lambda: sum(os.times()[:2]))
    start_machine: float = field(default_factory=_machine_busy_seconds)
    start_wall: float = field(default_factory=time.monotonic)

    def cores(self) -> dict[str, float]:
        """Average cores busy per group since the window opened."""
        wall = time.monotonic() - self.start_wall
        now = _process_cpu()
        used = {
            group: sum(
                seconds - self.start_processes[group].get(pid, 0.0)
                for pid, seconds in now[group].items()
            )
            for group in now
        }
        used["load generator"] = sum(os.times()[:2]) - self.start_self
        used["whole machine"] = _machine_busy_seconds() - self.start_machine
        return {group: seconds / wall for group, seconds in used.items()}


# --- Simulated volunteers ---------------------------------------------------------

_WORDS = [
    *("river", "tree", "answer", "question", "garden", "light", "music", "code", "night"),
    *("ocean", "simple", "kind", "careful", "quick", "history", "science", "reason"),
    *("example", "story", "clear", "helpful"),
]


def _filler(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words))


_unique = itertools.count()


def answer_for(assignment: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """What a volunteer sends back for any kind of assignment."""
    kind = assignment["kind"]
    if kind in ("initial_prompt", "prompter_reply", "assistant_reply"):
        return {"text": f"{kind} {next(_unique)}: {_filler(rng, 30)}."}
    if kind.startswith("label_"):
        asked = {label["name"] for label in assignment["labels"]}
        labels = {"spam": 0, "lang_mismatch": 0, "quality": 0.75}
        return {"labels": {name: value for name, value in labels.items() if name in asked}}
    if kind.startswith("rank_"):
        ranking = [candidate["id"] for candidate in assignment["candidates"]]
        rng.shuffle(ranking)
        return {"ranking": ranking}
    raise ValueError(f"unknown kind {kind}")


@dataclass
class Tally:
    cycles: int = 0
    no_work: int = 0
    claim_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    claim_status: Counter[int] = field(default_factory=Counter)
    submit_status: Counter[int] = field(default_factory=Counter)
    error_codes: Counter[str] = field(default_factory=Counter)


async def volunteer(
    base_url: str,
    token: str,
    kind: str,
    number: int,
    deadlines: tuple[float, float],
    tally: Tally,
    idempotency_keys: bool,
) -> None:
    import httpx

    counting_from, stop_at = deadlines
    rng = random.Random(number)
    headers = {"Authorization": f"Token {token}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=60
    ) as client:
        while time.monotonic() < stop_at:
            counted = time.monotonic() >= counting_from
            started = time.perf_counter()
            try:
                claimed = await client.post(
                    "/api/v1/assignments/", json={"project": "bench", "lang": "en", "kind": kind}
                )
            except httpx.HTTPError as error:
                tally.error_codes[f"claim {type(error).__name__}"] += counted
                continue
            claim_ms = (time.perf_counter() - started) * 1000
            if counted:
                tally.claim_ms.append(claim_ms)
                tally.claim_status[claimed.status_code] += 1
            if claimed.status_code == 204:
                tally.no_work += counted
                await asyncio.sleep(NO_WORK_PAUSE_SECONDS)
                continue
            if claimed.status_code != 201:
                if counted:
                    tally.error_codes[f"claim {claimed.status_code} {_code(claimed)}"] += 1
                await asyncio.sleep(NO_WORK_PAUSE_SECONDS)
                continue
            assignment = claimed.json()
            extra = {"Idempotency-Key": f"{number}-{assignment['id']}"} if idempotency_keys else {}
            started = time.perf_counter()
            try:
                done = await client.post(
                    f"/api/v1/assignments/{assignment['id']}/submit",
                    json=answer_for(assignment, rng),
                    headers=extra,
                )
            except httpx.HTTPError as error:
                tally.error_codes[f"submit {type(error).__name__}"] += counted
                continue
            if counted:
                tally.submit_ms.append((time.perf_counter() - started) * 1000)
                tally.submit_status[done.status_code] += 1
                if done.status_code == 200:
                    tally.cycles += 1
                else:
                    tally.error_codes[f"submit {done.status_code} {_code(done)}"] += 1


def _code(response: Any) -> str:
    try:
        return str(response.json().get("code", ""))
    except ValueError:
        return ""


async def run_step(
    base_url: str, tokens: list[str], kind: str, warmup: float, duration: float, keys: bool
) -> tuple[Tally, dict[str, float]]:
    """Run one step; returns its tally and the CPU cores each group kept busy while
    the step was counted (the warm-up left out)."""
    tally = Tally()
    now = time.monotonic()
    deadlines = (now + warmup, now + warmup + duration)
    windows: list[CpuWindow] = []

    async def open_window() -> None:
        await asyncio.sleep(warmup)
        windows.append(CpuWindow())

    await asyncio.gather(
        open_window(),
        *(
            volunteer(base_url, token, kind, number, deadlines, tally, keys)
            for number, token in enumerate(tokens)
        ),
    )
    return tally, windows[0].cores()


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def triple(values: list[float]) -> str:
    return "/".join(f"{percentile(values, share):.1f}" for share in (0.50, 0.95, 0.99))


# --- Main -------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Claim+submit load benchmark over HTTP on PostgreSQL (see the module doc).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--volunteers",
        default="1,8,32",
        help="comma-separated numbers of simultaneous volunteers, one step each",
    )
    parser.add_argument("--duration", type=float, default=20, help="measured seconds per step")
    parser.add_argument("--warmup", type=float, default=2, help="uncounted seconds per step")
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="server worker processes (one per core: see bench/README.md)",
    )
    parser.add_argument(
        "--server",
        default="uvicorn",
        choices=["uvicorn", "gunicorn-wsgi"],
        help="uvicorn: the ASGI app (what Arbor serves); gunicorn-wsgi: the same Django "
        "app as WSGI in gthread workers, for comparison (needs gunicorn installed)",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=8,
        help="ARBOR_DB_POOL_SIZE for the server: pooled connections per worker (0: none)",
    )
    parser.add_argument("--kind", default="any", choices=KINDS, help="what the volunteers ask for")
    parser.add_argument("--prompts", type=int, default=1500, help="prompts seeded for review")
    parser.add_argument("--database", default="arbor_bench", help="database to (re)create")
    parser.add_argument(
        "--no-idempotency-key",
        action="store_true",
        help="submit without an Idempotency-Key header (sent by default, as a careful client does)",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--keep-server",
        type=float,
        default=0,
        metavar="SECONDS",
        help="keep the server up this long after the last step (to attach a profiler)",
    )
    arguments = parser.parse_args(argv)
    arguments.steps = [int(value) for value in arguments.volunteers.split(",") if value.strip()]
    if not arguments.steps or min(arguments.steps) < 1:
        parser.error("--volunteers needs positive numbers")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_SERVER_URL
    url = database_url(server_url, arguments.database)
    host = urlsplit(url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1", ""):
        raise SystemExit(f"refusing a non-loopback database host: {host}")
    # SIGTERM (a CI timeout, kill) ends the run through the same clean-up as Ctrl+C.
    signal.signal(signal.SIGTERM, _interrupt)

    started = time.monotonic()
    print(f"recreating {arguments.database}, migrating, seeding …", flush=True)
    recreate_database(server_url, arguments.database)
    server: subprocess.Popen[bytes] | None = None
    try:
        migrate(url)
        tokens = seed(
            url,
            volunteers=max(arguments.steps),
            prompts=arguments.prompts,
            authors=10,
        )
        analyze(url)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_server(url, port, arguments.workers, arguments.pool_size, arguments.server)
        SERVER_GROUP[:] = [server.pid, arguments.database]
        wait_until_up(base_url, server)
        setup_seconds = time.monotonic() - started
        print(_header(arguments, url, setup_seconds), flush=True)
        results = []
        for count in arguments.steps:
            tally, cores = asyncio.run(
                run_step(
                    base_url,
                    tokens[:count],
                    arguments.kind,
                    arguments.warmup,
                    arguments.duration,
                    not arguments.no_idempotency_key,
                )
            )
            results.append((count, tally))
            _print_step(count, tally, arguments.duration, cores)
        if arguments.keep_server:
            print(f"server (process group {server.pid}) stays up", flush=True)
            time.sleep(arguments.keep_server)
        stop_server(server)
        check = final_check(url)
        _print_summary(results, arguments.duration, check)
        failed = check["over_assigned_items"] or check["same_person_twice"]
        return 1 if failed else 0
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130
    finally:
        if server is not None:
            stop_server(server)
        if not arguments.keep_db:
            drop_database(server_url, arguments.database)
        print(f"total time {time.monotonic() - started:.0f} s", flush=True)


def _interrupt(signal_number: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _header(arguments: argparse.Namespace, url: str, setup_seconds: float) -> str:
    import psycopg
    import uvicorn

    with psycopg.connect(url) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    server = (
        f"uvicorn {uvicorn.__version__} (ASGI, uvloop, httptools)"
        if arguments.server == "uvicorn"
        else "gunicorn (WSGI, gthread × 8 threads)"
    )
    keys = "without" if arguments.no_idempotency_key else "with"
    return (
        f"\nArbor load benchmark — PostgreSQL {version}, {server} "
        f"× {arguments.workers} workers, DB pool {arguments.pool_size} "
        "per worker, DEBUG off, Celery eager\n"
        f"kind={arguments.kind}, {arguments.prompts} prompts seeded, submits {keys} "
        f"Idempotency-Key, {arguments.duration:.0f} s per step after {arguments.warmup:.0f} s "
        f"warm-up; {os.cpu_count()} CPUs, load average before: {load}; "
        f"setup took {setup_seconds:.0f} s\n"
        f"{'volunteers':>10} {'cycles/s':>9} {'claim ms p50/p95/p99':>22} "
        f"{'submit ms p50/p95/p99':>22} {'claims':>7} {'no work':>8} {'errors':>7}"
    )


def _print_step(count: int, tally: Tally, duration: float, cores: dict[str, float]) -> None:
    errors = sum(tally.error_codes.values())
    print(
        f"{count:>10} {tally.cycles / duration:>9.1f} {triple(tally.claim_ms):>22} "
        f"{triple(tally.submit_ms):>22} {len(tally.claim_ms):>7} {tally.no_work:>8} {errors:>7}",
        flush=True,
    )
    statuses = ", ".join(
        f"{what} {status}: {number}"
        for what, counter in (("claim", tally.claim_status), ("submit", tally.submit_status))
        for status, number in sorted(counter.items())
    )
    print(f"{'':>10}   answers: {statuses or 'none'}")
    if tally.error_codes:
        details = ", ".join(f"{code}: {n}" for code, n in tally.error_codes.most_common())
        print(f"{'':>10}   errors: {details}")
    spent = ", ".join(f"{group} {value:.2f}" for group, value in cores.items())
    print(f"{'':>10}   CPU cores busy: {spent}", flush=True)
    if tally.cycles:
        # CPU per cycle is what a busy machine distorts least: on an otherwise idle box
        # the cycles/s ceiling is the cores divided by the CPU one cycle costs.
        per_cycle = {
            group: cores[group] * duration / tally.cycles * 1000
            for group in ("web", "postgres", "load generator")
        }
        ceiling = (os.cpu_count() or 1) * 1000 / sum(per_cycle.values())
        costs = ", ".join(f"{group} {value:.1f}" for group, value in per_cycle.items())
        print(
            f"{'':>10}   CPU ms per cycle: {costs} → at most ~{ceiling:.0f} cycles/s "
            f"on {os.cpu_count()} idle cores",
            flush=True,
        )


def _print_summary(
    results: list[tuple[int, Tally]], duration: float, check: dict[str, int]
) -> None:
    print(
        f"\nfinal check: {check['over_assigned_items']} over-assigned work items "
        f"(completed or submitted > required), {check['same_person_twice']} person-item "
        f"duplicates, {check['counter_mismatches']} counter mismatches; "
        f"{check['work_items']} work items, {check['submitted_assignments']} submissions, "
        f"{check['trees_ready_for_export']} trees ready for export"
    )
    by_count = dict(results)
    verdicts = []
    for count in (8, 32):
        if count in by_count:
            rate = by_count[count].cycles / duration
            verdict = "met" if rate >= TARGET_CYCLES_PER_SECOND else "NOT met"
            verdicts.append(
                f"≥ {TARGET_CYCLES_PER_SECOND} cycles/s at {count}: {rate:.0f} ({verdict})"
            )
    if 32 in by_count:
        p99 = percentile(by_count[32].claim_ms, 0.99)
        verdict = "met" if p99 <= TARGET_CLAIM_P99_MS else "NOT met"
        verdicts.append(f"claim p99 ≤ {TARGET_CLAIM_P99_MS} ms at 32: {p99:.1f} ms ({verdict})")
    if verdicts:
        print("DESIGN targets: " + "; ".join(verdicts))


if __name__ == "__main__":
    sys.exit(main())
