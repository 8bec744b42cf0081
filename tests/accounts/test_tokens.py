"""Personal API tokens: made, shown once, stored hashed, used, listed, expired and
revoked (refused at once here, within the cache window elsewhere)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from backend.accounts import authentication
from backend.accounts.models import ApiToken, User
from backend.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _make(client, name="script", **extra):
    return client.post("/api/v1/tokens/", {"name": name, **extra}, format="json")


def test_a_new_token_is_shown_once_stored_hashed_and_works(make_user, client_for):
    person = make_user()
    made = _make(client_for(person), "laptop")
    assert made.status_code == 201, made.content
    body = made.json()
    assert set(body) == {"id", "name", "token", "created_at", "expires_at"}
    assert (body["name"], body["expires_at"]) == ("laptop", None)
    token = body["token"]
    assert token.startswith("arb_") and len(token) == 4 + 43

    row = ApiToken.objects.get(pk=body["id"])
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.name, row.prefix, row.key_hash} and token.startswith(row.prefix)
    assert row.last_used_at is None

    me = _bearer(token).get("/api/v1/users/me")
    assert me.status_code == 200 and me.json()["username"] == person.username
    row.refresh_from_db()
    assert row.last_used_at is not None

    [listed] = client_for(person).get("/api/v1/tokens/").json()
    assert set(listed) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at"}
    assert listed["id"] == body["id"] and "token" not in listed


def test_several_named_tokens_each_work_and_are_only_mine(make_user, client_for):
    alice, bob = make_user(), make_user()
    first = _make(client_for(alice), "one").json()
    second = _make(client_for(alice), "two").json()
    _make(client_for(bob), "bob's")
    names = [token["name"] for token in client_for(alice).get("/api/v1/tokens/").json()]
    assert names == ["two", "one"]
    for made in (first, second):
        assert _bearer(made["token"]).get("/api/v1/users/me").json()["username"] == alice.username
    # Bob cannot revoke Alice's token.
    refused = client_for(bob).delete(f"/api/v1/tokens/{first['id']}")
    assert refused.status_code == 404 and refused.json()["code"] == "token_not_found"
    assert _bearer(first["token"]).get("/api/v1/users/me").status_code == 200


def test_a_revoked_token_is_refused_at_once_and_audited(make_user, client_for):
    person = make_user()
    made = _make(client_for(person)).json()
    client = _bearer(made["token"])
    assert client.get("/api/v1/users/me").status_code == 200  # now in this process's cache

    assert client_for(person).delete(f"/api/v1/tokens/{made['id']}").status_code == 204
    refused = client.get("/api/v1/users/me")
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"
    assert client_for(person).get("/api/v1/tokens/").json() == []
    actions = list(AuditEvent.objects.filter(target_type="token").values_list("action", "after"))
    assert [action for action, _ in actions] == ["token.created", "token.revoked"]
    assert made["token"] not in str(actions)


def test_another_process_refuses_a_revoked_token_within_the_cache_window(
    make_user, client_for, monkeypatch
):
    person = make_user()
    made = _make(client_for(person)).json()
    client = _bearer(made["token"])
    clock = [1000.0]
    monkeypatch.setattr(authentication.time, "monotonic", lambda: clock[0])
    assert client.get("/api/v1/users/me").status_code == 200

    # Revoked by another process: this one's cache is not told.
    ApiToken.objects.filter(pk=made["id"]).update(revoked_at=timezone.now())
    clock[0] += authentication.TOKEN_CACHE_SECONDS - 0.5
    assert client.get("/api/v1/users/me").status_code == 200
    clock[0] += 1.0
    assert client.get("/api/v1/users/me").status_code == 401


def test_an_expired_token_is_refused_even_when_cached(make_user, client_for, monkeypatch):
    person = make_user()
    made = _make(client_for(person), expires_in_days=30).json()
    expires = ApiToken.objects.get(pk=made["id"]).expires_at
    assert expires is not None
    assert timedelta(days=29, hours=23) < expires - timezone.now() <= timedelta(days=30)
    client = _bearer(made["token"])
    assert client.get("/api/v1/users/me").status_code == 200  # cached now

    later = timezone.now() + timedelta(days=30, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert client.get("/api/v1/users/me").status_code == 401
    assert client_for(person).get("/api/v1/tokens/").json() == []


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"name": ""}, "name", "blank"),
        ({}, "name", "required"),
        ({"name": "x" * 101}, "name", "max_length"),
        ({"name": "x", "expires_in_days": 0}, "expires_in_days", "min_value"),
        ({"name": "x", "expires_in_days": "soon"}, "expires_in_days", "invalid"),
    ],
)
def test_bad_input_gets_field_errors(make_user, client_for, body, field, code):
    answer = client_for(make_user()).post("/api/v1/tokens/", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["fields"][field][0]["code"] == code
    assert not ApiToken.objects.exists()


def test_a_person_holds_at_most_twenty_tokens(make_user, client_for):
    client = client_for(make_user())
    for number in range(20):
        assert _make(client, f"t{number}").status_code == 201
    refused = _make(client, "one too many")
    assert refused.status_code == 409 and refused.json()["code"] == "too_many_tokens"
    assert ApiToken.objects.count() == 20


def test_anonymous_visitors_get_401_and_bad_tokens_are_refused(make_user, client_for):
    assert APIClient().get("/api/v1/tokens/").status_code == 401
    assert _bearer("arb_" + "x" * 43).get("/api/v1/users/me").status_code == 401


def test_create_user_token_keeps_working():
    out = StringIO()
    call_command("create_user", "scripted", "--password", "pw-for-tests-9", "--token", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    assert _bearer(token).get("/api/v1/users/me").json()["username"] == "scripted"


def test_the_tokens_page_shows_a_new_token_once_and_revokes(make_user):
    person: User = make_user()
    client = Client()
    client.force_login(person)
    assert "No tokens yet." in client.get("/me/tokens/").content.decode()

    made = client.post("/me/tokens/", {"action": "create", "name": "laptop", "expires_in_days": ""})
    assert made.status_code == 201
    row = ApiToken.objects.get()
    page = made.content.decode()
    secret = page.split("data-token>")[1].split("<")[0]
    assert hashlib.sha256(secret.encode()).hexdigest() == row.key_hash
    again = client.get("/me/tokens/").content.decode()
    assert secret not in again and "laptop" in again

    client.post("/me/tokens/", {"action": "revoke", "token": str(row.pk)})
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert _bearer(secret).get("/api/v1/users/me").status_code == 401
    assert Client().get("/me/tokens/").status_code == 302  # anonymous: to log-in
