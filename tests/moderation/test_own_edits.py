"""Authors edit their own messages (``PATCH /api/v1/messages/{id}``) while nobody has
reviewed them or within the project's window, and suggest later edits, which a
moderator accepts (a revision credited to the author) or declines."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backend.audit.models import AuditAction, AuditEvent
from backend.common.events import MessageEdited, subscribe, unsubscribe
from backend.moderation.models import EditSuggestion, QueueItem
from backend.trees.models import Message, MessageRevision
from tests.factories import people, review, small_project, snapshot, write_prompt
from tests.moderation.builders import api, post, with_role

pytestmark = pytest.mark.django_db


def patch(user: Any, message: Message, body: dict[str, Any]) -> Any:
    return api(user).patch(f"/api/v1/messages/{message.pk}", body, format="json")


def age(message: Message, minutes: int) -> None:
    Message.objects.filter(pk=message.pk).update(
        created_at=Message.objects.get(pk=message.pk).created_at - timedelta(minutes=minutes)
    )


def revisions(message: Message) -> list[tuple[str, int | None, str]]:
    return list(
        MessageRevision.objects.filter(message=message)
        .order_by("created_at", "pk")
        .values_list("text", "editor_id", "reason")
    )


@pytest.fixture
def edited_events() -> Any:
    seen: list[MessageEdited] = []
    subscribe(MessageEdited, seen.append)
    yield seen
    unsubscribe(MessageEdited, seen.append)


def test_the_author_edits_an_unreviewed_message_keeping_every_version(edited_events):
    project = small_project()
    (author,) = people(1)
    prompt = write_prompt(project, author, text="What is the captial of France?")
    age(prompt, 60)  # long past the window: still editable, nobody reviewed it

    response = patch(author, prompt, {"text": "What is the capital of France?"})

    assert response.status_code == 200
    assert response.json() == {
        "id": prompt.pk,
        "text": "What is the capital of France?",
        "changed": True,
        "revisions": 2,
    }
    prompt.refresh_from_db()
    assert prompt.text == "What is the capital of France?"
    assert revisions(prompt) == [
        ("What is the captial of France?", author.pk, ""),
        ("What is the capital of France?", author.pk, "edited by its author"),
    ]
    event = AuditEvent.objects.filter(action=AuditAction.MESSAGE_EDITED).get()
    assert (event.actor_id, event.target_id, event.before, event.after) == (
        author.pk,
        str(prompt.pk),
        {"text": "What is the captial of France?"},
        {"text": "What is the capital of France?", "by_author": True},
    )
    assert [(e.message_id, e.actor_id) for e in edited_events] == [(prompt.pk, author.pk)]


def test_sending_the_same_text_again_changes_nothing(edited_events):
    project = small_project()
    (author,) = people(1)
    prompt = write_prompt(project, author, text="Tell me a jokee.")
    assert patch(author, prompt, {"text": "Tell me a joke."}).status_code == 200
    before = snapshot()

    again = patch(author, prompt, {"text": "  Tell me a joke. "})

    assert again.status_code == 200
    assert again.json() == {
        "id": prompt.pk,
        "text": "Tell me a joke.",
        "changed": False,
        "revisions": 2,
    }
    assert snapshot() == before
    assert len(edited_events) == 1


def test_someone_else_may_not_edit_and_nothing_changes():
    project = small_project()
    author, other = people(2)
    prompt = write_prompt(project, author, text="Original words here.")
    before = snapshot()

    response = patch(other, prompt, {"text": "Vandalised."})

    assert response.status_code == 403
    assert response.json()["code"] == "not_author"
    assert snapshot() == before
    assert not MessageRevision.objects.exists()


def test_a_moderator_is_not_the_author_either():
    project = small_project()
    (author,) = people(1)
    moderator = with_role("moderator")
    prompt = write_prompt(project, author)
    assert patch(moderator, prompt, {"text": "Changed."}).json()["code"] == "not_author"


@pytest.mark.parametrize(
    ("body", "field_code"),
    [
        ({"text": "   "}, "blank"),
        ({"text": 7}, "invalid"),
        ({}, "required"),
        ({"text": "x" * 201}, "too_long"),
    ],
)
def test_bad_text_is_a_field_level_400(body, field_code):
    project = small_project(max_message_length=200)
    (author,) = people(1)
    prompt = write_prompt(project, author)
    before = snapshot()

    response = patch(author, prompt, body)

    assert response.status_code == 400
    assert response.json()["fields"]["text"][0]["code"] == field_code
    assert snapshot() == before


def test_a_reviewed_message_is_editable_within_the_window_then_closed():
    project = small_project(own_edit_window_minutes=10)
    author, *reviewers = people(4)
    prompt = write_prompt(project, author, text="Name three primes")
    review(prompt, reviewers[:1])
    assert patch(author, prompt, {"text": "Name three primes."}).status_code == 200

    age(prompt, 11)
    before = snapshot()
    response = patch(author, prompt, {"text": "Name three prime numbers."})

    assert response.status_code == 409
    assert response.json() == {
        "code": "edit_window_closed",
        "detail": "This message has been reviewed and the time to edit it has passed; "
        "suggest the edit to the moderators instead.",
        "hint": "suggest_edit",
        "suggest_url": f"/api/v1/messages/{prompt.pk}/suggestions",
    }
    assert snapshot() == before


def test_window_zero_allows_edits_only_before_any_review():
    project = small_project(own_edit_window_minutes=0)
    author, reviewer = people(2)
    prompt = write_prompt(project, author, text="First words.")
    assert patch(author, prompt, {"text": "Second words."}).status_code == 200
    review(prompt, [reviewer])
    assert patch(author, prompt, {"text": "Third words."}).json()["code"] == "edit_window_closed"


def test_the_window_setting_is_validated(make_project):
    from backend.common.errors import ArborError

    with pytest.raises(ArborError) as refused:
        make_project(own_edit_window_minutes=1441)
    assert refused.value.code == "invalid_project"
    assert "settings.own_edit_window_minutes" in refused.value.fields


def test_a_suggestion_is_queued_and_accepting_it_credits_the_author(edited_events):
    project = small_project(own_edit_window_minutes=0)
    author, reviewer = people(2)
    moderator = with_role("moderator")
    prompt = write_prompt(project, author, text="How do magnets works?")
    review(prompt, [reviewer])

    created = post(
        author,
        f"/api/v1/messages/{prompt.pk}/suggestions",
        {"text": "How do magnets work?", "reason": "typo"},
    )

    assert created.status_code == 201
    body = created.json()
    suggestion = EditSuggestion.objects.get()
    assert (body["id"], body["state"], body["text"], body["reason"]) == (
        suggestion.pk,
        "pending",
        "How do magnets work?",
        "typo",
    )
    item = QueueItem.objects.get(message=prompt, reason="edit_suggestion")
    assert item.details == {"suggestion_id": suggestion.pk}
    repeated = post(
        author, f"/api/v1/messages/{prompt.pk}/suggestions", {"text": "How do magnets work?"}
    )
    assert (repeated.status_code, repeated.json()["id"]) == (200, suggestion.pk)
    other = post(author, f"/api/v1/messages/{prompt.pk}/suggestions", {"text": "Magnets?"})
    assert (other.status_code, other.json()["code"]) == (409, "suggestion_pending")

    url = f"/api/v1/messages/{prompt.pk}/suggestions/{suggestion.pk}"
    assert post(author, f"{url}/accept").status_code == 403
    accepted = post(moderator, f"{url}/accept", {"note": "fine"})

    assert accepted.status_code == 200
    assert accepted.json()["state"] == "accepted"
    prompt.refresh_from_db()
    assert prompt.text == "How do magnets work?"
    assert revisions(prompt) == [
        ("How do magnets works?", author.pk, ""),
        ("How do magnets work?", author.pk, f"edit suggestion {suggestion.pk} accepted"),
    ]
    suggestion.refresh_from_db()
    assert (suggestion.state, suggestion.decided_by_id) == ("accepted", moderator.pk)
    assert [(e.message_id, e.actor_id) for e in edited_events] == [(prompt.pk, author.pk)]
    assert list(
        AuditEvent.objects.filter(target_type="edit_suggestion").values_list("action", "actor_id")
    ) == [
        (AuditAction.EDIT_SUGGESTED, author.pk),
        (AuditAction.EDIT_SUGGESTION_ACCEPTED, moderator.pk),
    ]
    again = post(moderator, f"{url}/decline")
    assert (again.status_code, again.json()["code"]) == (409, "suggestion_decided")


def test_declining_keeps_the_text_and_a_new_suggestion_may_follow():
    project = small_project(own_edit_window_minutes=0)
    author, reviewer = people(2)
    moderator = with_role("moderator")
    prompt = write_prompt(project, author, text="Explain photosynthesis")
    review(prompt, [reviewer])
    first = post(author, f"/api/v1/messages/{prompt.pk}/suggestions", {"text": "Explain it all"})
    suggestion_id = first.json()["id"]

    declined = post(moderator, f"/api/v1/messages/{prompt.pk}/suggestions/{suggestion_id}/decline")

    assert (declined.status_code, declined.json()["state"]) == (200, "declined")
    prompt.refresh_from_db()
    assert prompt.text == "Explain photosynthesis"
    assert not MessageRevision.objects.exists()
    second = post(author, f"/api/v1/messages/{prompt.pk}/suggestions", {"text": "Explain!"})
    assert second.status_code == 201


def test_only_the_author_suggests_and_bad_input_is_refused():
    project = small_project()
    author, other = people(2)
    prompt = write_prompt(project, author, text="Some prompt text")
    url = f"/api/v1/messages/{prompt.pk}/suggestions"
    assert post(other, url, {"text": "Mine now"}).json()["code"] == "not_author"
    unchanged = post(author, url, {"text": "Some prompt text"})
    assert (unchanged.status_code, unchanged.json()["fields"]["text"][0]["code"]) == (
        400,
        "unchanged",
    )
    assert post(author, url, {"text": ""}).json()["fields"]["text"][0]["code"] == "blank"
    assert post(author, "/api/v1/messages/999999/suggestions", {"text": "x"}).status_code == 404
    assert not EditSuggestion.objects.exists()


def test_moderator_edits_still_keep_revisions_through_the_shared_core(edited_events):
    project = small_project()
    (author,) = people(1)
    moderator = with_role("moderator")
    prompt = write_prompt(project, author, text="Before the edit.")

    response = post(moderator, f"/api/v1/messages/{prompt.pk}/edit", {"text": "After the edit."})

    assert response.status_code == 200
    assert revisions(prompt) == [
        ("Before the edit.", author.pk, ""),
        ("After the edit.", moderator.pk, ""),
    ]
    assert [(e.message_id, e.actor_id) for e in edited_events] == [(prompt.pk, moderator.pk)]
