"""Shared fixtures. Tests run on whatever database DATABASE_URL names (SQLite by default)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from backend.accounts.models import Role, User
from backend.accounts.services import user_create
from backend.projects.models import Project
from backend.projects.services import project_create

POSTGRES_REASON = (
    "needs PostgreSQL (row locks, SKIP LOCKED, real concurrency): "
    "set DATABASE_URL=postgresql://... to run it; CI does"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if settings.IS_POSTGRESQL:
        return
    skip = pytest.mark.skip(reason=POSTGRES_REASON)
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = {"n": 0}

    def make(role: str = Role.VOLUNTEER, username: str | None = None) -> User:
        counter["n"] += 1
        return user_create(
            username=username or f"{role}{counter['n']}", password="pw-for-tests", role=role
        )

    return make


@pytest.fixture
def make_project(db: None) -> Callable[..., Project]:
    counter = {"n": 0}

    def make(slug: str | None = None, **settings_overrides: Any) -> Project:
        counter["n"] += 1
        return project_create(slug=slug or f"project-{counter['n']}", settings=settings_overrides)

    return make


@pytest.fixture
def client_for() -> Callable[[User | None], APIClient]:
    def make(user: User | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Each test starts as a new process would: no cached projects or tokens."""
    from backend.accounts.authentication import token_cache_clear
    from backend.onboarding.selectors import person_gates_forget
    from backend.onboarding.stream import gold_items_forget
    from backend.projects.selectors import project_cache_clear
    from backend.webhooks.selectors import forget_cached_webhooks

    project_cache_clear()
    forget_cached_webhooks()
    person_gates_forget()
    gold_items_forget()
    token_cache_clear()
    indexes = sys.modules.get("backend.quality.indexes")  # only once something computed
    if indexes is not None:
        indexes.near_duplicate_indexes.forget()
        indexes.eval_set_matchers.forget()


# Tests of the signals and of where they show compute them on every new message; the
# others leave them off, so that a test about moderation, say, does not also get the
# quality flags its generated texts may raise (near-duplicates of each other).
QUALITY_TESTS = ("tests/quality/", "quality", "test_demo")


@pytest.fixture(autouse=True)
def _quality_signals(request: pytest.FixtureRequest, settings: Any) -> None:
    path = request.node.nodeid
    settings.ARBOR_QUALITY_SIGNALS = any(marker in path for marker in QUALITY_TESTS)


@pytest.fixture(autouse=True)
def _celery_mode(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Celery runs eagerly in tests, except in tests that start a real worker."""
    from tasks.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = "celery_worker" not in request.keywords
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_local_cache() -> None:
    """Each test starts with empty in-process caches (the API rate-limit counters live
    there), as if it ran alone. A shared Redis cache is left alone: it is the broker too."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    for cache in caches.all(initialized_only=True):
        if isinstance(cache, LocMemCache):
            cache.clear()
