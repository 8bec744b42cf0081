"""Fault drill and soak: volunteers at work while the services fail under them.

    python bench/drill.py                          # drill: ~2 minutes, 24 volunteers
    python bench/drill.py --phase-seconds 10 --volunteers 8 --json drill.json
    python bench/drill.py --soak                   # soak: 200 volunteers for 10 minutes
    python bench/drill.py --soak --volunteers 50 --duration 120

Everything runs on loopback against **private** servers that the drill starts and
removes (``tests/private_servers.py``): a PostgreSQL cluster (initdb in a temporary
directory, a free port) and a Redis server. Nothing touches the machine's shared
PostgreSQL or Redis. The stack is Arbor's real mode as production runs it on one
machine: ``manage.py serve`` with ``REDIS_URL``, which starts a Celery worker and
Celery beat (outbox relay every 2 s, sweep every 10 s here) and the ASGI server with
``--workers`` processes, and starts a Celery process again if it exits.

The volunteers are ``bench/load.py``'s: asyncio + httpx, one keep-alive connection
each, claim → submit cycles through the REST API with an API token, ``kind=any``.
Like a real client they retry: a claim or submit answered 5xx, or that got no answer
(connection refused, reset, timeout), is sent again after a short backoff (0.2 s
doubling to 2 s), a submit always with the **same** ``Idempotency-Key``, until it is
answered. A submit answered 2xx is *acknowledged*: its assignment, key and message id
are remembered for the invariant checker.

Drill (default): five phases of ``--phase-seconds`` each: ``calm``; ``worker kill``
(the Celery worker and its pool processes get SIGKILL; ``serve`` starts a new
one); ``Redis restart`` (killed, started again empty on the same
port); ``PostgreSQL restart`` (``pg_ctl stop -m immediate``, started again);
``after``. Soak (``--soak``): one phase of ``--duration`` seconds, no faults, the web
processes' RSS sampled every ``--rss-interval`` seconds.

Afterwards the volunteers stop, the drill waits for the outbox and the Celery queue to
drain and for a sweep, then runs the invariant checker (``bench/invariants.py``) and
prints one table: per phase the requests, 2xx/4xx/5xx and connection errors, p50/p99
latency, and per fault how long clients saw errors and when ``/healthz`` answered 200
again; then the invariants. Exit status 1 when an invariant fails, or (soak) when any
5xx was answered; ``--json`` writes the figures for a program to read.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.invariants import Acknowledged, CheckResult, check_invariants, summary  # noqa: E402
from bench.load import (  # noqa: E402
    CELERY_QUEUE,
    answer_for,
    arbor_environment,
    percentile,
    seed,
)
from tests.private_servers import (  # noqa: E402
    PrivatePostgres,
    PrivateRedis,
    free_port,
    missing_server_binaries,
)

DATABASE = "arbor_drill"
WORKER_MARKER = "celery -A tasks worker"
WEB_MARKER = "backend.common.web_workers"
SWEEP_SECONDS = 10
RELAY_SECONDS = 2
BACKOFF_START, BACKOFF_MAX = 0.2, 2.0
NO_WORK_PAUSE_SECONDS = 0.05


# --- The stack ---------------------------------------------------------------------


class Stack:
    """Private PostgreSQL and Redis, and Arbor's processes on top of them."""

    def __init__(self, *, workers: int, pool_size: int, web_concurrency: int | None = None) -> None:
        self.workers = workers
        self.pool_size = pool_size
        self.web_concurrency = web_concurrency
        self.directory = Path(tempfile.mkdtemp(prefix="arbor-drill-"))
        self.postgres = PrivatePostgres()
        self.redis = PrivateRedis()
        self.port = free_port()
        self.serve: subprocess.Popen[bytes] | None = None
        self.database_url = self.postgres.url(DATABASE)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return arbor_environment(
            self.database_url,
            REDIS_URL=self.redis.url,
            ARBOR_DB_POOL_SIZE=str(self.pool_size),
            ARBOR_WEB_WORKERS=str(self.workers),
            ARBOR_DATA_DIR=str(self.directory),
            ARBOR_SWEEP_INTERVAL_SECONDS=str(SWEEP_SECONDS),
            ARBOR_OUTBOX_RELAY_SECONDS=str(RELAY_SECONDS),
            ARBOR_COUNT_QUERIES="0",
            **(
                {}
                if self.web_concurrency is None
                else {"ARBOR_WEB_CONCURRENCY": str(self.web_concurrency)}
            ),
        )

    def start_servers(self) -> None:
        self.postgres.init()
        self.postgres.start()
        import psycopg

        with psycopg.connect(self.postgres.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
        self.redis.start()

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=arbor_environment(self.database_url),
            check=True,
        )

    def start(self) -> None:
        """``manage.py serve`` in real mode, in its own session (so that stopping it
        reaches every process it started); its output goes to ``serve.log``."""
        with open(self.directory / "serve.log", "ab") as log:
            self.serve = subprocess.Popen(
                [sys.executable, "manage.py", "serve", "--no-seed", "--host", "127.0.0.1",
                 "--port", str(self.port)],
                cwd=ROOT,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def processes(self, marker: str) -> list[int]:
        """Processes of the stack whose command line contains ``marker``, with all
        their descendants (the web server's workers, the Celery pool)."""
        if self.serve is None:
            return []
        table = _process_table()
        found = [
            pid
            for pid, (parent, cmdline) in table.items()
            if marker in cmdline and self.serve.pid in _ancestors(pid, table)
        ]
        members = set(found)
        changed = True
        while changed:
            extra = {pid for pid, (parent, _) in table.items() if parent in members} - members
            members |= extra
            changed = bool(extra)
        return sorted(members)

    def worker_pid(self) -> int | None:
        """The Celery worker's main process (a child of serve)."""
        if self.serve is None:
            return None
        table = _process_table()
        for pid, (parent, cmdline) in table.items():
            if parent == self.serve.pid and WORKER_MARKER in cmdline:
                return pid
        return None

    def kill_worker(self) -> int | None:
        """SIGKILL to the worker and its pool processes: no warm shutdown, no acks.
        Returns the pid killed."""
        pid = self.worker_pid()
        for member in self.processes(WORKER_MARKER):
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGKILL)
        return pid

    def wait_until_up(self, timeout: float = 120) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.serve is not None and self.serve.poll() is not None:
                raise SystemExit(f"manage.py serve exited:\n{self.log_tail('serve')}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise SystemExit(f"/healthz did not answer 200 within {timeout:.0f} s")

    def healthy(self) -> bool:
        import httpx

        try:
            return httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.directory / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def web_rss_mb(self) -> float:
        """Resident memory of the web server's processes (supervisor and workers)."""
        return sum(_rss_kb(pid) for pid in self.processes(WEB_MARKER)) / 1024

    def stop(self) -> None:
        """SIGTERM to serve (it stops the web server and Celery), then SIGKILL to
        whatever is left of its session."""
        process = self.serve
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

    def remove(self) -> None:
        """Stop everything and delete the servers' files (safe to call twice)."""
        try:
            self.stop()
        finally:
            self.redis.kill()
            try:
                self.postgres.remove()
            finally:
                shutil.rmtree(self.directory, ignore_errors=True)


def _process_table() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, command line) of every process."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat_file:
                stat = stat_file.read()
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline_file:
                cmdline = cmdline_file.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        table[int(entry.name)] = (int(stat[stat.rindex(")") + 2 :].split()[1]), cmdline)
    return table


