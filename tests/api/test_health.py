"""Contract of GET /healthz."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from backend.common import health

pytestmark = pytest.mark.django_db


def test_healthy_without_redis_reports_the_eager_broker(settings):
    settings.REDIS_URL = ""
    response = APIClient().get("/healthz")  # no credentials needed
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok", "broker": "eager"}


def test_an_unreachable_broker_is_503(settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    response = APIClient().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"]) == ("degraded", "ok")
    assert body["broker"].startswith("error: ")


def test_an_unreachable_database_is_503(settings, monkeypatch):
    settings.REDIS_URL = ""

    class BrokenConnection:
        def cursor(self):  # type: ignore[no-untyped-def]
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", BrokenConnection())
    response = APIClient().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": "error: OperationalError",
        "broker": "eager",
    }


def test_health_is_read_only(settings):
    settings.REDIS_URL = ""
    assert APIClient().head("/healthz").status_code == 200
