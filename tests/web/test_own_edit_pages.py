"""The author's "Edit" page (edit, or suggest once the window has closed), the "Edit"
links on the profile and in the tree viewer, and the moderators' suggestion pages with
their word diff, all through the server-rendered pages (post/redirect/get)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from backend.moderation.models import EditSuggestion, QueueItem
from backend.trees.models import Message, MessageRevision
from tests.factories import people, review, small_project, write_prompt
from tests.moderation.builders import with_role

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reviewed_prompt(text: str) -> tuple[Any, Message]:
    project = small_project(own_edit_window_minutes=0)
    author, reviewer = people(2)
    prompt = write_prompt(project, author, text=text)
    review(prompt, [reviewer])
    return author, prompt


def test_the_author_edits_from_the_page_and_lands_on_the_tree():
    project = small_project()
    (author,) = people(1)
    prompt = write_prompt(project, author, text="Whta is a prime number?")
    browser = signed_in(author)

    page = browser.get(f"/messages/{prompt.pk}/edit")
    assert page.status_code == 200
    assert b"data-own-edit" in page.content and b"Whta is a prime number?" in page.content

    saved = browser.post(
        f"/messages/{prompt.pk}/edit", {"action": "edit", "text": "What is a prime number?"}
    )

    assert saved.status_code == 302
    assert saved["Location"] == f"/trees/{prompt.tree_id}/#m{prompt.pk}"
    prompt.refresh_from_db()
    assert prompt.text == "What is a prime number?"
    assert MessageRevision.objects.filter(message=prompt).count() == 2


def test_a_blank_edit_is_shown_next_to_the_field_and_changes_nothing():
    project = small_project()
    (author,) = people(1)
    prompt = write_prompt(project, author, text="Keep this text.")

    page = signed_in(author).post(f"/messages/{prompt.pk}/edit", {"action": "edit", "text": " "})

    assert page.status_code == 422
    assert b'id="own-edit-text-error"' in page.content
    prompt.refresh_from_db()
    assert prompt.text == "Keep this text."


def test_someone_else_gets_403_and_a_missing_message_404():
    project = small_project()
    author, other = people(2)
    prompt = write_prompt(project, author)
    assert signed_in(other).get(f"/messages/{prompt.pk}/edit").status_code == 403
    assert signed_in(other).post(f"/messages/{prompt.pk}/edit", {"text": "x"}).status_code == 403
    assert signed_in(author).get("/messages/999999/edit").status_code == 404


def test_after_the_window_the_page_offers_a_suggestion_and_sends_it():
    author, prompt = reviewed_prompt("Wich planet is biggest?")
    browser = signed_in(author)

    page = browser.get(f"/messages/{prompt.pk}/edit")
    assert b"data-suggest-edit" in page.content and b"data-own-edit" not in page.content
    # A stale form that still tries to edit is answered with the suggestion form.
    stale = browser.post(f"/messages/{prompt.pk}/edit", {"action": "edit", "text": "Which?"})
    assert stale.status_code == 409 and b"data-suggest-edit" in stale.content

    sent = browser.post(
        f"/messages/{prompt.pk}/edit",
        {"action": "suggest", "text": "Which planet is biggest?", "reason": "typo"},
    )

    assert sent.status_code == 302 and sent["Location"] == f"/messages/{prompt.pk}/edit"
    suggestion = EditSuggestion.objects.get()
    assert (suggestion.text, suggestion.reason, suggestion.state) == (
        "Which planet is biggest?",
        "typo",
        "pending",
    )
    after = browser.get(sent["Location"])
    assert b"data-pending-suggestion" in after.content
    prompt.refresh_from_db()
    assert prompt.text == "Wich planet is biggest?"


def test_edit_links_show_on_my_own_messages_only():
    project = small_project()
    author, other = people(2)
    prompt = write_prompt(project, author)
    link = f'href="/messages/{prompt.pk}/edit" data-edit-link'.encode()

    assert link in signed_in(author).get("/me/").content
    assert link in signed_in(author).get(f"/trees/{prompt.tree_id}/").content
    assert link not in signed_in(other).get(f"/trees/{prompt.tree_id}/").content


def test_a_moderator_sees_the_diff_and_accepts_from_the_page():
    author, prompt = reviewed_prompt("How do magnets works?")
    moderator = with_role("moderator")
    signed_in(author).post(
        f"/messages/{prompt.pk}/edit", {"action": "suggest", "text": "How do magnets work?"}
    )
    suggestion = EditSuggestion.objects.get()
    browser = signed_in(moderator)

    item = QueueItem.objects.get(message=prompt, reason="edit_suggestion")
    item_page = browser.get(f"/moderation/items/{item.pk}/").content.decode()
    assert f'href="/moderation/suggestions/{suggestion.pk}/" data-suggestion-link' in item_page
    listed = browser.get("/moderation/suggestions/")
    assert f'data-suggestion="{suggestion.pk}"'.encode() in listed.content
    page = browser.get(f"/moderation/suggestions/{suggestion.pk}/")
    assert page.status_code == 200
    assert b"<del>works?</del><ins>work?</ins>" in page.content
    assert signed_in(author).get(f"/moderation/suggestions/{suggestion.pk}/").status_code == 403

    accepted = browser.post(f"/moderation/suggestions/{suggestion.pk}/accept", {"note": "ok"})

    assert (accepted.status_code, accepted["Location"]) == (302, "/moderation/suggestions/")
    prompt.refresh_from_db()
    assert prompt.text == "How do magnets work?"
    assert list(
        MessageRevision.objects.filter(message=prompt).values_list("text", "editor_id")
    ) == [("How do magnets works?", author.pk), ("How do magnets work?", author.pk)]
    declined_late = browser.post(f"/moderation/suggestions/{suggestion.pk}/decline")
    assert declined_late["Location"] == f"/moderation/suggestions/{suggestion.pk}/"


def test_declining_from_the_page_keeps_the_text():
    author, prompt = reviewed_prompt("Original question")
    moderator = with_role("moderator")
    signed_in(author).post(
        f"/messages/{prompt.pk}/edit", {"action": "suggest", "text": "Other question"}
    )
    suggestion = EditSuggestion.objects.get()

    signed_in(moderator).post(f"/moderation/suggestions/{suggestion.pk}/decline")

    suggestion.refresh_from_db()
    prompt.refresh_from_db()
    assert (suggestion.state, prompt.text) == ("declined", "Original question")


def test_the_pages_speak_german():
    author, prompt = reviewed_prompt("Eine Frage")
    browser = signed_in(author)
    page = browser.get(f"/messages/{prompt.pk}/edit", HTTP_ACCEPT_LANGUAGE="de")
    assert "Eine Änderung vorschlagen".encode() in page.content