def _ancestors(pid: int, table: dict[int, tuple[int, str]]) -> set[int]:
    seen: set[int] = set()
    while pid in table and pid not in seen:
        seen.add(pid)
        pid = table[pid][0]
    return seen


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- What the clients saw ------------------------------------------------------------


@dataclass
class Record:
    """One request: when it was sent (seconds since the start), the phase in which
    its answer came, what it was, its status (0: no answer) and its latency."""

    at: float
    phase: str
    what: str
    status: int
    ms: float


@dataclass
class Fault:
    name: str
    phase: str
    started: float = 0.0  # seconds since the start of the run
    restored: float = 0.0  # the service was started again
    healthy: float = 0.0  # /healthz answered 200 again (the worker: queue drained)


@dataclass
class Run:
    started: float = field(default_factory=time.monotonic)
    phase: str = "setup"
    records: list[Record] = field(default_factory=list)
    acknowledged: list[Acknowledged] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MB)
    stopping: bool = False

    def now(self) -> float:
        return time.monotonic() - self.started

    def note(self, what: str, status: int, sent: float) -> None:
        """A request sent at ``sent``, answered (or failed) now: it counts in the phase
        in which its answer came."""
        self.records.append(Record(sent, self.phase, what, status, (self.now() - sent) * 1000))


