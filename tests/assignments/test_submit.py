"""Submitting: text, label and ranking validation, refusals that change nothing, and
idempotency keys. Through ``POST /api/v1/assignments/{id}/submit``."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from backend.assignments.models import (
    LABEL_KINDS,
    RANK_KINDS,
    Assignment,
    IdempotencyRecord,
    Kind,
    LabelVote,
    RankingVote,
)
from backend.trees.models import Message
from tests.factories import (
    growing_tree,
    live_item,
    people,
    review,
    small_project,
    snapshot,
    write_prompt,
    write_reply,
)
from tests.helpers import claim, submit

pytestmark = pytest.mark.django_db

NO_NEW_PROMPTS = {kind: 1 for kind in Kind.values} | {"initial_prompt": 0}


def claimed(client: Any, project: Any, kind: str) -> dict[str, Any]:
    response = claim(client, project.slug, kind)
    assert response.status_code == 201, response.content
    return response.json()


def assert_refused_and_unchanged(
    response: Any, before: dict[str, Any], status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    """The refusal answers ``status``/``code``; the database is exactly as it was."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    if field is not None:
        assert [entry["code"] for entry in body["fields"][field]] == [code], body
    assert snapshot() == before
    return body


def still_active(assignment: dict[str, Any]) -> bool:
    return Assignment.objects.get(pk=assignment["id"]).state == "active"


# --- Text -----------------------------------------------------------------------------


@pytest.fixture
def prompt_assignment(client_for):  # type: ignore[no-untyped-def]
    project = small_project(max_message_length=40, duplicate_text_window_hours=24)
    writer = people(1)[0]
    client = client_for(writer)
    return SimpleNamespace(
        project=project,
        writer=writer,
        client=client,
        assignment=claimed(client, project, "initial_prompt"),
    )


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        pytest.param({"text": ""}, "blank", id="empty"),
        pytest.param({"text": "   \n\t  "}, "blank", id="only-whitespace"),
        pytest.param({}, "required", id="missing"),
        pytest.param({"text": "x" * 41}, "too_long", id="one-over-the-limit"),
        pytest.param({"text": "  " + "x" * 41 + "  "}, "too_long", id="over-the-limit-stripped"),
    ],
)
def test_bad_texts_are_400_and_change_nothing(prompt_assignment, payload, code):
    client = prompt_assignment.client
    assignment = prompt_assignment.assignment
    before = snapshot()

    response = submit(client, assignment["id"], payload)

    assert_refused_and_unchanged(response, before, 400, code, field="text")
    assert still_active(assignment)


def test_a_text_of_exactly_the_maximum_length_is_accepted(prompt_assignment):
    client = prompt_assignment.client
    assignment = prompt_assignment.assignment

    response = submit(client, assignment["id"], {"text": "  " + "y" * 40 + "\n"})

    assert response.status_code == 200, response.content
    assert Message.objects.get().text == "y" * 40


def test_the_same_text_twice_by_one_author_is_400_duplicate_text(prompt_assignment, client_for):
    project = prompt_assignment.project
    client = prompt_assignment.client
    assignment = prompt_assignment.assignment
    assert submit(client, assignment["id"], {"text": "What is a  B-tree?"}).status_code == 200
    second = claimed(client, project, "initial_prompt")
    before = snapshot()

    # Case and runs of whitespace do not make a text new.
    response = submit(client, second["id"], {"text": "  what IS a b-tree?  "})

    assert_refused_and_unchanged(response, before, 400, "duplicate_text", field="text")
    assert still_active(second)
    # Someone else may write the same words.
    other = client_for(people(1)[0])
    theirs = claimed(other, project, "initial_prompt")
    assert submit(other, theirs["id"], {"text": "What is a B-tree?"}).status_code == 200


