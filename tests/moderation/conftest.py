from __future__ import annotations

from typing import Any

import pytest

from backend.accounts.models import User
from tests.moderation.builders import with_role


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Some tests sign in through the login form; the production hasher is slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def moderator(db: None) -> User:
    return with_role("moderator", username="mod-mia")
