"""Fixtures for the concurrency tests: many volunteers and prompts waiting for review."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from backend.accounts.models import User
from backend.assignments.models import Kind, WorkItem
from backend.assignments.services import assignment_claim_next, assignment_submit
from backend.projects.models import Project

# Room enough that only the behaviour under test limits anyone.
UNLIMITED = {"requests_per_minute": 100_000, "replies_per_minute": 100_000}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Dozens of users per test; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def volunteers(make_user: Callable[..., User]) -> Callable[[int], list[User]]:
    def make(count: int) -> list[User]:
        return [make_user() for _ in range(count)]

    return make


def prompt_waiting_for_review(project: Project, author: User, text: str) -> WorkItem:
    """``author`` writes a prompt through the services; returns its review item."""
    assignment = assignment_claim_next(
        user=author, project=project, lang="en", kind=Kind.INITIAL_PROMPT
    )
    assert assignment is not None
    result = assignment_submit(user=author, assignment_id=assignment.pk, payload={"text": text})
    assert result.message is not None
    return WorkItem.objects.get(target=result.message, kind=Kind.LABEL_INITIAL_PROMPT)
