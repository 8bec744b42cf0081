"""Load benchmark: claim → submit cycles through the production set-up, next to the floor.

    python bench/load.py                         # floor + Arbor at 1, 8, 32, 64 volunteers
    python bench/load.py --volunteers 8,32 --duration 10
    python bench/load.py --no-floor              # Arbor alone
    python bench/load.py --server granian        # both served by granian instead

What it does, all on loopback:

1. recreates the databases ``arbor_bench`` and ``arbor_bench_floor`` (``--database``)
   on the server that ``DATABASE_URL`` names (default
   ``postgresql://postgres@127.0.0.1:5432/postgres``); migrates Arbor's, seeds a
   project (rate limits lifted, Open-Assistant's other defaults), one user and API
   token per volunteer and ``--prompts`` prompts waiting for review; creates the
   floor's two tables with as many open work items; runs ``ANALYZE`` (see ``analyze``);
2. starts Arbor the way ``make run`` does in real mode: ``manage.py serve`` with
   ``REDIS_URL`` set (Redis database ``--redis-url``, emptied before and after), so
   a real Celery worker and beat run beside the ASGI server, which has one worker
   process per core (``ARBOR_WEB_WORKERS``), each with a connection pool
   (``ARBOR_DB_POOL_SIZE``); ``DJANGO_DEBUG=0``;
3. starts the framework floor (``bench/floor/``: bare Django + DRF, a SKIP LOCKED
   claim and a 4-statement submit) with the same server command line
   (``backend.common.serving``), worker count and pool;
4. for each volunteer count runs that many simulated volunteers (asyncio + httpx, one
   keep-alive connection each) against the floor, then against Arbor, for
   ``--duration`` seconds after ``--warmup`` seconds that are not counted, each doing
   claim → submit cycles (``kind=any`` by default: whatever the engine hands out —
   reviews, replies, rankings, new prompts — answered like a volunteer would, with an
   ``Idempotency-Key`` on every submit); after an Arbor step it waits (at most 20 s)
   for the Celery queue to empty, so that its follow-up work does not land in the
   next step;
5. prints per step: cycles/s; claim and submit latency p50/p95/p99 (measured by the
   client, so they include its own overhead); SQL statements per cycle counted by the
   servers (``ARBOR_COUNT_QUERIES=1``: each response says how many statements it ran,
   ``backend/common/query_count.py``); the CPU milliseconds per cycle of the web worker
   processes, of the PostgreSQL backends serving the benchmark's database and of
   Celery (from /proc); 5xx answers; then a table of all steps with Arbor's figures as
   a ratio of the floor's, and a check of the tables: no work item with more
   completions or live reservations than it requires, nobody holding or submitting
   one item twice (exit 1 otherwise);
6. stops everything and drops the databases (``--keep-db`` keeps them).

A cycle is one claim answered 201 followed by its submit answered 200. A claim answered
204 (no work for this person right now) counts as "no work" and the volunteer waits
50 ms before asking again. Rates are cycles over the measured wall time of the step.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.common.serving import web_server_command, web_worker_count  # noqa: E402

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
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
CELERY_QUEUE = "arbor"  # CELERY_TASK_DEFAULT_QUEUE
# DESIGN "Targets": within 80 % of the floor; ≥ 95 cycles/s at 8 and ≥ 120 at 32,
# claim p99 ≤ 80 ms at 8, ≤ 10 ms web CPU and ≤ 10 queries per cycle.
TARGET_SHARE_OF_FLOOR = 0.8
TARGET_CYCLES_PER_SECOND = {8: 95, 32: 120}
TARGET_CLAIM_P99_MS_AT_8 = 80
TARGET_WEB_CPU_MS = 10
TARGET_QUERIES = 10


# --- Databases --------------------------------------------------------------------


def database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def recreate_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def copy_database(server_url: str, name: str, *, template: str) -> None:
    import psycopg

    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def base_environment(**overrides: str) -> dict[str, str]:
    """This process's environment without anything that would point a server at
    another database, broker or settings module, plus ``overrides``."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")
        and not key.startswith("ARBOR_")
    }
    environment.update(DJANGO_DEBUG="0", ARBOR_LOG_LEVEL="ERROR", PYTHONPATH=str(ROOT))
    environment.update(overrides)
    return environment


