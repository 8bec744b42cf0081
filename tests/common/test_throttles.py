"""The general API rate limit: per user and per address, reads and writes, 429
``rate_limited`` with Retry-After; it fails open when its cache is down."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from backend.common import throttles
from backend.trees.models import Reaction

pytestmark = pytest.mark.django_db

NOW = 1_800_000_010.0  # 10 s into a minute


@pytest.fixture
def rates(settings, monkeypatch):  # type: ignore[no-untyped-def]
    """``rates(user="3/min", ip=None)`` sets the limits for this test; the clock stands.
    Counters of other tests stay apart, in a shared cache (Redis) too."""
    monkeypatch.setattr(throttles, "_now", lambda: NOW)
    monkeypatch.setattr(throttles, "KEY_PREFIX", f"{throttles.KEY_PREFIX}-test-{uuid.uuid4().hex}")

    def set_rates(**values: str | None) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"user": None, "ip": None, **values},
        }

    return set_rates


def test_the_defaults_are_generous_and_come_from_the_environment():
    configured = django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    user = throttles.parse_rate(configured["user"])
    address = throttles.parse_rate(configured["ip"])

    assert user is not None and user[0] / user[1] >= 50  # per second: 3000 a minute
    assert address is not None and address[0] / address[1] >= 500


def test_a_user_over_the_limit_gets_429_on_reads_and_writes(rates, make_user, make_project):
    rates(user="3/min")
    project = make_project()
    volunteer, other = make_user(), make_user()
    client = APIClient()
    client.force_authenticate(volunteer)

    allowed = [client.get(f"/api/v1/projects/{project.slug}").status_code for _ in range(3)]
    read = client.get("/api/v1/users/me")
    write = client.post("/api/v1/messages/1/reactions", {"emoji": "+1"}, format="json")
    other_client = APIClient()
    other_client.force_authenticate(other)

    assert allowed == [200, 200, 200]
    for refused in (read, write):
        assert refused.status_code == 429
        assert refused.json() == {
            "code": "rate_limited",
            "detail": "Too many requests; try again later.",
            "retry_after": 50,
        }
        assert refused["Retry-After"] == "50"
    assert Reaction.objects.count() == 0
    assert other_client.get("/api/v1/users/me").status_code == 200


def test_an_address_over_the_limit_gets_429_signed_in_or_not(rates, make_user):
    rates(ip="2/min")
    first, second = APIClient(), APIClient()
    first.force_authenticate(make_user())

    answers = [
        first.get("/api/v1/users/me").status_code,
        second.get("/api/v1/leaderboard/formula").status_code,
        second.get("/api/v1/leaderboard/formula").status_code,
    ]
    elsewhere = APIClient(REMOTE_ADDR="10.0.0.9").get("/api/v1/leaderboard/formula")

    assert answers == [200, 200, 429]
    assert elsewhere.status_code == 200


def test_a_forged_forwarded_for_header_does_not_escape_the_address_limit(rates):
    rates(ip="1/min")
    client = APIClient()

    first = client.get("/api/v1/leaderboard/formula", HTTP_X_FORWARDED_FOR="1.2.3.4")
    second = client.get("/api/v1/leaderboard/formula", HTTP_X_FORWARDED_FOR="5.6.7.8")

    assert (first.status_code, second.status_code) == (200, 429)


def test_the_count_starts_again_in_the_next_window(rates, make_user, monkeypatch):
    rates(user="1/min")
    client = APIClient()
    client.force_authenticate(make_user())

    first = client.get("/api/v1/users/me").status_code
    second = client.get("/api/v1/users/me").status_code
    monkeypatch.setattr(throttles, "_now", lambda: NOW + 60)
    next_minute = client.get("/api/v1/users/me").status_code

    assert (first, second, next_minute) == (200, 429, 200)


class BrokenCache:
    def incr(self, *args: Any, **kwargs: Any) -> int:
        raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    add = incr


def test_an_unreachable_cache_lets_requests_through_with_one_warning(
    rates, make_user, monkeypatch, caplog
):
    rates(user="1/min", ip="1/min")
    monkeypatch.setattr(throttles, "cache", BrokenCache())
    monkeypatch.setitem(throttles._last_warning, "at", float("-inf"))
    client = APIClient()
    client.force_authenticate(make_user())

    with caplog.at_level(logging.WARNING, logger="backend.common.throttles"):
        answers = [client.get("/api/v1/users/me").status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    warnings = [r for r in caplog.records if r.name == "backend.common.throttles"]
    assert len(warnings) == 1
    assert "unreachable" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("3000/min", (3000, 60)), ("10/s", (10, 1)), ("5/hour", (5, 3600)), ("off", None), ("", None)],
)
def test_parse_rate(rate, parsed):
    assert throttles.parse_rate(rate) == parsed
