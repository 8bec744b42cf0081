"""Serve canned model replies on an OpenAI-compatible endpoint (offline demo)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from backend.arena.fake_server import FakeModelServer


class Command(BaseCommand):
    help = "Serve demo model replies at http://HOST:PORT/v1/chat/completions (no real model)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8099)
        parser.add_argument("--slow-seconds", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        server = FakeModelServer(
            (options["host"], options["port"]), slow_seconds=options["slow_seconds"]
        )
        self.stdout.write(f"Fake models at {server.base_url}/chat/completions")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
