from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.scenario import World, build_world


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Contract tests create many users; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world_at(make_user, make_project, client_for) -> Callable[..., World]:  # type: ignore[no-untyped-def]
    """``world_at("growing", max_open_assignments=1)`` builds a World at that stage."""

    def make(stage: str = "ranking", **overrides: Any) -> World:
        return build_world(make_user, make_project, client_for, stage, **overrides)

    return make