def test_the_same_text_is_accepted_again_after_the_window(prompt_assignment):
    project = prompt_assignment.project
    writer = prompt_assignment.writer
    client = prompt_assignment.client
    assignment = prompt_assignment.assignment
    assert submit(client, assignment["id"], {"text": "What is a B-tree?"}).status_code == 200
    Message.objects.filter(author=writer).update(created_at=timezone.now() - timedelta(hours=25))
    second = claimed(client, project, "initial_prompt")

    assert submit(client, second["id"], {"text": "What is a B-tree?"}).status_code == 200
    assert Message.objects.filter(author=writer).count() == 2


def test_a_duplicate_reply_is_refused_like_a_duplicate_prompt(client_for):
    project = small_project()
    author, reviewer, writer = people(3)
    first_tree, _ = growing_tree(project, author, [reviewer])
    second_tree, _ = growing_tree(project, author, [reviewer])
    client = client_for(writer)
    first = claimed(client, project, "assistant_reply")
    assert first["tree_id"] == first_tree.pk
    assert submit(client, first["id"], {"text": "Use a balanced tree."}).status_code == 200
    # The writer may not answer the same prompt twice; the next reply is in another tree.
    second = claimed(client, project, "assistant_reply")
    assert second["tree_id"] == second_tree.pk
    before = snapshot()

    response = submit(client, second["id"], {"text": "use a BALANCED   tree."})

    assert_refused_and_unchanged(response, before, 400, "duplicate_text", field="text")
    assert still_active(second)


# --- Labels ---------------------------------------------------------------------------


@pytest.fixture
def review_assignment(client_for):  # type: ignore[no-untyped-def]
    project = small_project(num_reviews_initial_prompt=2)
    author, reviewer = people(2)
    root = write_prompt(project, author)
    client = client_for(reviewer)
    return SimpleNamespace(
        project=project,
        root=root,
        client=client,
        assignment=claimed(client, project, "label_initial_prompt"),
    )


@pytest.mark.parametrize(
    ("labels", "field", "code"),
    [
        pytest.param({"spam": 0, "sarcasm": 1}, "labels.sarcasm", "unknown_label", id="unknown"),
        pytest.param(
            {"spam": 0, "helpfulness": 0.5},
            "labels.helpfulness",
            "unknown_label",
            id="assistant-only-label-on-a-prompt",
        ),
        pytest.param({"lang_mismatch": 0, "quality": 0.5}, "labels.spam", "required", id="no-spam"),
        pytest.param({"spam": None, "quality": 0.5}, "labels.spam", "required", id="spam-null"),
        pytest.param({"spam": 0, "quality": 1.5}, "labels.quality", "out_of_range", id="above-1"),
        pytest.param({"spam": 0, "quality": -0.25}, "labels.quality", "out_of_range", id="below-0"),
        pytest.param({"spam": 2}, "labels.spam", "out_of_range", id="flag-above-1"),
        pytest.param({"spam": 0.5}, "labels.spam", "invalid_value", id="flag-half"),
        pytest.param({"spam": 0, "pii": 0.99}, "labels.pii", "invalid_value", id="flag-0.99"),
        pytest.param({}, "labels", "empty", id="empty"),
    ],
)
def test_bad_labels_are_400_and_change_nothing(review_assignment, labels, field, code):
    client = review_assignment.client
    assignment = review_assignment.assignment
    before = snapshot()

    response = submit(client, assignment["id"], {"labels": labels})

    assert_refused_and_unchanged(response, before, 400, code, field=field)
    assert still_active(assignment)


def test_a_label_assignment_without_labels_is_400(review_assignment):
    client = review_assignment.client
    assignment = review_assignment.assignment
    before = snapshot()

    response = submit(client, assignment["id"], {"text": "not labels"})

    assert_refused_and_unchanged(response, before, 400, "required", field="labels")


def test_valid_labels_store_one_vote_each_and_skip_unanswered_ones(review_assignment):
    root = review_assignment.root
    client = review_assignment.client
    assignment = review_assignment.assignment

    response = submit(
        client,
        assignment["id"],
        {"labels": {"spam": 0, "lang_mismatch": 1, "quality": 0.75, "humor": None, "pii": 0}},
    )

    assert response.status_code == 200, response.content
    votes = sorted(
        LabelVote.objects.filter(message=root).values_list("label", "value", "assignment_id")
    )
    assert votes == [
        ("lang_mismatch", 1.0, assignment["id"]),
        ("pii", 0.0, assignment["id"]),
        ("quality", 0.75, assignment["id"]),
        ("spam", 0.0, assignment["id"]),
    ]
    root.refresh_from_db()
    assert (root.review_count, root.review_result) == (1, None)
    item = live_item(root, LABEL_KINDS)
    assert (item.completed_count, item.open_slots) == (1, 1)


