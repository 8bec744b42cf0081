"""Serve the ASGI app with N uvicorn processes, each on its own ``SO_REUSEPORT`` socket.

    python -m backend.common.web_workers --workers 2 --host 127.0.0.1 --port 8000

Why not ``uvicorn --workers N``: its workers share one listening socket, and whichever
worker wakes first accepts. Long-lived keep-alive connections (API clients, the load
benchmark's volunteers) then pile onto one worker: measured here with 8 volunteers,
one worker kept 0.8 of a core busy while the other idled at 0.06, so two workers
served like one. With a socket per worker and ``SO_REUSEPORT`` the kernel spreads new
connections over the workers by their addresses.

This process only supervises: it starts the workers (``--single``), passes SIGTERM and
SIGINT on, and when one worker ends it stops the others and exits with that worker's
code.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
from typing import Any

ASGI_APPLICATION = "backend.config.asgi:application"


def reuse_port_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def serve_one(arguments: argparse.Namespace) -> int:
    import uvicorn

    config = uvicorn.Config(
        arguments.application,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level=arguments.log_level,
        # uvicorn's own lines go through Django's LOGGING (JSON or text, like the
        # rest); RequestIdMiddleware writes the access log, with the request id.
        log_config=None,
    )
    uvicorn.Server(config).run(sockets=[reuse_port_socket(arguments.host, arguments.port)])
    return 0


def worker_command(arguments: argparse.Namespace) -> list[str]:
    return [
        sys.executable,
        "-m",
        "backend.common.web_workers",
        "--single",
        "--host",
        arguments.host,
        "--port",
        str(arguments.port),
        "--application",
        arguments.application,
        "--log-level",
        arguments.log_level,
    ]


def supervise(arguments: argparse.Namespace) -> int:
    workers = [subprocess.Popen(worker_command(arguments)) for _ in range(arguments.workers)]
    asked_to_stop: list[int] = []

    def stop(signal_number: int, frame: Any) -> None:
        if frame is not None:
            asked_to_stop.append(signal_number)
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(worker.poll() is None for worker in workers):
        time.sleep(0.2)
    stop(signal.SIGTERM, None)
    deadline = time.monotonic() + 10
    for worker in workers:
        try:
            worker.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
    if asked_to_stop:
        # uvicorn ends by re-raising the signal it was stopped with: that is a clean stop.
        stopped = {0, -signal.SIGTERM, -signal.SIGINT}
        return 0 if all(worker.returncode in stopped for worker in workers) else 1
    failed = [worker.returncode for worker in workers if worker.returncode]
    return abs(failed[0]) if failed else 0


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--application", default=ASGI_APPLICATION)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--single", action="store_true", help="be one worker (internal)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    return serve_one(arguments) if arguments.single else supervise(arguments)


if __name__ == "__main__":
    raise SystemExit(main())
