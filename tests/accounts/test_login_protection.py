"""Log-in keeps working without Redis, and one lock-out covers every log-in form.

Redis holds only what may be lost (allauth's rate-limit counters, throttles); failed
log-ins are counted in the database by django-axes on every form that authenticates,
the admin's included. The outage tests run against a private Redis that they kill.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.test import Client

from backend.accounts.models import Role, User
from backend.accounts.services import user_create
from tests.private_servers import PrivateRedis, settings_for_environment

PASSWORD = "right-horse-battery-9"


@pytest.fixture
def admin_user(db: None) -> User:
    return user_create(
        username="admin", password=PASSWORD, email="admin@example.org", role=Role.ADMIN
    )


@pytest.fixture
def redis_down(settings) -> Iterator[PrivateRedis]:  # type: ignore[no-untyped-def]
    """The cache Arbor configures for REDIS_URL, pointed at a Redis that was then killed."""
    redis = PrivateRedis()
    redis.start()
    settings.CACHES = settings_for_environment({"REDIS_URL": redis.url})["CACHES"]
    from django.core.cache import cache

    cache.set("probe", 1)
    assert cache.get("probe") == 1  # the cache really is that Redis
    redis.kill()
    try:
        yield redis
    finally:
        redis.kill()


def _web_login(client: Client, login: str, password: str):  # type: ignore[no-untyped-def]
    return client.post("/accounts/login/", {"login": login, "password": password})


def _admin_login(client: Client, username: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
    )


@pytest.mark.redis
def test_log_in_and_sign_up_work_while_redis_is_down(redis_down, client, admin_user, caplog):
    volunteer = user_create(username="vera", password=PASSWORD, email="vera@example.org")
    with caplog.at_level(logging.WARNING, logger="backend.common.cache"):
        response = _web_login(client, "vera", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert client.session["_auth_user_id"] == str(volunteer.pk)
    assert any("cache unavailable" in record.getMessage() for record in caplog.records)

    response = Client().post(
        "/accounts/signup/",
        {
            "email": "new@example.org",
            "username": "newcomer",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert User.objects.filter(username="newcomer", email="new@example.org").count() == 1

    response = _admin_login(Client(), "admin", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def _lock_out_on_web_form(client: Client, limit: int) -> None:
    for attempt in range(limit):
        response = _web_login(client, "admin", f"wrong-{attempt}")
        expected = 429 if attempt == limit - 1 else 200
        assert response.status_code == expected, attempt


def test_a_lock_out_on_the_web_form_holds_on_the_admin_form(client, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 5
    _lock_out_on_web_form(client, 5)

    admin_client = Client()
    for attempt in range(3):
        response = _admin_login(admin_client, "admin", f"wrong-again-{attempt}")
        assert response.status_code == 429
    response = _admin_login(admin_client, "admin", PASSWORD)  # the right password
    assert response.status_code == 429
    assert b"Too many log-in attempts" in response.content
    assert "_auth_user_id" not in admin_client.session
    assert admin_client.get("/admin/").status_code == 302  # still sent to log in
    # The web form refuses it too, by username or by email address, in any case.
    for login in ("admin", "ADMIN", "admin@example.org"):
        response = _web_login(Client(), login, PASSWORD)
        assert response.status_code == 429, login


def test_a_lock_out_on_the_admin_form_holds_on_the_web_form(admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    admin_client = Client()
    statuses = [_admin_login(admin_client, "admin", f"wrong-{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]
    web_client = Client()
    response = _web_login(web_client, "admin@example.org", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in web_client.session


def test_fewer_failures_than_the_limit_do_not_lock_and_a_success_resets(client, admin_user):
    for attempt in range(4):
        assert _web_login(Client(), "admin", f"wrong-{attempt}").status_code == 200
    assert _admin_login(client, "admin", PASSWORD).status_code == 302
    for attempt in range(4):  # the count started again after the success
        assert _web_login(Client(), "admin", f"wrong-{attempt}").status_code == 200


@pytest.mark.redis
def test_the_lock_out_holds_while_redis_is_down(redis_down, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 5
    _lock_out_on_web_form(Client(), 5)
    response = _admin_login(Client(), "admin", PASSWORD)
    assert response.status_code == 429
    response = _web_login(Client(), "admin", PASSWORD)
    assert response.status_code == 429
