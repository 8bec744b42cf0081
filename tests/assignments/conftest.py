from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.scenario import World, build_world


@pytest.fixture
def world_at(make_user, make_project, client_for) -> Callable[..., World]:  # type: ignore[no-untyped-def]
    """``world_at("growing")`` builds a World at that stage (see tests.api.scenario)."""

    def make(stage: str = "ranking", **overrides: Any) -> World:
        return build_world(make_user, make_project, client_for, stage, **overrides)

    return make