def test_after_a_refusal_a_corrected_submit_succeeds(review_assignment):
    client = review_assignment.client
    assignment = review_assignment.assignment
    assert submit(client, assignment["id"], {"labels": {"spam": 0.5}}).status_code == 400

    response = submit(client, assignment["id"], {"labels": {"spam": 1}})

    assert response.status_code == 200, response.content
    assert response.json()["assignment"]["state"] == "submitted"
    assert list(LabelVote.objects.values_list("label", "value")) == [("spam", 1.0)]


# --- Rankings -------------------------------------------------------------------------


@pytest.fixture
def ranking_assignment(client_for):  # type: ignore[no-untyped-def]
    project = small_project(goal_tree_size=4, max_children=3, num_required_rankings=2)
    author, reviewer, writer_a, writer_b, writer_c, voter = people(6)
    _tree, root = growing_tree(project, author, [reviewer])
    replies = [write_reply(root, writer) for writer in (writer_a, writer_b, writer_c)]
    for reply in replies:
        review(reply, [reviewer])
    client = client_for(voter)
    assignment = claimed(client, project, "rank_assistant_replies")
    return SimpleNamespace(
        project=project, root=root, replies=replies, client=client, assignment=assignment
    )


@pytest.mark.parametrize(
    ("make_ranking", "code"),
    [
        pytest.param(lambda ids, stranger: ids[:2], "not_a_permutation", id="one-missing"),
        pytest.param(lambda ids, stranger: [*ids, ids[0]], "not_a_permutation", id="one-twice"),
        pytest.param(
            lambda ids, stranger: [ids[0], ids[0], ids[1]],
            "not_a_permutation",
            id="dup-for-missing",
        ),
        pytest.param(lambda ids, stranger: [*ids[:2], stranger], "not_a_permutation", id="foreign"),
        pytest.param(lambda ids, stranger: [*ids, stranger], "not_a_permutation", id="one-extra"),
        pytest.param(lambda ids, stranger: [], "not_a_permutation", id="empty"),
    ],
)
def test_a_ranking_that_is_not_a_permutation_is_400(ranking_assignment, make_ranking, code):
    root = ranking_assignment.root
    replies = ranking_assignment.replies
    client = ranking_assignment.client
    assignment = ranking_assignment.assignment
    ids = [reply.pk for reply in replies]
    before = snapshot()

    response = submit(client, assignment["id"], {"ranking": make_ranking(ids, root.pk)})

    assert_refused_and_unchanged(response, before, 400, code, field="ranking")
    assert still_active(assignment)


def test_a_ranking_assignment_without_a_ranking_is_400(ranking_assignment):
    client = ranking_assignment.client
    assignment = ranking_assignment.assignment
    before = snapshot()

    response = submit(client, assignment["id"], {"labels": {"spam": 0}})

    assert_refused_and_unchanged(response, before, 400, "required", field="ranking")


def test_a_valid_ranking_is_stored_best_first(ranking_assignment):
    root = ranking_assignment.root
    replies = ranking_assignment.replies
    client = ranking_assignment.client
    assignment = ranking_assignment.assignment
    order = [replies[2].pk, replies[0].pk, replies[1].pk]
    assert sorted(c["id"] for c in assignment["candidates"]) == sorted(order)

    response = submit(client, assignment["id"], {"ranking": order})

    assert response.status_code == 200, response.content
    vote = RankingVote.objects.get()
    assert (vote.parent_id, vote.ranking, vote.assignment_id) == (root.pk, order, assignment["id"])
    item = live_item(root, RANK_KINDS)
    assert (item.completed_count, item.open_slots) == (1, 1)