def arbor_environment(url: str, **overrides: str) -> dict[str, str]:
    return base_environment(
        DATABASE_URL=url, DJANGO_SETTINGS_MODULE="backend.config.settings", **overrides
    )


def floor_environment(url: str, **overrides: str) -> dict[str, str]:
    return base_environment(
        DATABASE_URL=url, DJANGO_SETTINGS_MODULE="bench.floor.settings", **overrides
    )


def migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=arbor_environment(url),
        check=True,
    )


def seed(url: str, *, volunteers: int, prompts: int, authors: int) -> list[str]:
    """Project, users with tokens, prompts waiting for review; returns the tokens.

    Runs Django in this process with the benchmark database, through the services.
    """
    os.environ.update(arbor_environment(url))
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


def create_floor(url: str, *, items: int) -> None:
    """The floor's tables (it has no migrations: ``--run-syncdb``) and its open items."""
    import psycopg

    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--run-syncdb", "-v", "0"],
        cwd=ROOT,
        env=floor_environment(url),
        check=True,
    )
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO floor_workitem (required, open_slots, completed_count, created_at) "
            "SELECT 3, 3, 0, now() FROM generate_series(1, %s)",
            (items,),
        )


def analyze(url: str) -> None:
    """Fresh statistics, as autovacuum keeps them on a database in service. Right
    after the bulk seeding the planner still believes the tables empty and picks
    nested loops that make each claim scan everything its person already did
    (~80 ms instead of ~0.5 ms per candidate query, measured)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE")


# Each check counts violations; all must be 0.
ARBOR_CHECKS = {
    # More completions, or more submitted plus active assignments, than required.
    "over-assigned items": """
        SELECT count(*) FROM assignments_workitem w
        WHERE w.completed_count > w.required
           OR (SELECT count(*) FROM assignments_assignment a
               WHERE a.work_item_id = w.id AND a.state IN ('active', 'submitted'))
              > w.required""",
    # One person holding or having submitted one item twice.
    "duplicate holds or submissions": """
        SELECT count(*) FROM (
            SELECT 1 FROM assignments_assignment
            WHERE work_item_id IS NOT NULL AND state IN ('active', 'submitted')
            GROUP BY work_item_id, user_id HAVING count(*) > 1) twice""",
}
ARBOR_INFORMATION = {
    # completed_count ≠ submissions, or free slots ≠ required − completed − active.
    "counter mismatches": """
        SELECT count(*) FROM assignments_workitem w
        WHERE w.completed_count <> (SELECT count(*) FROM assignments_assignment a
                                    WHERE a.work_item_id = w.id AND a.state = 'submitted')
           OR (w.state <> 'closed' AND w.open_slots <> w.required - w.completed_count
               - (SELECT count(*) FROM assignments_assignment a
                  WHERE a.work_item_id = w.id AND a.state = 'active'))""",
    "work items": "SELECT count(*) FROM assignments_workitem",
    "submissions": "SELECT count(*) FROM assignments_assignment WHERE state = 'submitted'",
    "trees ready for export": "SELECT count(*) FROM trees_tree WHERE state = 'ready_for_export'",
}
FLOOR_CHECKS = {
    "over-assigned items": """
        SELECT count(*) FROM floor_workitem w
        WHERE w.completed_count > w.required OR w.open_slots < 0
           OR (SELECT count(*) FROM floor_assignment a WHERE a.work_item_id = w.id)
              > w.required""",
    "duplicate holds or submissions": """
        SELECT count(*) FROM (SELECT 1 FROM floor_assignment
                              GROUP BY work_item_id, user_id HAVING count(*) > 1) twice""",
}
FLOOR_INFORMATION = {
    "counter mismatches": """
        SELECT count(*) FROM floor_workitem w
        WHERE w.completed_count <> (SELECT count(*) FROM floor_assignment a
                                    WHERE a.work_item_id = w.id AND a.state = 'submitted')
           OR w.open_slots <> w.required
              - (SELECT count(*) FROM floor_assignment a WHERE a.work_item_id = w.id)""",
    "work items": "SELECT count(*) FROM floor_workitem",
    "submissions": "SELECT count(*) FROM floor_assignment WHERE state = 'submitted'",
}


def table_check(url: str, queries: dict[str, str]) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as connection:
        return {name: connection.execute(sql).fetchone()[0] for name, sql in queries.items()}


# --- Servers ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class System:
    """A server under test: Arbor or the floor, served by one ASGI server."""

    kind: str  # "floor" or "Arbor"
    server: str  # "uvicorn" or "granian"
    name: str
    database: str
    url: str
    port: int
    redis_url: str = ""  # Arbor's
    tokens: list[str] = field(default_factory=list)  # Arbor's, one per volunteer
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    server_header: str = ""  # what the server says it is, to be sure which one answered
    count_queries: bool = True  # ARBOR_COUNT_QUERIES
    extra_environment: dict[str, str] = field(default_factory=dict)  # --arbor-env

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers(self, number: int) -> dict[str, str]:
        """Volunteer ``number``'s credentials."""
        if self.kind == "floor":
            return {"X-Volunteer": str(number + 1)}
        return {"Authorization": f"Token {self.tokens[number]}"}