def _retry_after(response: Any) -> float:
    """The seconds a response's ``Retry-After`` asks for; 0 without one (or without a
    response: the request got no answer)."""
    if response is None:
        return 0.0
    try:
        return float(response.headers.get("Retry-After", "0"))
    except ValueError:
        return 0.0


async def volunteer(run: Run, base_url: str, token: str, number: int) -> None:
    """Claim → submit until the run stops, retrying as a real client does."""
    import httpx

    rng = random.Random(number)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Token {token}"},
        limits=limits,
        timeout=30,
    ) as client:

        async def send(what: str, path: str, body: dict[str, Any], **headers: str) -> Any:
            """Send until answered below 500; None when the run stopped first."""
            backoff = BACKOFF_START
            while True:
                sent = run.now()
                try:
                    response = await client.post(path, json=body, headers=headers)
                except httpx.HTTPError:
                    run.note(what, 0, sent)
                    response = None
                else:
                    run.note(what, response.status_code, sent)
                    if response.status_code < 500:
                        return response
                # Claims stop with the run; a submit is seen through, as a person would.
                if run.stopping and what == "claim":
                    return None
                pause = min(max(backoff, _retry_after(response)), BACKOFF_MAX)
                await asyncio.sleep(pause * (0.5 + rng.random()))
                backoff = min(backoff * 2, BACKOFF_MAX)

        while not run.stopping:
            claimed = await send(
                "claim", "/api/v1/assignments/", {"project": "bench", "lang": "en", "kind": "any"}
            )
            if claimed is None:
                break
            if claimed.status_code != 201:
                await asyncio.sleep(NO_WORK_PAUSE_SECONDS)
                continue
            assignment = claimed.json()
            key = f"drill-{number}-{assignment['id']}"
            done = await send(
                "submit",
                f"/api/v1/assignments/{assignment['id']}/submit",
                answer_for(assignment, rng),
                **{"Idempotency-Key": key},
            )
            if done is not None and 200 <= done.status_code < 300:
                message = done.json().get("message")
                run.acknowledged.append(
                    Acknowledged(
                        assignment["id"],
                        assignment["kind"],
                        key,
                        message["id"] if message else None,
                    )
                )


# --- Faults ------------------------------------------------------------------------