def test_a_deleted_candidate_is_409_candidates_changed_and_the_assignment_stays(ranking_assignment):
    replies = ranking_assignment.replies
    client = ranking_assignment.client
    assignment = ranking_assignment.assignment
    Message.objects.filter(pk=replies[1].pk).update(is_deleted=True)
    before = snapshot()

    response = submit(client, assignment["id"], {"ranking": [reply.pk for reply in replies]})

    body = assert_refused_and_unchanged(response, before, 409, "candidates_changed")
    assert body["current_candidates"] == [replies[0].pk, replies[2].pk]
    assert still_active(assignment)
    # Once the candidate is back, the same assignment can be submitted.
    Message.objects.filter(pk=replies[1].pk).update(is_deleted=False)
    assert submit(client, assignment["id"], {"ranking": [r.pk for r in replies]}).status_code == 200


# --- Assignment state -----------------------------------------------------------------


def test_a_submitted_assignment_cannot_be_submitted_again(review_assignment):
    client = review_assignment.client
    assignment = review_assignment.assignment
    assert submit(client, assignment["id"], {"labels": {"spam": 0}}).status_code == 200
    before = snapshot()

    response = submit(client, assignment["id"], {"labels": {"spam": 1}})

    body = assert_refused_and_unchanged(response, before, 409, "assignment_not_active")
    assert body["assignment_state"] == "submitted"
    assert list(LabelVote.objects.values_list("value", flat=True)) == [0.0]


def test_someone_elses_assignment_is_404(review_assignment, client_for):
    assignment = review_assignment.assignment
    before = snapshot()

    response = submit(client_for(people(1)[0]), assignment["id"], {"labels": {"spam": 0}})

    assert_refused_and_unchanged(response, before, 404, "assignment_not_found")
    assert still_active(assignment)


# --- Idempotency keys -----------------------------------------------------------------


def test_a_replay_returns_the_identical_first_answer_and_stores_once(prompt_assignment):
    writer = prompt_assignment.writer
    client = prompt_assignment.client
    assignment = prompt_assignment.assignment
    body = {"text": "Why do leaves change colour?"}

    first = submit(client, assignment["id"], body, HTTP_IDEMPOTENCY_KEY="key-1")
    replay = submit(client, assignment["id"], body, HTTP_IDEMPOTENCY_KEY="key-1")

    assert first.status_code == 200 and replay.status_code == 200
    assert replay.content == first.content  # byte for byte, key order included
    assert replay["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Message.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.assignment_id, record.user_id) == (
        "key-1",
        assignment["id"],
        writer.pk,
    )


def test_a_key_reused_with_a_different_body_is_refused_and_changes_nothing(review_assignment):
    client = review_assignment.client
    assignment = review_assignment.assignment
    first = submit(client, assignment["id"], {"labels": {"spam": 0}}, HTTP_IDEMPOTENCY_KEY="k")
    before = snapshot()

    reused = submit(client, assignment["id"], {"labels": {"spam": 1}}, HTTP_IDEMPOTENCY_KEY="k")

    assert first.status_code == 200
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert snapshot() == before
    assert list(LabelVote.objects.values_list("value", flat=True)) == [0.0]


