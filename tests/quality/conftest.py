"""Shared helpers of the quality app's tests: a small English project and prompts
written the way volunteers write them (through the assignment services)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from backend.accounts.models import User
from backend.projects.models import Project
from backend.trees.models import Message
from tests.factories import people, small_project, write_prompt

EMAIL_AND_PHONE = (
    "Please write to me at jane.roe@example.com or call me on +1 415 555 0132 "
    "about the garden party next week."
)
GERMAN = (
    "Kannst du mir bitte erklären, wie ein Verbrennungsmotor im Auto funktioniert "
    "und warum er so viel Wärme erzeugt?"
)
TOXIC = "You are a stupid worthless idiot and everybody hates you, shut up."
EVAL_PROMPT = (
    "Compose a short story about a lighthouse keeper who discovers that the light "
    "has been guiding ships to a hidden island for a hundred years."
)


@pytest.fixture
def project(db: None) -> Project:
    return small_project(languages=["en", "de"])


@pytest.fixture
def authors(db: None) -> list[User]:
    return people(4)


@pytest.fixture
def prompt(project: Project, authors: list[User]) -> Callable[..., Message]:
    """Writes an initial prompt; each call by the next author (the duplicate-text
    window refuses one person's repeated text, not a copy by someone else)."""
    turn = {"n": 0}

    def write(text: str, *, lang: str = "en", **kwargs: Any) -> Message:
        author = authors[turn["n"] % len(authors)]
        turn["n"] += 1
        return write_prompt(project, author, text, lang=lang)

    return write
