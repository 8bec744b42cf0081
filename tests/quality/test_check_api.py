"""``POST /api/v1/quality/check``: PII spans and the language of a text being written,
for the task page's warning. Signed-in people only; bad input gets field-level 400s."""

from __future__ import annotations

import uuid

import pytest

from backend.common import throttles
from backend.quality.check_api import MAX_CHECK_CHARS

pytestmark = pytest.mark.django_db

URL = "/api/v1/quality/check"


def test_an_email_and_a_phone_number_are_found(make_user, client_for):
    client = client_for(make_user())
    text = "Write to jane.doe@example.com or call +49 30 901820, thanks a lot for your help!"
    response = client.post(URL, {"text": text, "lang": "en"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert [(span["type"], text[span["start"] : span["end"]]) for span in body["pii"]] == [
        ("email", "jane.doe@example.com"),
        ("phone", "+49 30 901820"),
    ]
    assert body["lang"]["detected"] == "en"
    assert body["lang"]["mismatch"] is False


def test_a_text_in_another_language_than_the_tasks_is_a_mismatch(make_user, client_for):
    client = client_for(make_user())
    text = "Kannst du mir bitte erklären, wie man einen guten Sauerteig für Brot ansetzt?"
    response = client.post(URL, {"text": text, "lang": "en"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["pii"] == []
    assert body["lang"]["detected"] == "de"
    assert body["lang"]["confidence"] > 0.9
    assert body["lang"]["mismatch"] is True
    same = client.post(URL, {"text": text, "lang": "de"}, format="json").json()
    assert same["lang"]["mismatch"] is False


def test_without_a_language_there_is_no_mismatch_and_short_texts_have_no_guess(
    make_user, client_for
):
    client = client_for(make_user())
    body = client.post(
        URL, {"text": "Bonjour tout le monde, comment allez-vous?"}, format="json"
    ).json()
    assert body["lang"]["mismatch"] is None
    empty = client.post(URL, {"text": "", "lang": "en"}, format="json").json()
    assert empty == {
        "pii": [],
        "lang": {"detected": None, "confidence": None, "mismatch": False},
    }


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "text", "required"),
        ({"text": 5}, "text", "invalid"),
        ({"text": "x" * (MAX_CHECK_CHARS + 1)}, "text", "max_length"),
        ({"text": "hello", "lang": ["en"]}, "lang", "invalid"),
        ({"text": "hello", "lang": "x" * 33}, "lang", "max_length"),
    ],
)
def test_bad_input_is_refused_field_by_field(make_user, client_for, body, field, code):
    response = client_for(make_user()).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"][field][0]["code"] == code


def test_anonymous_callers_are_refused(client_for):
    response = client_for(None).post(URL, {"text": "hello"}, format="json")
    assert response.status_code == 401


def test_banned_people_are_refused_like_every_write(make_user, client_for):
    user = make_user()
    user.is_banned = True
    user.save(update_fields=["is_banned"])
    response = client_for(user).post(URL, {"text": "hello"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "banned"


def test_the_general_rate_limit_applies(make_user, client_for, settings, monkeypatch):
    monkeypatch.setattr(throttles, "_now", lambda: 1_000_000.0)
    monkeypatch.setattr(throttles, "KEY_PREFIX", f"{throttles.KEY_PREFIX}-test-{uuid.uuid4().hex}")
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "2/min", "ip": None},
    }
    client = client_for(make_user())
    codes = [client.post(URL, {"text": "hello"}, format="json").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
