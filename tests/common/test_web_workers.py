"""The reuse-port web workers really serve: two uvicorn processes on one port, each on
its own socket, both answering, and all stopped by one SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.timeout(90)
def test_two_workers_share_a_port_and_stop_together(tmp_path):
    port = free_port()
    environment = {
        **os.environ,
        "SQLITE_PATH": str(tmp_path / "serve.sqlite3"),
        "ARBOR_DATA_DIR": str(tmp_path),
        "DJANGO_DEBUG": "0",
    }
    environment.pop("DATABASE_URL", None)
    environment.pop("REDIS_URL", None)
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "backend.common.web_workers", "--workers", "2",
         "--port", str(port), "--log-level", "error"],
        cwd=ROOT, env=environment,
    )  # fmt: skip
    try:
        statuses: list[int] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(statuses) < 6:
            try:
                # A new connection each time: the kernel picks a worker per connection.
                with httpx.Client(timeout=5) as client:
                    statuses.append(client.get(f"http://127.0.0.1:{port}/healthz").status_code)
            except httpx.TransportError:
                time.sleep(0.3)  # not listening yet
        assert len(statuses) == 6 and set(statuses) <= {200, 503}  # served (the DB is empty)
        children = subprocess.run(
            ["pgrep", "-P", str(supervisor.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) == 2
        listening = (
            subprocess.run(
                ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False
            )
            .stdout.strip()
            .splitlines()
        )
        assert len(listening) == 2  # a socket per worker, both bound to the port
    finally:
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=20) == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in children)
