"""manage.py serve: one process in embedded mode, one worker per core in real mode.

Nothing is started: the processes serve would start are recorded instead.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import Any

import pytest

from backend.common import serving
from backend.common.management.commands import serve


class FakeProcess:
    def __init__(self, command: list[str], *args: Any, **kwargs: Any) -> None:
        self.command = command
        self.signals: list[int] = []
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self.returncode = 0
        return 0

    def send_signal(self, number: int) -> None:
        self.signals.append(number)

    def kill(self) -> None:
        self.signals.append(signal.SIGKILL)


@pytest.fixture
def started(monkeypatch):  # type: ignore[no-untyped-def]
    """The processes serve starts, in order; nothing is migrated or run."""
    processes: list[FakeProcess] = []

    def popen(command: list[str], *args: Any, **kwargs: Any) -> FakeProcess:
        processes.append(FakeProcess(command))
        return processes[-1]

    monkeypatch.setattr(serve.subprocess, "Popen", popen)
    monkeypatch.setattr(serve, "call_command", lambda *args, **kwargs: None)
    monkeypatch.setattr(serve.signal, "signal", lambda *args: None)
    return processes


def uvicorn_command(workers: int, port: int = 8000) -> list[str]:
    return [
        sys.executable,
        "-m",
        "backend.common.web_workers",
        "--workers",
        str(workers),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--application",
        "backend.config.asgi:application",
        "--log-level",
        "warning",
    ]


def uvicorn_shared_command(workers: int, port: int = 8000) -> list[str]:
    return [
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


@pytest.mark.parametrize(
    ("configured", "cores", "workers"), [(0, 2, 2), (0, 8, 8), (0, None, 1), (3, 2, 3), (1, 8, 1)]
)
def test_one_worker_per_core_unless_configured(configured, cores, workers):
    assert serving.web_worker_count(configured=configured, cpu_count=cores) == workers


def test_real_mode_starts_celery_and_a_worker_per_core(started, settings, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:6379/12"
    settings.WEB_WORKERS = 0
    settings.WEB_SERVER = "uvicorn"
    monkeypatch.setattr(serve.os, "cpu_count", lambda: 6)
    monkeypatch.delenv("ARBOR_LOG_LEVEL", raising=False)
    serve.Command().handle(host="127.0.0.1", port=8000, no_seed=True)

    worker, beat, web = started
    assert worker.command[1:] == [
        "-m", "celery", "-A", "tasks", "worker", "--loglevel=info", "--concurrency=2",
    ]  # fmt: skip
    assert beat.command[1:5] == ["-m", "celery", "-A", "tasks"]
    assert beat.command[5] == "beat"
    assert web.command == uvicorn_command(workers=6)
    # The web server has ended; Celery is stopped with it.
    assert web.signals == []
    assert worker.signals == beat.signals == [signal.SIGTERM]


def test_real_mode_takes_the_worker_count_from_the_setting(started, settings, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:6379/12"
    settings.WEB_WORKERS = 3
    settings.WEB_SERVER = "uvicorn"
    monkeypatch.delenv("ARBOR_LOG_LEVEL", raising=False)
    serve.Command().handle(host="127.0.0.1", port=8123, no_seed=True)
    assert started[-1].command == uvicorn_command(workers=3, port=8123)


def test_embedded_mode_serves_from_this_one_process(started, settings, monkeypatch):
    settings.REDIS_URL = ""
    settings.WEB_WORKERS = 4  # ignored: the in-memory channel layer is per process
    runs: list[tuple[Any, ...]] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: runs.append((args, kwargs)))
    serve.Command().handle(host="127.0.0.1", port=8000, no_seed=True)
    assert started == []  # no server process, no Celery
    [(args, kwargs)] = runs
    assert args == ("backend.config.asgi:application",)
    assert "workers" not in kwargs
    assert (kwargs["host"], kwargs["port"]) == ("127.0.0.1", 8000)


def test_uvicorns_shared_socket_command_line():
    command = serving.web_server_command(
        host="127.0.0.1", port=8000, workers=4, server="uvicorn-shared"
    )
    assert command == uvicorn_shared_command(workers=4)


def test_granian_command_line():
    command = serving.web_server_command(host="0.0.0.0", port=9000, workers=4, server="granian")
    assert command == [
        sys.executable, "-m", "granian", "backend.config.asgi:application",
        "--interface", "asginl", "--host", "0.0.0.0", "--port", "9000", "--workers", "4",
        "--loop", "uvloop", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip


def test_an_unknown_server_is_refused():
    with pytest.raises(ValueError, match="unknown web server"):
        serving.web_server_command(host="127.0.0.1", port=1, workers=1, server="gunicorn")


def test_real_mode_starts_a_celery_process_again_when_it_exits(settings, monkeypatch):
    """A worker that died (SIGKILL, or Celery giving up when Redis restarted under it)
    is started again while the web server runs; the replacement is stopped at the end."""
    settings.REDIS_URL = "redis://127.0.0.1:6379/12"
    settings.WEB_WORKERS = 1
    settings.WEB_SERVER = "uvicorn"
    processes: list[FakeProcess] = []

    class RunningWeb(FakeProcess):
        """Runs for one supervision round, then ends."""

        rounds = 0

        def wait(self, timeout: float | None = None) -> int:
            self.rounds += 1
            if self.rounds == 1:
                raise subprocess.TimeoutExpired(self.command, timeout or 0)
            return super().wait(timeout)

    def popen(command: list[str], *args: Any, **kwargs: Any) -> FakeProcess:
        process = (RunningWeb if "backend.common.web_workers" in command else FakeProcess)(command)
        if not processes:
            process.returncode = -signal.SIGKILL  # the first worker is dead at once
        processes.append(process)
        return process

    monkeypatch.setattr(serve.subprocess, "Popen", popen)
    monkeypatch.setattr(serve, "call_command", lambda *args, **kwargs: None)
    monkeypatch.setattr(serve.signal, "signal", lambda *args: None)
    serve.Command().handle(host="127.0.0.1", port=8000, no_seed=True)

    dead, beat, _web, replacement = processes
    assert replacement.command == dead.command
    assert replacement.command[5] == "worker"
    assert dead.signals == []
    assert replacement.signals == beat.signals == [signal.SIGTERM]
    assert len(processes) == 4  # beat kept running: not started twice
