"""Contract of GET /api/v1/users/me and of authentication (token and session)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from backend.accounts.models import User
from backend.accounts.services import user_token
from tests.api.scenario import db_snapshot

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me"


@pytest.mark.parametrize(
    ("role", "roles"),
    [
        ("volunteer", ["volunteer"]),
        ("moderator", ["moderator"]),
        ("researcher", ["researcher"]),
        ("admin", ["admin"]),
    ],
)
def test_me_for_each_role(make_user, client_for, role, roles):
    user = make_user(role=role, username=f"the-{role}")
    response = client_for(user).get(ME)
    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "username": f"the-{role}",
        "display_name": "",
        "roles": roles,
        "is_banned": False,
        "show_on_leaderboard": True,
        "points": 0,
        "level": 1,
        "streak_days": 0,
    }


def test_me_lists_every_role_a_person_holds(make_user, client_for):
    from django.contrib.auth.models import Group

    user = make_user(role="moderator", username="many-hats")
    user.groups.add(Group.objects.get(name="researcher"))
    User.objects.filter(pk=user.pk).update(is_staff=True, display_name="Many Hats")
    body = client_for(User.objects.get(pk=user.pk)).get(ME).json()
    assert body["roles"] == ["moderator", "researcher", "admin"]
    assert body["display_name"] == "Many Hats"


def test_a_banned_user_can_read_me(make_user, client_for):
    user = make_user()
    User.objects.filter(pk=user.pk).update(is_banned=True)
    response = client_for(User.objects.get(pk=user.pk)).get(ME)
    assert response.status_code == 200
    assert response.json()["is_banned"] is True


def test_me_is_read_only(make_user, client_for):
    client = client_for(make_user())
    before = db_snapshot()
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(ME, {"username": "root"}, format="json")
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"
    assert db_snapshot() == before


# --- Authentication -------------------------------------------------------------------


def test_token_authentication(make_user):
    user = make_user(username="scripted")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=user)}")
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["username"] == "scripted"


def test_anonymous_is_401_with_a_token_challenge(db):
    response = APIClient().get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }


@pytest.mark.parametrize(
    "header",
    [
        "Token 0123456789abcdef0123456789abcdef01234567",
        "Token ",
        "Token two parts",
        "Token \u00e9t\u00e9",
    ],
)
def test_bad_tokens_are_401(db, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    body = response.json()
    assert body["code"] == "authentication_failed"
    assert set(body) == {"code", "detail"}


def test_an_inactive_users_token_is_401(make_user):
    user = make_user()
    key = user_token(user=user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_other_authorization_schemes_count_as_anonymous(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer abc")
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_session_authentication_and_its_csrf_check(make_user, make_project):
    user = make_user(username="browser")
    project = make_project()
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="browser", password="pw-for-tests")
    assert client.get(ME).json()["id"] == user.pk
    # A browser write without the CSRF token is refused and changes nothing.
    before = db_snapshot()
    response = client.post("/api/v1/assignments/", {"project": project.slug}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["detail"]
    assert db_snapshot() == before
