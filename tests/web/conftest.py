from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from backend.projects.services import project_create
from tests.factories import SMALL_TREE, UserFactory


@pytest.fixture
def volunteer(db: None) -> Any:
    return UserFactory()


@pytest.fixture
def web(volunteer: Any) -> Client:
    """A browser-like client signed in as a volunteer."""
    client = Client()
    client.force_login(volunteer)
    return client


@pytest.fixture
def project(db: None) -> Any:
    return project_create(
        slug="web", name="Web project", settings=dict(SMALL_TREE), languages=["en", "de"]
    )


HTMX = {"HTTP_HX_REQUEST": "true"}
