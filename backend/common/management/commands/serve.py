"""Run the whole platform in one command (what ``make run`` calls).

Embedded mode (no ``REDIS_URL``): Celery tasks run eagerly in the web process, so a
background thread runs Celery beat's schedule (the sweep, the outbox relay, …) here.
Embedded mode serves from this one process: the in-memory channel layer exists only
inside it, so a second process would never see the first one's websocket events.
Real mode: a Celery worker and beat are started as child processes, then the ASGI server
with one worker process per core (``ARBOR_WEB_WORKERS``; see
``backend.common.serving``), all stopped together. A Celery process that exits while
the web server runs is started again within a second: a worker killed by the kernel,
or one that gives up when Redis restarts under it (Celery can treat a lost broker
connection as an unrecoverable error), would otherwise leave the outbox and the sweep
without anyone to run them until the whole platform is restarted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from backend.common.metrics import (
    MULTIPROCESS_ENVIRONMENT_VARIABLE,
    multiprocess_directory_prepare,
)
from backend.common.serving import (
    ASGI_APPLICATION,
    default_log_level,
    web_server_command,
    web_worker_count,
)


def _beat_in_process(stop: threading.Event) -> None:
    """Embedded mode's Celery beat: every entry of the beat schedule, run by name in this
    process on its own interval (the sweep, the outbox relay, the points ledger …), so
    the one-process platform keeps itself going exactly as the real one does."""
    from celery import current_app
    from django.db import connections

    current_app.loader.import_default_modules()
    schedule = {
        entry["task"]: float(entry["schedule"]) for entry in current_app.conf.beat_schedule.values()
    }
    next_run = {name: time.monotonic() + interval for name, interval in schedule.items()}
    while not stop.wait(1.0):
        for name, interval in schedule.items():
            if time.monotonic() < next_run[name]:
                continue
            next_run[name] = time.monotonic() + interval
            try:
                current_app.tasks[name].apply(throw=True)
            except Exception as error:  # noqa: BLE001 - keep going; the next run retries
                sys.stderr.write(f"{name} failed: {error}\n")
            finally:
                connections.close_all()


# How often real mode looks at its Celery processes while the web server runs.
SUPERVISE_SECONDS = 1.0


class Command(BaseCommand):
    help = "Migrate, seed the demo, start Celery (real mode) and serve ASGI on 127.0.0.1:8000."
    celery_commands: dict[str, list[str]]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-seed", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if not options["no_seed"]:
            call_command("seed_demo", base_url=f"http://{options['host']}:{options['port']}")
        children: list[subprocess.Popen[bytes]] = []
        stop = threading.Event()
        if settings.ARBOR_DEMO_MODELS_PORT and not options["no_seed"]:
            # The demo's two models answer with canned text on a local OpenAI-compatible
            # endpoint (docs/arena.md); nothing leaves the machine.
            threading.Thread(
                target=call_command,
                args=("fake_models_serve",),
                kwargs={"port": settings.ARBOR_DEMO_MODELS_PORT},
                daemon=True,
            ).start()
        if settings.REDIS_URL:
            # SIGTERM (a process manager stopping Arbor) ends the wait for the web server
            # like Ctrl+C does, so that the clean-up below stops it and Celery too.
            signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
            celery = [sys.executable, "-m", "celery", "-A", "tasks"]
            self.celery_commands = {
                "worker": [*celery, "worker", "--loglevel=info", "--concurrency=2"],
                "beat": [
                    *celery,
                    "beat",
                    "--loglevel=info",
                    "--schedule",
                    str(settings.DATA_DIR / "celerybeat-schedule"),
                ],
            }
            for command in self.celery_commands.values():
                children.append(subprocess.Popen(command))
            self.stdout.write("Celery worker and beat started (broker: REDIS_URL).")
        else:
            threading.Thread(target=_beat_in_process, args=(stop,), daemon=True).start()
            self.stdout.write("Embedded mode: SQLite, eager Celery, in-memory channel layer.")
        try:
            if settings.REDIS_URL:
                self._serve_workers(options["host"], options["port"], children)
            else:
                self._serve_embedded(options["host"], options["port"])
        finally:
            stop.set()
            for child in reversed(children):  # the web server first, Celery last
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()

    def _serve_embedded(self, host: str, port: int) -> None:
        import uvicorn

        if settings.WEB_WORKERS > 1:
            self.stdout.write(
                "ARBOR_WEB_WORKERS is ignored in embedded mode: one process serves "
                "(the in-memory channel layer is per process)."
            )
        self.stdout.write(f"Serving on http://{host}:{port}/  (Ctrl+C stops)")
        # log_config=None: uvicorn's lines go through Django's LOGGING like the rest.
        uvicorn.run(
            ASGI_APPLICATION,
            host=host,
            port=port,
            log_level=default_log_level(),
            log_config=None,
        )

    def _serve_workers(self, host: str, port: int, children: list[subprocess.Popen[bytes]]) -> None:
        workers = web_worker_count(configured=settings.WEB_WORKERS, cpu_count=os.cpu_count())
        command = web_server_command(
            host=host,
            port=port,
            workers=workers,
            server=settings.WEB_SERVER,
            log_level=default_log_level(),
        )
        # Each worker counts into its own files there; a scrape adds them up.
        metrics_directory = multiprocess_directory_prepare(settings.DATA_DIR / "metrics")
        server = subprocess.Popen(
            command, env={**os.environ, MULTIPROCESS_ENVIRONMENT_VARIABLE: str(metrics_directory)}
        )
        children.append(server)
        self.stdout.write(
            f"Serving on http://{host}:{port}/ with {settings.WEB_SERVER}, {workers} worker "
            f"processes (ARBOR_WEB_WORKERS)  (Ctrl+C stops)"
        )
        try:
            while True:
                try:
                    server.wait(timeout=SUPERVISE_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    self._restart_exited_celery(children)
        except KeyboardInterrupt:
            return
        if server.returncode:
            raise SystemExit(f"the web server exited with code {server.returncode}")

    def _restart_exited_celery(self, children: list[subprocess.Popen[bytes]]) -> None:
        """Start again each Celery process (the first children, in the order of
        ``celery_commands``) that has exited."""
        for index, (name, command) in enumerate(self.celery_commands.items()):
            if children[index].poll() is None:
                continue
            self.stderr.write(
                f"Celery {name} exited with code {children[index].returncode}; starting it again."
            )
            children[index] = subprocess.Popen(command)


def _raise_keyboard_interrupt(signal_number: int, frame: Any) -> None:
    raise KeyboardInterrupt
