"""The "My account" page: the leaderboard choice, the data download and deleting the
account, through the server-rendered page (post/redirect/get)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import User
from backend.community.services import leaderboards_rebuild
from tests.community.builders import ledger_entry
from tests.factories import UserFactory, small_project

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_is_in_the_site_layout_and_needs_a_log_in():
    person = UserFactory(username="page-person")
    page = signed_in(person).get("/me/account/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/me/account/" aria-current="page"' in html
    assert "data-leaderboard-choice" in html and "data-delete-account" in html
    assert 'href="/me/account/data"' in html
    anonymous = Client().get("/me/account/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_opting_out_on_the_page_hides_me_from_the_leaderboard_page():
    now = timezone.now()
    project = small_project()
    shy, other = UserFactory(username="shy-page"), UserFactory(username="other-page")
    for person, points in [(shy, 5), (other, 3)]:
        ledger_entry(person, project, now, points)
    leaderboards_rebuild(now=now)
    assert "shy-page" in signed_in(other).get("/leaderboard/?window=all").content.decode()

    saved = signed_in(shy).post(
        "/me/account/", {"action": "leaderboard", "show_on_leaderboard": "no"}
    )

    assert (saved.status_code, saved["Location"]) == (302, "/me/account/")
    shy.refresh_from_db()
    assert shy.show_on_leaderboard is False
    assert "shy-page" not in signed_in(other).get("/leaderboard/?window=all").content.decode()
    checked = signed_in(shy).get("/me/account/").content.decode()
    assert 'value="no" checked' in checked


def test_the_download_is_a_json_file_of_my_data():
    person = UserFactory(username="downloader")
    response = signed_in(person).get("/me/account/data")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="arbor-my-data.json"'
    data = json.loads(response.content)
    assert data["account"]["username"] == "downloader"
    assert data["format"] == "arbor.personal-data.v1"


def test_deleting_from_the_page_needs_the_password_then_logs_out():
    person = UserFactory(username="leaving")
    person.set_password("the-right-one")
    person.save(update_fields=["password"])
    browser = signed_in(person)

    wrong = browser.post("/me/account/", {"action": "delete", "password": "wrong"})
    assert wrong.status_code == 422 and b'id="delete-password-error"' in wrong.content
    person.refresh_from_db()
    assert person.deleted_at is None

    deleted = browser.post("/me/account/", {"action": "delete", "password": "the-right-one"})

    assert (deleted.status_code, deleted["Location"]) == (302, "/")
    person.refresh_from_db()
    assert person.deleted_at is not None and person.username.startswith("deleted-")
    assert browser.get("/me/account/").status_code == 302
    assert not Client().login(username="leaving", password="the-right-one")