def start_arbor(system: System, *, workers: int, pool_size: int, data_dir: Path) -> None:
    """``manage.py serve`` in real mode: migrate (nothing to do), collectstatic, Celery
    worker and beat, the ASGI server with ``workers`` processes."""
    environment = arbor_environment(
        system.url,
        REDIS_URL=system.redis_url,
        ARBOR_DB_POOL_SIZE=str(pool_size),
        ARBOR_WEB_WORKERS=str(workers),
        ARBOR_WEB_SERVER=system.server,
        ARBOR_COUNT_QUERIES="1" if system.count_queries else "0",
        ARBOR_DATA_DIR=str(data_dir),
        **system.extra_environment,
    )
    command = [
        sys.executable,
        "manage.py",
        "serve",
        "--no-seed",
        "--host",
        "127.0.0.1",
        "--port",
        str(system.port),
    ]
    _start(system, command, environment, data_dir)


def start_floor(system: System, *, workers: int, pool_size: int, data_dir: Path) -> None:
    environment = floor_environment(
        system.url,
        ARBOR_DB_POOL_SIZE=str(pool_size),
        ARBOR_COUNT_QUERIES="1" if system.count_queries else "0",
    )
    command = web_server_command(
        host="127.0.0.1",
        port=system.port,
        workers=workers,
        server=system.server,
        log_level="error",
        application="bench.floor.asgi:application",
    )
    _start(system, command, environment, data_dir)


def _start(system: System, command: list[str], environment: dict[str, str], logs: Path) -> None:
    system.log_path = logs / f"{system.kind}-{system.server}.log"
    with open(system.log_path, "wb") as log:
        # Its own session and process group: its CPU is counted by group, and stopping
        # it can reach every process it started.
        system.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_up(system: System, timeout: float = 120) -> None:
    import httpx

    assert system.process is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if system.process.poll() is not None:
            raise SystemExit(
                f"{system.name} exited with code {system.process.returncode}:\n{_log_tail(system)}"
            )
        try:
            response = httpx.get(f"{system.base_url}/healthz", timeout=2)
            if response.status_code == 200:
                system.server_header = response.headers.get("server", "(no Server header)")
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{system.name} did not answer /healthz within {timeout:.0f} s")


def _log_tail(system: System, lines: int = 30) -> str:
    if system.log_path is None or not system.log_path.exists():
        return ""
    return "\n".join(system.log_path.read_text(errors="replace").splitlines()[-lines:])


def stop(system: System) -> None:
    """SIGTERM to the group leader (``serve`` stops its server and Celery itself; the
    uvicorn/granian supervisor stops its workers), then the whole group if needed."""
    process = system.process
    if process is None or process.poll() is not None:
        return
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever is left of this group
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def celery_queue_length(redis_url: str) -> int:
    import redis

    return int(redis.Redis.from_url(redis_url).llen(CELERY_QUEUE))