def _wait_healthy(stack: Stack, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stack.healthy():
        time.sleep(0.1)


def _queue_length(stack: Stack) -> int:
    import redis

    try:
        return int(redis.Redis.from_url(stack.redis.url, socket_timeout=2).llen(CELERY_QUEUE))
    except redis.RedisError:
        return -1


def fault_worker(stack: Stack, run: Run, fault: Fault, outage: float) -> None:
    """SIGKILL to the worker; ``manage.py serve`` starts a new one by itself."""
    fault.started = run.now()
    killed = stack.kill_worker()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and stack.worker_pid() in (None, killed):
        time.sleep(0.1)
    fault.restored = run.now()
    while time.monotonic() < deadline and _queue_length(stack) != 0:
        time.sleep(0.2)
    fault.healthy = run.now()


def fault_redis(stack: Stack, run: Run, fault: Fault, outage: float) -> None:
    fault.started = run.now()
    stack.redis.kill()
    time.sleep(outage)
    stack.redis.start()
    fault.restored = run.now()
    _wait_healthy(stack)
    fault.healthy = run.now()


def fault_postgres(stack: Stack, run: Run, fault: Fault, outage: float) -> None:
    fault.started = run.now()
    stack.postgres.stop()
    time.sleep(outage)
    stack.postgres.start()
    fault.restored = run.now()
    _wait_healthy(stack)
    fault.healthy = run.now()


FAULTS: dict[str, Callable[[Stack, Run, Fault, float], None]] = {
    "worker kill": fault_worker,
    "Redis restart": fault_redis,
    "PostgreSQL restart": fault_postgres,
}


async def conduct(
    stack: Stack, run: Run, phases: list[str], seconds: float, outage: float, rss_every: float
) -> None:
    """Switch phases, inject each phase's fault at its start, sample RSS."""

    async def sample_rss() -> None:
        while not run.stopping:
            run.rss.append((run.now(), stack.web_rss_mb()))
            await asyncio.sleep(rss_every)

    sampling = asyncio.create_task(sample_rss()) if rss_every > 0 else None
    for phase in phases:
        run.phase = phase
        print(f"{run.now():7.1f} s  phase: {phase}", flush=True)
        began = time.monotonic()
        if phase in FAULTS:
            fault = Fault(phase, phase)
            run.faults.append(fault)
            await asyncio.to_thread(FAULTS[phase], stack, run, fault, outage)
        await asyncio.sleep(max(0.0, seconds - (time.monotonic() - began)))
    run.phase = "stopping"
    run.stopping = True
    if sampling is not None:
        sampling.cancel()
        run.rss.append((run.now(), stack.web_rss_mb()))


async def work(
    stack: Stack,
    run: Run,
    tokens: list[str],
    phases: list[str],
    seconds: float,
    outage: float,
    rss_every: float,
) -> None:
    await asyncio.gather(
        conduct(stack, run, phases, seconds, outage, rss_every),
        *(volunteer(run, stack.base_url, token, number) for number, token in enumerate(tokens)),
    )


# --- Afterwards --------------------------------------------------------------------


def drain(stack: Stack, timeout: float = 180) -> float:
    """Wait until the outbox and the Celery queue are empty, then for one sweep and
    for what it queued; returns the seconds waited."""
    import psycopg

    started = time.monotonic()

    def drained() -> bool:
        with psycopg.connect(stack.database_url) as connection:
            (rows,) = connection.execute("SELECT count(*) FROM common_outboxmessage").fetchone()
        return rows == 0 and _queue_length(stack) == 0

    deadline = started + timeout
    while time.monotonic() < deadline and not drained():
        time.sleep(0.5)
    time.sleep(SWEEP_SECONDS + 2)
    while time.monotonic() < deadline and not drained():
        time.sleep(0.5)
    return time.monotonic() - started


def invariants(stack: Stack, run: Run) -> list[CheckResult]:
    import psycopg

    with psycopg.connect(stack.database_url) as connection, connection.cursor() as cursor:
        return check_invariants(cursor, run.acknowledged, sweep_interval_seconds=SWEEP_SECONDS)


@dataclass
class PhaseFigures:
    phase: str
    requests: int
    ok: int
    client_errors: int
    server_errors: int
    no_answer: int
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)  # answers by status
    outage_s: float | None = None  # the service was down (killed → started again)
    errors_for_s: float | None = None  # from the fault to the last failed request
    # From the fault to /healthz answering 200 again; for the worker, to the Celery
    # queue being empty again (the new worker has caught up).
    healthy_after_s: float | None = None


