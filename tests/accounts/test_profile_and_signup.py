from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from backend.accounts.models import User
from backend.accounts.services import roles_of, user_profile_update
from backend.audit.models import AuditEvent
from backend.common.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def test_profile_update_cleans_and_audits(make_user):
    user = make_user()
    user_profile_update(
        user=user, display_name="  Ada  ", languages=["de", "de", "en"], show_on_leaderboard=False
    )
    user.refresh_from_db()
    assert (user.display_name, user.languages, user.show_on_leaderboard) == (
        "Ada",
        ["de", "en"],
        False,
    )
    event = AuditEvent.objects.get(action="user.profile_updated")
    assert event.before == {"display_name": "", "languages": [], "show_on_leaderboard": True}
    user_profile_update(
        user=user, display_name="Ada", languages=["de", "en"], show_on_leaderboard=False
    )
    assert (
        AuditEvent.objects.filter(action="user.profile_updated").count() == 1
    )  # no change, no event


def test_profile_update_refuses_bad_values_and_changes_nothing(make_user):
    user = make_user()
    with pytest.raises(ValidationFailed) as refused:
        user_profile_update(
            user=user, display_name="Ada", languages=["en", "no spaces"], show_on_leaderboard=True
        )
    assert refused.value.code == "invalid_language"
    user.refresh_from_db()
    assert (user.display_name, user.languages) == ("", [])


def test_signing_up_makes_a_volunteer_who_must_verify_the_email():
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {
            "email": "bo@example.org",
            "username": "bo",
            "password1": "long password 1",
            "password2": "long password 1",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(username="bo")
    assert roles_of(user) == ["volunteer"]
    assert len(mail.outbox) == 1 and "/accounts/confirm-email/" in mail.outbox[0].body
    # Not verified: logging in sends to verification again instead of the dashboard.
    login = Client().post("/accounts/login/", {"login": "bo", "password": "long password 1"})
    assert login["Location"] == "/accounts/confirm-email/"


def test_account_pages_use_the_site_layout(client):
    for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        body = client.get(path).content.decode()
        assert 'class="site-header"' in body, path
        assert 'data-page="account"' in body, path