def wait_for_celery(redis_url: str, timeout: float = 20) -> float:
    """Wait until the Celery queue is empty; returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout and celery_queue_length(redis_url):
        time.sleep(0.25)
    return time.monotonic() - started


def flush_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


# --- CPU accounting (from /proc, Linux) -------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """CPU seconds of the processes of one system, sampled while a step runs.

    Groups: ``web`` (the server's process group, Celery excepted), ``celery`` (the
    Celery worker and beat that ``serve`` starts in that group) and ``postgres`` (the
    backends connected to the system's database). A backend that ends during the step
    (a Celery task's connection) counts up to its last sample, taken every second.
    Every other process on the machine is ``other``: on a shared machine, the top ones
    say who else was busy during the step.
    """

    def __init__(self, process_group: int, database: str) -> None:
        self.process_group = process_group
        self.database = database
        self._kinds: dict[int, str] = {}  # pid → group
        self._names: dict[int, str] = {}  # pid → command name, for "other"
        self.start = self._sample()
        self.last = dict(self.start)
        self.start_self = sum(os.times()[:2])
        self.start_machine = _machine_busy_seconds()
        self.start_wall = time.monotonic()

    def _kind(self, pid: int, name: str, group: int) -> str:
        if pid in self._kinds:
            return self._kinds[pid]
        kind = "other"
        if group == self.process_group:
            kind = "celery" if "celery" in _cmdline(pid) else "web"
        elif name == "postgres":
            # "postgres: 15/main: USER DATABASE HOST(PORT) STATE" (the cluster name part
            # only when cluster_name is set).
            title = _cmdline(pid).split()
            words = title[2:] if len(title) > 2 and title[1].endswith(":") else title[1:]
            if len(words) > 1 and words[1] == self.database:
                kind = "postgres"
        self._kinds[pid] = kind
        if kind == "other":
            self._names[pid] = name
        return kind

    def _sample(self) -> dict[int, tuple[str, float]]:
        seen: dict[int, tuple[str, float]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as stat_file:
                    stat = stat_file.read()
            except OSError:
                continue
            pid = int(entry.name)
            if pid == os.getpid():  # the load generator: counted on its own
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            kind = self._kind(pid, name, int(fields[2]))
            seen[pid] = (kind, (int(fields[11]) + int(fields[12])) / TICKS)
        return seen

    def sample(self) -> None:
        self.last.update(self._sample())

    def finish(self) -> dict[str, float]:
        """CPU seconds per group since the sampler was made, and the wall time."""
        self.sample()
        used: dict[str, float] = {"web": 0.0, "postgres": 0.0, "celery": 0.0, "other": 0.0}
        others: Counter[str] = Counter()
        for pid, (kind, seconds) in self.last.items():
            spent = seconds - self.start.get(pid, (kind, 0.0))[1]
            used[kind] += spent
            if kind == "other":
                others[self._names[pid]] += spent
        self.busiest_others: list[tuple[str, float]] = [
            (name, seconds) for name, seconds in others.most_common(3)
        ]
        used["load generator"] = sum(os.times()[:2]) - self.start_self
        used["whole machine"] = _machine_busy_seconds() - self.start_machine
        used["wall"] = time.monotonic() - self.start_wall
        return used


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline_file:
            return cmdline_file.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _machine_busy_seconds() -> float:
    with open("/proc/stat") as stat_file:
        values = [int(value) for value in stat_file.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS


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
    # Statements the server reported (X-Query-Count) for the counted requests.
    statements: Counter[str] = field(default_factory=Counter)
    requests: Counter[str] = field(default_factory=Counter)

    def count_statements(self, what: str, response: Any) -> None:
        value = response.headers.get("X-Query-Count")
        if value is not None:
            self.statements[what] += int(value)
            self.requests[what] += 1

    @property
    def server_errors(self) -> int:
        return sum(
            number
            for counter in (self.claim_status, self.submit_status)
            for status, number in counter.items()
            if status >= 500
        )


async def volunteer(
    base_url: str,
    headers: dict[str, str],
    kind: str,
    number: int,
    deadlines: tuple[float, float],
    tally: Tally,
) -> None:
    import httpx

    counting_from, stop_at = deadlines
    rng = random.Random(number)
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
                tally.count_statements(f"claim {claimed.status_code}", claimed)
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
            started = time.perf_counter()
            try:
                done = await client.post(
                    f"/api/v1/assignments/{assignment['id']}/submit",
                    json=answer_for(assignment, rng),
                    headers={"Idempotency-Key": f"{number}-{assignment['id']}"},
                )
            except httpx.HTTPError as error:
                tally.error_codes[f"submit {type(error).__name__}"] += counted
                continue
            if counted:
                tally.submit_ms.append((time.perf_counter() - started) * 1000)
                tally.submit_status[done.status_code] += 1
                tally.count_statements(f"submit {done.status_code}", done)
                if done.status_code == 200:
                    tally.cycles += 1
                else:
                    tally.error_codes[f"submit {done.status_code} {_code(done)}"] += 1


def _code(response: Any) -> str:
    try:
        return str(response.json().get("code", ""))
    except ValueError:
        return ""


@dataclass
class Step:
    system: System
    volunteers: int
    tally: Tally
    cpu: dict[str, float]  # CPU seconds per group, and "wall"
    busiest_others: list[tuple[str, float]]  # other processes' CPU seconds, by name

    @property
    def rate(self) -> float:
        return self.tally.cycles / self.cpu["wall"]

    def per_cycle_ms(self, group: str) -> float:
        return self.cpu[group] * 1000 / self.tally.cycles if self.tally.cycles else float("nan")

    @property
    def queries_per_cycle(self) -> float:
        """NaN when not counted (``--no-query-count``) or no cycle was done."""
        total = sum(self.tally.statements.values())
        counted = self.tally.cycles and self.tally.requests
        return total / self.tally.cycles if counted else float("nan")

    def p99(self, what: str) -> float:
        return percentile(self.tally.claim_ms if what == "claim" else self.tally.submit_ms, 0.99)


async def run_step(system: System, count: int, kind: str, warmup: float, duration: float) -> Step:
    """Run one step; CPU is counted from the end of the warm-up until the last
    volunteer has had its last answer."""
    assert system.process is not None
    tally = Tally()
    now = time.monotonic()
    deadlines = (now + warmup, now + warmup + duration)
    samplers: list[CpuSampler] = []
    running = True

    async def sample_cpu() -> None:
        await asyncio.sleep(warmup)
        samplers.append(CpuSampler(system.process.pid, system.database))  # type: ignore[union-attr]
        while running:
            await asyncio.sleep(1)
            samplers[0].sample()

    sampling = asyncio.create_task(sample_cpu())
    await asyncio.gather(
        *(
            volunteer(system.base_url, system.headers(number), kind, number, deadlines, tally)
            for number in range(count)
        )
    )
    running = False
    sampling.cancel()
    cpu = samplers[0].finish()
    return Step(system, count, tally, cpu, samplers[0].busiest_others)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def triple(values: list[float]) -> str:
    return " / ".join(f"{percentile(values, share):.0f}" for share in (0.50, 0.95, 0.99))


# --- Main -------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Claim+submit load benchmark of the production set-up, next to the "
        "framework floor (see the module doc).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--volunteers",
        default="1,8,32,64",
        help="comma-separated numbers of simultaneous volunteers, one step each",
    )
    parser.add_argument("--duration", type=float, default=20, help="measured seconds per step")
    parser.add_argument("--warmup", type=float, default=2, help="uncounted seconds per step")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="ASGI worker processes of both servers (ARBOR_WEB_WORKERS); 0: one per core",
    )
    parser.add_argument(
        "--server",
        default="uvicorn",
        help="the ASGI server of both (ARBOR_WEB_SERVER): uvicorn or granian; "
        "'uvicorn,granian' runs the floor and Arbor under each, step by step side by side",
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=8,
        help="ARBOR_DB_POOL_SIZE of both: pooled connections per worker (make run's default)",
    )
    parser.add_argument("--no-floor", action="store_true", help="measure Arbor only")
    parser.add_argument("--no-arbor", action="store_true", help="measure the floor only")
    parser.add_argument("--kind", default="any", choices=KINDS, help="what the volunteers ask for")
    parser.add_argument("--prompts", type=int, default=1500, help="prompts seeded for review")
    parser.add_argument(
        "--database",
        default="arbor_bench",
        help="database to (re)create for Arbor; the floor's gets the suffix _floor, "
        "a second server's the suffix _2",
    )
    parser.add_argument(
        "--redis-url",
        default=DEFAULT_REDIS_URL,
        help="Redis database for Arbor's Celery broker, cache and channel layer; "
        "emptied before and after (a second server's Arbor uses the next database)",
    )
    parser.add_argument(
        "--no-query-count",
        action="store_true",
        help="serve without ARBOR_COUNT_QUERIES (to see what counting costs; no queries/cycle)",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the databases")
    parser.add_argument(
        "--arbor-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an environment variable for Arbor's server (repeatable), e.g. "
        "ARBOR_HTTP_HANDLER=asgi",
    )
    arguments = parser.parse_args(argv)
    arguments.steps = [int(value) for value in arguments.volunteers.split(",") if value.strip()]
    if not arguments.steps or min(arguments.steps) < 1:
        parser.error("--volunteers needs positive numbers")
    if arguments.no_floor and arguments.no_arbor:
        parser.error("--no-floor and --no-arbor leave nothing to measure")
    arguments.servers = [value.strip() for value in arguments.server.split(",") if value.strip()]
    if not arguments.servers or len(arguments.servers) > 2:
        parser.error("--server needs one or two of uvicorn, granian")
    for server in arguments.servers:
        if server not in ("uvicorn", "granian"):
            parser.error(f"unknown --server {server}: uvicorn or granian")
    return arguments


def next_redis_database(url: str) -> str:
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) + 1
    return urlunsplit((parts.scheme, parts.netloc, f"/{number}", parts.query, parts.fragment))


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_SERVER_URL
    for url in (server_url, arguments.redis_url):
        host = urlsplit(url).hostname or ""
        if host not in ("127.0.0.1", "localhost", "::1", ""):
            raise SystemExit(f"refusing a non-loopback host: {host}")
    workers = web_worker_count(configured=arguments.workers, cpu_count=os.cpu_count())
    # SIGTERM (a CI timeout, kill) ends the run through the same clean-up as Ctrl+C.
    signal.signal(signal.SIGTERM, _interrupt)

    started = time.monotonic()
    load_before = os.getloadavg()
    systems: list[System] = []
    several = len(arguments.servers) > 1
    for index, server in enumerate(arguments.servers):
        suffix = f"_{index + 1}" if index else ""
        label = f" ({server})" if several else ""
        if not arguments.no_floor:
            name = f"{arguments.database}_floor{suffix}"
            url = database_url(server_url, name)
            systems.append(System("floor", server, f"floor{label}", name, url, free_port()))
        if not arguments.no_arbor:
            name = f"{arguments.database}{suffix}"
            url = database_url(server_url, name)
            redis_url = arguments.redis_url
            for _ in range(index):
                redis_url = next_redis_database(redis_url)
            arbor = System("Arbor", server, f"Arbor{label}", name, url, free_port(), redis_url)
            arbor.extra_environment = dict(
                setting.split("=", 1) for setting in arguments.arbor_env if "=" in setting
            )
            systems.append(arbor)
    logs = Path(tempfile.mkdtemp(prefix="arbor-load-"))
    steps: list[Step] = []
    try:
        print("recreating the databases, migrating, seeding …", flush=True)
        seeded: System | None = None
        for system in systems:
            if system.kind == "floor":
                recreate_database(server_url, system.database)
                create_floor(system.url, items=arguments.prompts)
            elif seeded is None:
                recreate_database(server_url, system.database)
                migrate(system.url)
                system.tokens = seed(
                    system.url,
                    volunteers=max(arguments.steps),
                    prompts=arguments.prompts,
                    authors=10,
                )
                seeded = system
            else:
                # The same data for the second server: a copy of the first one's database.
                copy_database(server_url, system.database, template=seeded.database)
                system.tokens = seeded.tokens
            if system.kind == "Arbor":
                flush_redis(system.redis_url)
            analyze(system.url)
        for system in systems:
            system.count_queries = not arguments.no_query_count
            if system.kind == "floor":
                start_floor(system, workers=workers, pool_size=arguments.pool_size, data_dir=logs)
            else:
                start_arbor(system, workers=workers, pool_size=arguments.pool_size, data_dir=logs)
        for system in systems:
            wait_until_up(system)
        answered_by = ", ".join(f"{system.name}: {system.server_header}" for system in systems)
        print(
            _header(arguments, workers, time.monotonic() - started, load_before, answered_by),
            flush=True,
        )
        for count in arguments.steps:
            for system in systems:
                step = asyncio.run(
                    run_step(system, count, arguments.kind, arguments.warmup, arguments.duration)
                )
                steps.append(step)
                _print_step(step)
                if system.kind == "Arbor":
                    waited = wait_for_celery(system.redis_url)
                    if waited > 1:
                        print(f"{'':>27}(waited {waited:.0f} s for the Celery queue to empty)")
        for system in systems:
            stop(system)
        checks = {
            system.name: table_check(
                system.url,
                {**FLOOR_CHECKS, **FLOOR_INFORMATION}
                if system.kind == "floor"
                else {**ARBOR_CHECKS, **ARBOR_INFORMATION},
            )
            for system in systems
        }
        _print_summary(steps, checks, load_before)
        failed = any(
            checks[system.name][check]
            for system in systems
            for check in (FLOOR_CHECKS if system.kind == "floor" else ARBOR_CHECKS)
        )
        return 1 if failed else 0
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130
    finally:
        for system in systems:
            stop(system)
        if not arguments.keep_db:
            for system in systems:
                drop_database(server_url, system.database)
        for system in systems:
            if system.kind == "Arbor":
                flush_redis(system.redis_url)
        shutil.rmtree(logs, ignore_errors=True)
        print(f"total time {time.monotonic() - started:.0f} s", flush=True)


def _interrupt(signal_number: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _header(
    arguments: argparse.Namespace,
    workers: int,
    setup_seconds: float,
    load: tuple[float, ...],
    answered_by: str,
) -> str:
    import psycopg

    with psycopg.connect(os.environ.get("DATABASE_URL") or DEFAULT_SERVER_URL) as connection:
        version = connection.execute("SHOW server_version").fetchone()[0]
    servers = " and ".join(
        f"{server} {__import__(server).__version__}" for server in arguments.servers
    )
    return (
        f"\nload benchmark — PostgreSQL {version}, {servers} "
        f"× {workers} worker processes, DB pool "
        f"{arguments.pool_size} per worker, DEBUG off; Arbor through manage.py serve with "
        f"Redis, a Celery worker and beat\n"
        f"kind={arguments.kind}, {arguments.prompts} prompts (floor: open items) seeded, "
        f"{arguments.duration:.0f} s per step after {arguments.warmup:.0f} s warm-up; "
        f"{os.cpu_count()} CPUs, load average before: {_load(load)}; "
        f"setup took {setup_seconds:.0f} s; Server headers: {answered_by}\n"
        f"{'system':>17} {'volunteers':>10} {'cycles/s':>9} {'claim ms p50/p95/p99':>22} "
        f"{'submit ms p50/p95/p99':>22} {'claims':>7} {'no work':>8} {'5xx':>5} {'errors':>7}"
    )


def _load(load: tuple[float, ...]) -> str:
    return ", ".join(f"{value:.2f}" for value in load)


def _print_step(step: Step) -> None:
    tally = step.tally
    errors = sum(tally.error_codes.values())
    print(
        f"{step.system.name:>17} {step.volunteers:>10} {step.rate:>9.1f} "
        f"{triple(tally.claim_ms):>22} "
        f"{triple(tally.submit_ms):>22} {len(tally.claim_ms):>7} {tally.no_work:>8} "
        f"{tally.server_errors:>5} {errors:>7}",
        flush=True,
    )
    indent = " " * 27
    statuses = ", ".join(
        f"{what} {status}: {number}"
        for what, counter in (("claim", tally.claim_status), ("submit", tally.submit_status))
        for status, number in sorted(counter.items())
    )
    print(f"{indent}answers: {statuses or 'none'}")
    if tally.error_codes:
        details = ", ".join(f"{code}: {n}" for code, n in tally.error_codes.most_common())
        print(f"{indent}errors: {details}")
    if tally.requests:
        statements = ", ".join(
            f"{what} {tally.statements[what] / tally.requests[what]:.1f}"
            for what in sorted(tally.requests)
        )
        print(
            f"{indent}statements per request: {statements}; per cycle {step.queries_per_cycle:.1f}"
        )
    wall = step.cpu["wall"]
    cores = ", ".join(
        f"{group} {step.cpu[group] / wall:.2f}"
        for group in ("web", "postgres", "celery", "load generator", "other", "whole machine")
    )
    others = ", ".join(f"{name} {seconds / wall:.2f}" for name, seconds in step.busiest_others)
    print(f"{indent}CPU cores busy: {cores} (other: {others})")
    if tally.cycles:
        costs = ", ".join(
            f"{group} {step.per_cycle_ms(group):.1f}"
            for group in ("web", "postgres", "celery", "load generator")
        )
        print(f"{indent}CPU ms per cycle: {costs}", flush=True)


def _ratio(value: float, floor: float) -> str:
    if floor != floor or value != value or not floor:  # NaN or zero
        return "–"
    return f"{value / floor:.2f}"


def _print_summary(
    steps: list[Step], checks: dict[str, dict[str, int]], load_before: tuple[float, ...]
) -> None:
    for name, results in checks.items():
        print(f"\nfinal check, {name}: " + ", ".join(f"{n} {what}" for what, n in results.items()))
    print(
        f"\nload average before: {_load(load_before)}, after: {_load(os.getloadavg())}\n\n"
        "| volunteers | system | cycles/s | claim p50 / p95 / p99 ms | submit p50 / p95 / p99 ms "
        "| queries / cycle | web CPU ms / cycle | PG CPU ms / cycle | Celery CPU ms / cycle "
        "| 5xx |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    for step in steps:
        print(
            f"| {step.volunteers} | {step.system.name} | {step.rate:.1f} "
            f"| {triple(step.tally.claim_ms)} "
            f"| {triple(step.tally.submit_ms)} | {_number(step.queries_per_cycle)} "
            f"| {step.per_cycle_ms('web'):.1f} | {step.per_cycle_ms('postgres'):.1f} "
            f"| {step.per_cycle_ms('celery'):.1f} | {step.tally.server_errors} |"
        )
    floor = {
        (step.system.server, step.volunteers): step for step in steps if step.system.kind == "floor"
    }
    arbors = {
        (step.system.server, step.volunteers): step for step in steps if step.system.kind == "Arbor"
    }
    paired = [key for key in arbors if key in floor]
    if paired:
        print(
            "\nArbor ÷ floor, same run (cycles/s: higher is better; the others: lower is "
            f"better; the aim is cycles/s ≥ {TARGET_SHARE_OF_FLOOR})\n\n"
            "| volunteers | server | cycles/s | claim p99 | submit p99 | queries / cycle "
            "| web CPU / cycle | PG CPU / cycle |\n|---|---|---|---|---|---|---|---|"
        )
        for server, count in paired:
            a, f = arbors[server, count], floor[server, count]
            print(
                f"| {count} | {server} | {_ratio(a.rate, f.rate)} "
                f"| {_ratio(a.p99('claim'), f.p99('claim'))} "
                f"| {_ratio(a.p99('submit'), f.p99('submit'))} "
                f"| {_ratio(a.queries_per_cycle, f.queries_per_cycle)} "
                f"| {_ratio(a.per_cycle_ms('web'), f.per_cycle_ms('web'))} "
                f"| {_ratio(a.per_cycle_ms('postgres'), f.per_cycle_ms('postgres'))} |"
            )
    # DESIGN's targets, for the first server named (the product's choice by default).
    first = steps[0].system.server if steps else ""
    arbor = {count: step for (server, count), step in arbors.items() if server == first}
    verdicts = []
    for count, target in TARGET_CYCLES_PER_SECOND.items():
        if count in arbor:
            rate = arbor[count].rate
            verdicts.append(f"≥ {target} cycles/s at {count}: {rate:.0f} ({_met(rate >= target)})")
    if 8 in arbor:
        p99 = arbor[8].p99("claim")
        verdicts.append(
            f"claim p99 ≤ {TARGET_CLAIM_P99_MS_AT_8} ms at 8: {p99:.0f} ms "
            f"({_met(p99 <= TARGET_CLAIM_P99_MS_AT_8)})"
        )
    if arbor:
        web = max(step.per_cycle_ms("web") for step in arbor.values())
        queries = max(step.queries_per_cycle for step in arbor.values())
        verdicts.append(
            f"web CPU ≤ {TARGET_WEB_CPU_MS} ms/cycle: {web:.1f} ({_met(web <= TARGET_WEB_CPU_MS)})"
        )
        if queries == queries:  # counted
            verdicts.append(
                f"≤ {TARGET_QUERIES} queries/cycle: {queries:.1f} "
                f"({_met(queries <= TARGET_QUERIES)})"
            )
    if verdicts:
        print("\nDESIGN targets (worst step): " + "; ".join(verdicts))


def _number(value: float) -> str:
    return "–" if value != value else f"{value:.1f}"  # NaN: not measured


def _met(condition: bool) -> str:
    return "met" if condition else "NOT met"


if __name__ == "__main__":
    sys.exit(main())