def figures(run: Run, phases: list[str]) -> list[PhaseFigures]:
    rows = []
    faults = {fault.phase: fault for fault in run.faults}
    for phase in phases:
        records = [record for record in run.records if record.phase == phase]
        statuses = Counter(record.status for record in records)
        answered = [record.ms for record in records if record.status]
        row = PhaseFigures(
            phase=phase,
            requests=len(records),
            ok=sum(n for status, n in statuses.items() if 200 <= status < 300),
            client_errors=sum(n for status, n in statuses.items() if 400 <= status < 500),
            server_errors=sum(n for status, n in statuses.items() if status >= 500),
            no_answer=statuses[0],
            p50_ms=percentile(answered, 0.50),
            p99_ms=percentile(answered, 0.99),
            statuses={str(status): n for status, n in sorted(statuses.items())},
        )
        fault = faults.get(phase)
        if fault is not None:
            later = [other.started for other in run.faults if other.started > fault.started]
            until = min(later, default=float("inf"))
            failed = [
                answered
                for record in run.records
                if fault.started <= (answered := record.at + record.ms / 1000) < until
                and (record.status == 0 or record.status >= 500)
            ]
            row.outage_s = fault.restored - fault.started
            row.errors_for_s = (max(failed) - fault.started) if failed else 0.0
            row.healthy_after_s = fault.healthy - fault.started
        rows.append(row)
    return rows


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def table(rows: list[PhaseFigures]) -> str:
    lines = [
        "| phase | requests | 2xx | 4xx | 5xx | no answer | p50 ms | p99 ms "
        "| service down s | clients saw errors for s | healthy again after s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.phase} | {row.requests} | {row.ok} | {row.client_errors} "
            f"| {row.server_errors} | {row.no_answer} | {row.p50_ms:.0f} | {row.p99_ms:.0f} "
            f"| {_seconds(row.outage_s)} | {_seconds(row.errors_for_s)} "
            f"| {_seconds(row.healthy_after_s)} |"
        )
    return "\n".join(lines)


