from __future__ import annotations

import pytest

from backend.audit.models import AuditEvent
from backend.trees.models import Reaction
from tests.helpers import do_one


@pytest.mark.django_db(transaction=True)
def test_reacting_counts_once_per_person_and_emoji(make_user, make_project, client_for):
    project = make_project()
    author = client_for(make_user())
    message_id = do_one(author, project.slug, kind="initial_prompt")["message"]["id"]
    reader = client_for(make_user())

    first = reader.post(f"/api/v1/messages/{message_id}/reactions", {"emoji": "+1"}, format="json")
    again = reader.post(f"/api/v1/messages/{message_id}/reactions", {"emoji": "+1"}, format="json")
    flag = reader.post(
        f"/api/v1/messages/{message_id}/reactions", {"emoji": "red_flag"}, format="json"
    )

    assert first.status_code == 201
    assert first.json() == {
        "message_id": message_id,
        "emoji": "+1",
        "created": True,
        "emojis": {"+1": 1},
    }
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert flag.json()["emojis"] == {"+1": 1, "red_flag": 1}
    assert Reaction.objects.filter(message_id=message_id).count() == 2
    assert (
        AuditEvent.objects.filter(action="message.reacted", target_id=str(message_id)).count() == 2
    )


@pytest.mark.django_db
def test_bad_emoji_and_unknown_message_are_refused(make_user, client_for):
    client = client_for(make_user())
    bad = client.post("/api/v1/messages/1/reactions", {"emoji": "heart"}, format="json")
    missing = client.post("/api/v1/messages/999999/reactions", {"emoji": "+1"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["fields"]["emoji"][0]["code"] == "invalid_choice"
    assert missing.status_code == 404
    assert missing.json()["code"] == "message_not_found"
    assert Reaction.objects.count() == 0
