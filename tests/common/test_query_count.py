"""The X-Query-Count header the load benchmark adds up (ARBOR_COUNT_QUERIES=1)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import AsyncClient
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from backend.accounts.services import user_token
from backend.common.query_count import HEADER

COUNTING = "backend.common.query_count.QueryCountMiddleware"


@pytest.fixture
def counting(settings):  # type: ignore[no-untyped-def]
    settings.MIDDLEWARE = [COUNTING, *django_settings.MIDDLEWARE]
    settings.REDIS_URL = ""


@pytest.mark.django_db
def test_the_header_is_the_number_of_statements_the_request_ran(counting, make_user):
    token = user_token(user=make_user())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/users/me")
    assert response.status_code == 200
    assert len(queries) > 1  # the token, the user, the view's reads
    assert response[HEADER] == str(len(queries))
    assert connection.execute_wrappers == []  # taken off again


@pytest.mark.django_db
def test_a_request_without_statements_says_zero(counting):
    response = APIClient().get("/api/v1/users/me")  # refused before any query
    assert response.status_code == 401
    assert response[HEADER] == "0"


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_it_counts_on_the_asgi_path_too(counting):
    # Under ASGI the hooks run in the request's own thread, where the view's
    # connection is: healthz runs exactly one statement (SELECT 1).
    response = await AsyncClient().get("/healthz")
    assert response.status_code == 200
    assert response[HEADER] == "1"


@pytest.mark.django_db
def test_without_the_middleware_there_is_no_header():
    assert COUNTING not in django_settings.MIDDLEWARE
    assert HEADER not in APIClient().get("/healthz")


@pytest.mark.parametrize(("value", "installed"), [("1", True), ("0", False), (None, False)])
def test_settings_install_it_only_when_asked(value, installed):
    environment = {key: v for key, v in os.environ.items() if key != "ARBOR_COUNT_QUERIES"}
    if value is not None:
        environment["ARBOR_COUNT_QUERIES"] = value
    environment["DJANGO_SETTINGS_MODULE"] = "backend.config.settings"
    printed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.MIDDLEWARE[0])",
        ],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        cwd=django_settings.BASE_DIR,
    ).stdout.strip()
    assert (printed == COUNTING) is installed
