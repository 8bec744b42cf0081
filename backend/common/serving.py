"""How ``manage.py serve`` starts the web tier in real mode: the ASGI server's command line.

The web tier is CPU-bound Python, and one process keeps at most one core busy (its
request threads share one GIL), so real mode runs one worker process per core, each
with its own PostgreSQL connection pool (``ARBOR_DB_POOL_SIZE``). The figures behind
the choice of server and worker count are in docs/operations.md.
"""

from __future__ import annotations

import os
import sys

ASGI_APPLICATION = "backend.config.asgi:application"


def web_worker_count(*, configured: int, cpu_count: int | None) -> int:
    """``ARBOR_WEB_WORKERS`` when set (> 0), else one worker per core."""
    if configured > 0:
        return configured
    return max(1, cpu_count or 1)


def web_server_command(
    *,
    host: str,
    port: int,
    workers: int,
    server: str = "uvicorn",
    log_level: str = "warning",
    application: str = ASGI_APPLICATION,
) -> list[str]:
    """The command line of the ASGI server with ``workers`` processes.

    uvicorn: uvloop and httptools are what ``uvicorn[standard]`` picks by itself;
    naming them makes a missing one an error instead of a silent fallback to the
    slower pure-Python parts. granian: its ``asginl`` interface is ASGI without
    lifespan events. Django has no use for lifespan events, and an access log would
    cost a line per request.
    """
    if server == "uvicorn":
        # A socket per worker (SO_REUSEPORT), so keep-alive clients spread over the
        # workers instead of piling onto the first to wake (backend/common/web_workers.py).
        return [
            sys.executable,
            "-m",
            "backend.common.web_workers",
            "--workers",
            str(workers),
            "--host",
            host,
            "--port",
            str(port),
            "--application",
            application,
            "--log-level",
            log_level.lower(),
        ]
    if server == "uvicorn-shared":
        # uvicorn's own supervisor: one listening socket shared by its workers.
        return [
            sys.executable,
            "-m",
            "uvicorn",
            application,
            "--host",
            host,
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
            log_level.lower(),
        ]
    if server == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            application,
            "--interface",
            "asginl",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--no-access-log",
            "--log-level",
            log_level.lower(),
        ]
    raise ValueError(f"unknown web server {server!r}: uvicorn, uvicorn-shared or granian")


def default_log_level() -> str:
    return os.environ.get("ARBOR_LOG_LEVEL", "warning").lower()
