from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.arena.fake_server import FakeModelServer


@pytest.fixture
def fake_models() -> Iterator[FakeModelServer]:
    """A real OpenAI-compatible HTTP server on a free local port (canned replies)."""
    server = FakeModelServer(slow_seconds=0.3, hang_seconds=3.0, flaky_failures=1)
    server.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def quick_model_calls(settings):
    """Retries and the breaker's cool-down at test speed."""
    settings.ARBOR_MODEL_RETRIES = 2
    settings.ARBOR_MODEL_BACKOFF_SECONDS = 0.01
    settings.ARBOR_MODEL_BREAKER_FAILURES = 3
    settings.ARBOR_MODEL_BREAKER_COOLDOWN_SECONDS = 60
    return settings