def test_the_same_body_with_its_keys_in_another_order_is_a_replay(review_assignment):
    client = review_assignment.client
    assignment = review_assignment.assignment
    labels = {"spam": 0, "lang_mismatch": 0}
    first = submit(client, assignment["id"], {"labels": labels}, HTTP_IDEMPOTENCY_KEY="k")

    replay = submit(
        client,
        assignment["id"],
        {"labels": dict(reversed(labels.items()))},
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert (replay.status_code, replay.content) == (200, first.content)
    assert LabelVote.objects.count() == 2


@pytest.mark.parametrize("key", ["k" * 201, "tab\there", "nul\x00"])
def test_a_key_too_long_or_not_printable_is_a_400_and_stores_nothing(review_assignment, key):
    client = review_assignment.client
    assignment = review_assignment.assignment
    before = snapshot()

    refused = submit(client, assignment["id"], {"labels": {"spam": 0}}, HTTP_IDEMPOTENCY_KEY=key)

    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid_idempotency_key"
    assert snapshot() == before


def test_two_keys_sharing_their_first_200_characters_do_not_collide(prompt_assignment):
    client = prompt_assignment.client
    assignment = prompt_assignment.assignment
    prefix = "p" * 199
    first = submit(
        client, assignment["id"], {"text": "A question."}, HTTP_IDEMPOTENCY_KEY=prefix + "a"
    )
    other = submit(
        client, assignment["id"], {"text": "A question."}, HTTP_IDEMPOTENCY_KEY=prefix + "b"
    )

    assert first.status_code == 200
    # Not a replay of the first key: the assignment is already submitted.
    assert (other.status_code, other.json()["code"]) == (409, "assignment_not_active")


def test_a_ranking_replay_stores_one_vote(ranking_assignment):
    root = ranking_assignment.root
    replies = ranking_assignment.replies
    client = ranking_assignment.client
    assignment = ranking_assignment.assignment
    body = {"ranking": [reply.pk for reply in replies]}

    first = submit(client, assignment["id"], body, HTTP_IDEMPOTENCY_KEY="rank-1")
    replay = submit(client, assignment["id"], body, HTTP_IDEMPOTENCY_KEY="rank-1")

    assert replay.json() == first.json()
    assert RankingVote.objects.count() == 1
    assert live_item(root, RANK_KINDS).completed_count == 1


def test_the_same_key_for_another_assignment_is_422(client_for):
    project = small_project(num_reviews_initial_prompt=1, assignment_weights=NO_NEW_PROMPTS)
    reviewer = people(1)[0]
    for author in people(2):
        write_prompt(project, author)
    client = client_for(reviewer)
    first = claimed(client, project, "label_initial_prompt")
    second = claimed(client, project, "label_initial_prompt")
    assert (
        submit(client, first["id"], {"labels": {"spam": 0}}, HTTP_IDEMPOTENCY_KEY="k").status_code
        == 200
    )
    before = snapshot()

    response = submit(client, second["id"], {"labels": {"spam": 0}}, HTTP_IDEMPOTENCY_KEY="k")

    assert_refused_and_unchanged(response, before, 422, "idempotency_key_reused")
    assert still_active(second)
    # Without the reused key it goes through.
    assert (
        submit(client, second["id"], {"labels": {"spam": 0}}, HTTP_IDEMPOTENCY_KEY="k2").status_code
        == 200
    )


def test_keys_belong_to_one_person(client_for):
    project = small_project(num_reviews_initial_prompt=2)
    root = write_prompt(project, people(1)[0])
    one, two = (client_for(user) for user in people(2))
    first = claimed(one, project, "label_initial_prompt")
    second = claimed(two, project, "label_initial_prompt")

    assert (
        submit(one, first["id"], {"labels": {"spam": 0}}, HTTP_IDEMPOTENCY_KEY="same").status_code
        == 200
    )
    assert (
        submit(two, second["id"], {"labels": {"spam": 1}}, HTTP_IDEMPOTENCY_KEY="same").status_code
        == 200
    )

    assert sorted(LabelVote.objects.filter(message=root).values_list("value", flat=True)) == [
        0.0,
        1.0,
    ]
    assert IdempotencyRecord.objects.count() == 2


def test_a_refused_submit_does_not_use_up_its_key(review_assignment):
    client = review_assignment.client
    assignment = review_assignment.assignment
    refused = submit(client, assignment["id"], {"labels": {"spam": 0.5}}, HTTP_IDEMPOTENCY_KEY="k")
    assert refused.status_code == 400
    assert IdempotencyRecord.objects.count() == 0

    accepted = submit(client, assignment["id"], {"labels": {"spam": 0}}, HTTP_IDEMPOTENCY_KEY="k")

    assert accepted.status_code == 200, accepted.content
    assert "Idempotent-Replayed" not in accepted
    assert LabelVote.objects.count() == 1
