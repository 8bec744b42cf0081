"""Private Redis and PostgreSQL servers for tests that stop them.

The machine's shared services are never stopped: a test that needs an outage starts
its own server on a free port, in a temporary directory, and stops it. Each helper
skips the test, with the reason, when the server's binaries are missing.
"""

from __future__ import annotations

import os
import runpy
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


def settings_for_environment(environment: Mapping[str, str]) -> dict[str, Any]:
    """Arbor's settings module as it reads with ``environment`` added to the current
    one: the settings a process started with that environment would have."""
    with mock.patch.dict(os.environ, dict(environment)):
        return runpy.run_path(str(ROOT / "backend" / "config" / "settings.py"))


def missing_server_binaries() -> list[str]:
    """The binaries a private PostgreSQL and Redis need that this machine lacks."""
    missing = [name for name in ("initdb", "pg_ctl") if _postgres_binary(name) is None]
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    return missing


class PrivateRedis:
    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            pytest.skip("needs the redis-server binary to run a private Redis")
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _postgres_binary(name: str) -> str | None:
    for directory in POSTGRES_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    return shutil.which(name)


class PrivatePostgres:
    """A throw-away cluster (initdb in a temporary directory, trust auth, a free port)."""

    def __init__(self) -> None:
        binaries = {name: _postgres_binary(name) for name in ("initdb", "pg_ctl")}
        missing = [name for name, path in binaries.items() if path is None]
        if missing:
            pytest.skip(f"needs PostgreSQL's {', '.join(missing)} to run a private server")
        self.initdb = str(binaries["initdb"])
        self.pg_ctl = str(binaries["pg_ctl"])
        self.directory = Path(tempfile.mkdtemp(prefix="arbor-postgres-"))
        if os.geteuid() == 0:  # the server refuses to run as root: the postgres account
            shutil.chown(self.directory, user="postgres")
        self.data = self.directory / "data"
        self.port = free_port()
        self.user = "postgres"

    def _run(self, *arguments: str) -> None:
        command = list(arguments)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if completed.returncode != 0:
            raise AssertionError(f"{arguments[0]} failed: {completed.stderr or completed.stdout}")

    def init(self) -> None:
        self._run(self.initdb, "-D", str(self.data), "-U", self.user, "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(
            self.pg_ctl, "-D", str(self.data), "-o", options, "-l",
            str(self.directory / "server.log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        if self.is_running():
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