def rss_trend(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS in MB per minute (0 with fewer than 3 samples)."""
    if len(samples) < 3:
        return 0.0
    xs = [seconds / 60 for seconds, _ in samples]
    ys = [mb for _, mb in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


# --- Main --------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Fault drill or soak of Arbor's real mode on private servers "
        "(see the module doc).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--soak", action="store_true", help="no faults; one long phase")
    parser.add_argument(
        "--volunteers", type=int, default=0, help="simulated volunteers (0: 24, soak 200)"
    )
    parser.add_argument("--phase-seconds", type=float, default=20, help="drill: per phase")
    parser.add_argument("--outage-seconds", type=float, default=3, help="drill: time down")
    parser.add_argument("--duration", type=float, default=600, help="soak: seconds")
    parser.add_argument(
        "--rss-interval", type=float, default=60, help="soak: seconds between RSS samples"
    )
    parser.add_argument("--workers", type=int, default=2, help="ASGI worker processes")
    parser.add_argument("--pool-size", type=int, default=8, help="DB connections per worker")
    parser.add_argument(
        "--web-concurrency",
        type=int,
        default=None,
        help="requests a worker admits at once (default: the pool size; 0: no gate)",
    )
    parser.add_argument("--prompts", type=int, default=300, help="prompts seeded for review")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument(
        "--logs", type=Path, help="copy the servers' and Celery's logs into this directory"
    )
    arguments = parser.parse_args(argv)
    if not arguments.volunteers:
        arguments.volunteers = 200 if arguments.soak else 24
    return arguments


def _interrupt(signal_number: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    missing = missing_server_binaries()
    if missing:
        print(f"the drill needs {', '.join(missing)} to run private servers", file=sys.stderr)
        return 2
    # Seeding runs Django in this process: nothing may point it at a shared server.
    for key in list(os.environ):
        if key in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE") or key.startswith(
            "ARBOR_"
        ):
            del os.environ[key]
    signal.signal(signal.SIGTERM, _interrupt)  # a timeout or kill cleans up like Ctrl+C
    if arguments.soak:
        phases = ["soak"]
        seconds = arguments.duration
        rss_every = arguments.rss_interval
    else:
        phases = ["calm", *FAULTS, "after"]
        seconds = arguments.phase_seconds
        rss_every = 0.0
    stack = Stack(
        workers=arguments.workers,
        pool_size=arguments.pool_size,
        web_concurrency=arguments.web_concurrency,
    )
    run = Run()
    try:
        print("starting private PostgreSQL and Redis, migrating, seeding …", flush=True)
        stack.start_servers()
        stack.migrate()
        tokens = seed(
            stack.database_url, volunteers=arguments.volunteers, prompts=arguments.prompts,
            authors=10,
        )  # fmt: skip
        with contextlib.suppress(Exception):
            import psycopg

            with psycopg.connect(stack.database_url, autocommit=True) as connection:
                connection.execute("ANALYZE")
        stack.start()
        stack.wait_until_up()
        run.started = time.monotonic()
        asyncio.run(work(stack, run, tokens, phases, seconds, arguments.outage_seconds, rss_every))
        waited = drain(stack)
        results = invariants(stack, run)
        rows = figures(run, phases)
        return report(arguments, stack, run, rows, results, waited)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130
    finally:
        if arguments.logs:
            arguments.logs.mkdir(parents=True, exist_ok=True)
            for log in stack.directory.glob("*.log"):
                shutil.copy(log, arguments.logs / log.name)
            with contextlib.suppress(OSError):
                shutil.copy(
                    stack.postgres.directory / "server.log", arguments.logs / "postgres.log"
                )
        stack.remove()


def report(
    arguments: argparse.Namespace,
    stack: Stack,
    run: Run,
    rows: list[PhaseFigures],
    results: list[CheckResult],
    waited: float,
) -> int:
    what = "soak" if arguments.soak else "fault drill"
    print(
        f"\n{what}: {arguments.volunteers} volunteers, {arguments.workers} web workers, "
        f"{len(run.acknowledged)} submissions acknowledged; drained in {waited:.0f} s\n"
    )
    print(table(rows))
    answered = [record.ms for record in run.records if record.status]
    print(
        f"\nlatency of all answered requests: p50 {percentile(answered, 0.50):.0f} ms, "
        f"p95 {percentile(answered, 0.95):.0f} ms, p99 {percentile(answered, 0.99):.0f} ms"
    )
    soak_errors = 0
    trend = 0.0
    if arguments.soak:
        soak_errors = sum(row.server_errors for row in rows)
        trend = rss_trend(run.rss[1:])  # the first sample is before any request
        series = ", ".join(f"{mb:.0f}" for _, mb in run.rss)
        print(
            f"web RSS MB (every {arguments.rss_interval:.0f} s): {series}; "
            f"start {run.rss[0][1]:.0f}, end {run.rss[-1][1]:.0f}, "
            f"trend after the first sample {trend:+.1f} MB/min"
        )
        print(f"5xx answers: {soak_errors} (must be 0)")
    print("\ninvariants:\n" + summary(results))
    failed = [result.name for result in results if not result.ok]
    if arguments.json:
        arguments.json.write_text(
            json.dumps(
                {
                    "mode": what,
                    "volunteers": arguments.volunteers,
                    "acknowledged": len(run.acknowledged),
                    "phases": [asdict(row) for row in rows],
                    "rss_mb": run.rss,
                    "rss_trend_mb_per_minute": trend,
                    "invariants": {result.name: asdict(result) for result in results},
                    "failed": failed,
                },
                indent=2,
            )
        )
    if failed or soak_errors:
        print(f"\nFAILED: {', '.join(failed) or f'{soak_errors} 5xx answers'}")
        print(f"\n--- manage.py serve's log (last lines)\n{stack.log_tail('serve', 40)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
