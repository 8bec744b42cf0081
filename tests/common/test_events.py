"""Domain events: subscription, order, and the events the engine emits on real work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from backend.common.events import (
    AssignmentSkipped,
    AssignmentSubmitted,
    MessageCreated,
    MessageReviewed,
    TreeStateChanged,
    emit,
    subscribe,
    subscribers,
    unsubscribe,
)
from tests.factories import GOOD_LABELS, SPAM_LABELS, people, review, small_project, write_prompt


@pytest.fixture
def recorded() -> Iterator[list[Any]]:
    """Every event of the types under test, in emission order."""
    seen: list[Any] = []
    types = (
        MessageCreated,
        MessageReviewed,
        TreeStateChanged,
        AssignmentSubmitted,
        AssignmentSkipped,
    )
    for event_type in types:
        subscribe(event_type, seen.append)
    yield seen
    for event_type in types:
        unsubscribe(event_type, seen.append)


@pytest.mark.django_db  # the quality app subscribes too: it owes the message an outbox row
def test_handlers_run_in_subscription_order_once_each():
    calls: list[str] = []

    def first(event: MessageCreated) -> None:
        calls.append(f"first {event.message_id}")

    def second(event: MessageCreated) -> None:
        calls.append(f"second {event.message_id}")

    subscribe(MessageCreated, first)
    subscribe(MessageCreated, second)
    subscribe(MessageCreated, first)  # a second subscription of the same handler is a no-op
    try:
        emit(MessageCreated(message_id=7, tree_id=1, project_id=1, author_id=None, is_root=True))
        emit(MessageReviewed(7, 1, 1, None, True, True))  # no subscriber here: nothing runs
    finally:
        unsubscribe(MessageCreated, first)
        unsubscribe(MessageCreated, second)
    assert calls == ["first 7", "second 7"]
    assert first not in subscribers(MessageCreated)


def test_moderation_subscribes_when_django_starts():
    from backend.moderation import subscribers as moderation

    assert moderation.on_message_reviewed in subscribers(MessageReviewed)
    assert moderation.on_assignment_skipped in subscribers(AssignmentSkipped)


@pytest.mark.django_db
def test_a_prompt_reviewed_to_rejection_emits_its_events_in_order(recorded):
    project = small_project(num_reviews_initial_prompt=1)
    author, reviewer = people(2)

    root = write_prompt(project, author, text="Tell me about tides.")
    review(root, [reviewer], [SPAM_LABELS])

    tree = root.tree
    kinds = [type(event).__name__ for event in recorded]
    assert kinds == [
        "MessageCreated",
        "AssignmentSubmitted",  # the prompt
        "MessageReviewed",
        "TreeStateChanged",
        "AssignmentSubmitted",  # the review
    ]
    assert recorded[0] == MessageCreated(
        message_id=root.pk,
        tree_id=tree.pk,
        project_id=project.pk,
        author_id=author.pk,
        is_root=True,
    )
    assert recorded[2] == MessageReviewed(
        message_id=root.pk,
        tree_id=tree.pk,
        project_id=project.pk,
        author_id=author.pk,
        is_root=True,
        is_accepted=False,
    )
    assert (recorded[3].before, recorded[3].after) == ("prompt_review", "aborted_low_grade")
    assert (recorded[4].kind, recorded[4].user_id, recorded[4].message_id) == (
        "label_initial_prompt",
        reviewer.pk,
        None,
    )


@pytest.mark.django_db
def test_the_rejected_prompt_reaches_the_moderation_queue_through_its_subscriber():
    from backend.moderation.models import QueueItem

    project = small_project(num_reviews_initial_prompt=1)
    author, reviewer, other = people(3)
    accepted = write_prompt(project, author, text="A fine question about rivers.")
    review(accepted, [reviewer], [GOOD_LABELS])
    rejected = write_prompt(project, author, text="buy cheap watches now")
    review(rejected, [other], [SPAM_LABELS])

    assert list(QueueItem.objects.values_list("reason", "message_id")) == [
        ("rejected_prompt", rejected.pk)
    ]
