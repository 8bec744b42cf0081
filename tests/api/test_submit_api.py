"""Contract of POST /api/v1/assignments/{id}/submit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.assignments.halting import tree_halt
from backend.assignments.models import (
    Assignment,
    AssignmentState,
    IdempotencyRecord,
    LabelVote,
    RankingVote,
    WorkItem,
    WorkItemExclusion,
)
from backend.assignments.services import assignments_expire_overdue
from backend.trees.models import Message, Tree
from tests.api.scenario import PROMPT_TEXT, claim_ok, db_snapshot, iso, submit_ok
from tests.helpers import GOOD_LABELS, submit

pytestmark = pytest.mark.django_db


def url(assignment_id: int) -> str:
    return f"/api/v1/assignments/{assignment_id}/submit"


def message_body(message: Message) -> dict:
    return {
        "id": message.pk,
        "tree_id": message.tree_id,
        "parent_id": message.parent_id,
        "role": message.role,
        "text": message.text,
        "lang": message.lang,
        "depth": message.depth,
        "review_count": message.review_count,
        "review_result": message.review_result,
        "rank": message.rank,
        "deleted": message.is_deleted,
        "synthetic": message.synthetic,
        "model_name": None,
        "created_at": iso(message.created_at),
    }


def assert_refused(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    if field is not None:
        assert [entry["code"] for entry in body["fields"][field]] == [code], body
    return body


# --- Happy paths ------------------------------------------------------------------------


def test_submit_initial_prompt_creates_a_tree(world_at):
    world = world_at("empty")
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    response = submit(client, assignment["id"], {"text": f"  {PROMPT_TEXT}\n"})
    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response
    body = response.json()

    root = Message.objects.get()
    tree = Tree.objects.get()
    assert (tree.state, tree.root_id, tree.project_id, tree.lang) == (
        "prompt_review",
        root.pk,
        world.project.pk,
        "en",
    )
    assert (root.text, root.author_id, root.role, root.parent_id) == (
        PROMPT_TEXT,
        world.alice.pk,
        "prompter",
        None,
    )
    assert body == {
        "assignment": {**assignment, "state": "submitted"},
        "message": {
            "id": root.pk,
            "tree_id": tree.pk,
            "parent_id": None,
            "role": "prompter",
            "text": PROMPT_TEXT,
            "lang": "en",
            "depth": 0,
            "review_count": 0,
            "review_result": None,
            "rank": None,
            "deleted": False,
            "synthetic": False,
            "model_name": None,
            "created_at": iso(root.created_at),
        },
    }
    stored = Assignment.objects.get(pk=assignment["id"])
    assert (stored.state, stored.result_message_id) == (AssignmentState.SUBMITTED, root.pk)
    assert stored.finished_at is not None
    # The prompt now needs its review, never by its author.
    item = WorkItem.objects.get(tree=tree)
    assert (item.kind, item.target_id, item.required, item.open_slots) == (
        "label_initial_prompt",
        root.pk,
        1,
        1,
    )
    assert list(
        WorkItemExclusion.objects.filter(work_item=item).values_list("user_id", flat=True)
    ) == [world.alice.pk]


def test_submit_assistant_reply(world_at):
    world = world_at("growing")
    client = world.client(world.bob)
    assignment = claim_ok(client, world.project.slug, "assistant_reply")
    body = submit_ok(client, assignment["id"], {"text": "Coast redwoods."})
    reply = Message.objects.get(parent=world.root)
    assert body == {
        "assignment": {**assignment, "state": "submitted"},
        "message": message_body(reply),
    }
    assert body["message"]["parent_id"] == world.root.pk
    assert (body["message"]["role"], body["message"]["depth"]) == ("assistant", 1)
    assert reply.author_id == world.bob.pk
    review = WorkItem.objects.get(target=reply)
    assert (review.kind, review.required) == ("label_assistant_reply", 1)


def test_submit_labels_records_votes_and_decides_the_review(world_at):
    world = world_at("prompt_review")
    client = world.client(world.bob)
    assignment = claim_ok(client, world.project.slug, "label_initial_prompt")
    labels = {"spam": False, "lang_mismatch": 0, "quality": 0.75, "humor": None}
    body = submit_ok(client, assignment["id"], {"labels": labels})
    assert body == {"assignment": {**assignment, "state": "submitted"}, "message": None}
    votes = LabelVote.objects.order_by("label").values_list(
        "message_id", "user_id", "label", "value"
    )
    assert list(votes) == [
        (world.root.pk, world.bob.pk, "lang_mismatch", 0.0),
        (world.root.pk, world.bob.pk, "quality", 0.75),
        (world.root.pk, world.bob.pk, "spam", 0.0),
    ]
    world.refresh()
    assert (world.root.review_count, world.root.review_result) == (1, True)
    assert world.tree.state == "backlog"


def test_submit_ranking_records_the_vote(world_at):
    world = world_at("ranking")
    client = world.client(world.dave)
    assignment = claim_ok(client, world.project.slug, "rank_assistant_replies")
    ranking = [world.replies[1].pk, world.replies[0].pk]
    body = submit_ok(client, assignment["id"], {"ranking": ranking})
    assert body == {"assignment": {**assignment, "state": "submitted"}, "message": None}
    vote = RankingVote.objects.get()
    assert (vote.parent_id, vote.user_id, vote.ranking) == (world.root.pk, world.dave.pk, ranking)
    world.refresh()
    assert world.tree.state == "scoring"  # ranks are written on commit, by Celery


# --- Refusals: bad payloads (400), and the assignment stays open for a correct one -----


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({}, "text", "required"),
        ({"labels": {"spam": 0}}, "text", "required"),
        ({"text": ""}, "text", "blank"),
        ({"text": " \n\t "}, "text", "blank"),
        ({"text": 5}, "text", "invalid"),
        ({"text": 5.5}, "text", "invalid"),
        ({"text": True}, "text", "invalid"),
        ({"text": ["a text"]}, "text", "invalid"),
        ({"text": {"a": "b"}}, "text", "invalid"),
        ({"text": None}, "text", "null"),
        ({"text": "a\x00b"}, "text", "null_characters_not_allowed"),
        ({"text": "x" * 41}, "text", "too_long"),
        ({"text": "i"}, "text", "text_too_short"),
        ({"text": "  short \n "}, "text", "text_too_short"),
    ],
)
def test_text_refusals(world_at, payload, field, code):
    world = world_at("empty", max_message_length=40)
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    before = db_snapshot()
    assert_refused(submit(client, assignment["id"], payload), 400, code, field)
    assert db_snapshot() == before
    submit_ok(client, assignment["id"], {"text": "x" * 40})


def test_the_minimum_length_is_the_projects_and_counts_after_trimming(world_at):
    world = world_at("empty", min_message_length=3)
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")

    refused = submit(client, assignment["id"], {"text": "  hi  "})

    assert_refused(refused, 400, "text_too_short", "text")
    assert refused.json()["fields"]["text"][0]["detail"] == "At least 3 characters; this has 2."
    submit_ok(client, assignment["id"], {"text": " why "})


def test_duplicate_text_is_refused(world_at):
    world = world_at("empty")
    client = world.client(world.alice)
    first = claim_ok(client, world.project.slug, "initial_prompt")
    second = claim_ok(client, world.project.slug, "initial_prompt")
    submit_ok(client, first["id"], {"text": "Why is the sky blue?"})
    before = db_snapshot()
    response = submit(client, second["id"], {"text": "  why is THE sky   blue? "})
    assert_refused(response, 400, "duplicate_text", "text")
    assert db_snapshot() == before


def test_message_rate_limit_is_429(world_at):
    world = world_at("empty", replies_per_minute=1)
    client = world.client(world.alice)
    first = claim_ok(client, world.project.slug, "initial_prompt")
    second = claim_ok(client, world.project.slug, "initial_prompt")
    submit_ok(client, first["id"], {"text": "A first prompt."})
    before = db_snapshot()
    response = submit(client, second["id"], {"text": "A second prompt."})
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json() == {
        "code": "rate_limited",
        "detail": "At most 1 messages a minute.",
        "retry_after": 60,
    }
    assert db_snapshot() == before


@pytest.mark.parametrize(
    ("labels", "field", "code"),
    [
        ([0], "labels", "not_a_dict"),
        ("spam", "labels", "not_a_dict"),
        (0, "labels", "not_a_dict"),
        ({}, "labels", "empty"),
        (None, "labels", "null"),
        ({"spam": "0"}, "labels.spam", "invalid"),
        ({"spam": [0]}, "labels.spam", "invalid"),
        ({"spam": {"v": 0}}, "labels.spam", "invalid"),
        ({"spam": 1.5}, "labels.spam", "out_of_range"),
        ({"spam": -1}, "labels.spam", "out_of_range"),
        ({"spam": 0.5}, "labels.spam", "invalid_value"),
        ({"spam": 0, "quality": 2}, "labels.quality", "out_of_range"),
        ({"spam": 0, "bogus": 1}, "labels.bogus", "unknown_label"),
        # Labels about solving a task are asked of assistant replies only.
        ({"spam": 0, "fails_task": 0}, "labels.fails_task", "unknown_label"),
        ({"spam": 0, "helpfulness": 1}, "labels.helpfulness", "unknown_label"),
        ({"quality": 0.5}, "labels.spam", "required"),
        ({"spam": None, "quality": 0.5}, "labels.spam", "required"),
    ],
)
def test_label_refusals(world_at, labels, field, code):
    world = world_at("prompt_review")
    client = world.client(world.bob)
    assignment = claim_ok(client, world.project.slug, "label_initial_prompt")
    before = db_snapshot()
    assert_refused(submit(client, assignment["id"], {"labels": labels}), 400, code, field)
    assert db_snapshot() == before
    submit_ok(client, assignment["id"], {"labels": GOOD_LABELS})


def test_label_assignment_without_labels_is_refused(world_at):
    world = world_at("prompt_review")
    client = world.client(world.bob)
    assignment = claim_ok(client, world.project.slug, "label_initial_prompt")
    before = db_snapshot()
    for payload in ({}, {"text": "looks fine"}, {"ranking": [world.root.pk]}):
        assert_refused(submit(client, assignment["id"], payload), 400, "required", "labels")
    assert db_snapshot() == before


@pytest.mark.parametrize(
    ("make_ranking", "field", "code"),
    [
        (lambda r0, r1, root: None, "ranking", "null"),
        (lambda r0, r1, root: f"{r0},{r1}", "ranking", "not_a_list"),
        (lambda r0, r1, root: {"best": r0}, "ranking", "not_a_list"),
        (lambda r0, r1, root: [str(r0), r1], "ranking.0", "invalid"),
        (lambda r0, r1, root: [r0, float(r1)], "ranking.1", "invalid"),
        (lambda r0, r1, root: [r0, True], "ranking.1", "invalid"),
        (lambda r0, r1, root: [r0, None], "ranking.1", "null"),
        (lambda r0, r1, root: [[r0], r1], "ranking.0", "invalid"),
        (lambda r0, r1, root: [], "ranking", "not_a_permutation"),
        (lambda r0, r1, root: [r0], "ranking", "not_a_permutation"),
        (lambda r0, r1, root: [r0, r0], "ranking", "not_a_permutation"),
        (lambda r0, r1, root: [r0, r1, root], "ranking", "not_a_permutation"),
        (lambda r0, r1, root: [r0, root], "ranking", "not_a_permutation"),
        (lambda r0, r1, root: [r0, 10**30], "ranking", "not_a_permutation"),
    ],
)
def test_ranking_refusals(world_at, make_ranking, field, code):
    world = world_at("ranking")
    client = world.client(world.dave)
    assignment = claim_ok(client, world.project.slug, "rank_assistant_replies")
    r0, r1 = (reply.pk for reply in world.replies)
    before = db_snapshot()
    response = submit(client, assignment["id"], {"ranking": make_ranking(r0, r1, world.root.pk)})
    assert_refused(response, 400, code, field)
    assert db_snapshot() == before
    submit_ok(client, assignment["id"], {"ranking": [r1, r0]})


def test_ranking_assignment_without_a_ranking_is_refused(world_at):
    world = world_at("ranking")
    client = world.client(world.dave)
    assignment = claim_ok(client, world.project.slug, "rank_assistant_replies")
    before = db_snapshot()
    for payload in ({}, {"text": "the first"}, {"labels": {"spam": 0}}):
        assert_refused(submit(client, assignment["id"], payload), 400, "required", "ranking")
    assert db_snapshot() == before


def test_changed_candidates_are_409_with_the_current_ones(world_at):
    world = world_at("ranking")
    client = world.client(world.dave)
    assignment = claim_ok(client, world.project.slug, "rank_assistant_replies")
    r0, r1 = world.replies
    Message.objects.filter(pk=r0.pk).update(is_deleted=True)  # a moderator removed it
    before = db_snapshot()
    response = submit(client, assignment["id"], {"ranking": [r0.pk, r1.pk]})
    body = assert_refused(response, 409, "candidates_changed")
    assert body["current_candidates"] == [r1.pk]
    assert db_snapshot() == before


# --- Refusals: whose assignment, in which state ---------------------------------------


def test_someone_elses_assignment_is_404(world_at):
    world = world_at("empty")
    assignment = claim_ok(world.client(world.alice), world.project.slug, "initial_prompt")
    before = db_snapshot()
    for assignment_id in (assignment["id"], assignment["id"] + 1000, 2**62):
        response = submit(world.client(world.bob), assignment_id, {"text": "Mine now, all mine."})
        assert response.status_code == 404
        assert response.json() == {
            "code": "assignment_not_found",
            "detail": "No such assignment of yours.",
        }
    assert db_snapshot() == before


def test_submitting_twice_is_409(world_at):
    world = world_at("empty")
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    submit_ok(client, assignment["id"], {"text": "Once, and only once."})
    before = db_snapshot()
    response = submit(client, assignment["id"], {"text": "Twice, or so it seems."})
    assert response.status_code == 409
    assert response.json() == {
        "code": "assignment_not_active",
        "detail": "This assignment is submitted.",
        "assignment_state": "submitted",
    }
    assert db_snapshot() == before


def test_submitting_a_skipped_assignment_is_409(world_at):
    world = world_at("prompt_review")
    client = world.client(world.bob)
    assignment = claim_ok(client, world.project.slug, "label_initial_prompt")
    client.post(f"/api/v1/assignments/{assignment['id']}/skip", {}, format="json")
    before = db_snapshot()
    body = assert_refused(
        submit(client, assignment["id"], {"labels": GOOD_LABELS}), 409, "assignment_not_active"
    )
    assert body["assignment_state"] == "skipped"
    assert db_snapshot() == before


def test_submitting_a_cancelled_assignment_is_409(world_at):
    world = world_at("prompt_review")
    client = world.client(world.bob)
    assignment = claim_ok(client, world.project.slug, "label_initial_prompt")
    tree_halt(tree_id=world.tree.pk, actor_id=None, reason="checking for spam")
    before = db_snapshot()
    body = assert_refused(
        submit(client, assignment["id"], {"labels": GOOD_LABELS}), 409, "assignment_not_active"
    )
    assert body["assignment_state"] == "cancelled"
    assert db_snapshot() == before


def _expire(assignment_id: int) -> None:
    Assignment.objects.filter(pk=assignment_id).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert assignments_expire_overdue() == 1
    assert Assignment.objects.get(pk=assignment_id).state == AssignmentState.EXPIRED


def test_an_expired_reservation_is_honoured_while_its_slot_is_free(world_at):
    world = world_at("prompt_review")
    client = world.client(world.bob)
    assignment = claim_ok(client, world.project.slug, "label_initial_prompt")
    _expire(assignment["id"])
    body = submit_ok(client, assignment["id"], {"labels": GOOD_LABELS})
    assert body["assignment"]["state"] == "submitted"
    item = WorkItem.objects.get(target=world.root)
    assert (item.open_slots, item.completed_count, item.state) == (0, 1, "closed")


def test_an_expired_reservation_whose_slot_was_taken_is_409(world_at):
    world = world_at("prompt_review")
    bob = world.client(world.bob)
    assignment = claim_ok(bob, world.project.slug, "label_initial_prompt")
    _expire(assignment["id"])
    claim_ok(world.client(world.carol), world.project.slug, "label_initial_prompt")
    before = db_snapshot()
    assert_refused(
        submit(bob, assignment["id"], {"labels": GOOD_LABELS}), 409, "assignment_expired"
    )
    assert db_snapshot() == before


def test_a_banned_user_cannot_submit(world_at):
    world = world_at("empty")
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    type(world.alice).objects.filter(pk=world.alice.pk).update(is_banned=True)
    world.alice.refresh_from_db()
    before = db_snapshot()
    response = submit(client, assignment["id"], {"text": "Let me in."})
    assert response.status_code == 403
    assert response.json() == {"code": "banned", "detail": "Your account is banned."}
    assert db_snapshot() == before


# --- Idempotency-Key -------------------------------------------------------------------


def test_a_retry_with_the_same_key_replays_the_first_answer(world_at):
    world = world_at("empty")
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    first = submit(
        client, assignment["id"], {"text": "Hello, trees."}, HTTP_IDEMPOTENCY_KEY="key-1"
    )
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first
    after_first = db_snapshot()

    # A retry with the same body returns the first answer, byte for byte.
    replay = submit(
        client, assignment["id"], {"text": "Hello, trees."}, HTTP_IDEMPOTENCY_KEY="key-1"
    )
    assert replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    # The same key with other content is a client bug, not a retry: refused.
    for body in ({"text": "Something else entirely."}, {}):
        reused = submit(client, assignment["id"], body, HTTP_IDEMPOTENCY_KEY="key-1")
        assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    assert db_snapshot() == after_first
    assert Message.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.user_id, record.key, record.assignment_id) == (
        world.alice.pk,
        "key-1",
        assignment["id"],
    )
    # Without the key the same request is a second submit: refused.
    assert submit(client, assignment["id"], {"text": "Hello, trees."}).status_code == 409


def test_replays_work_for_labels_and_rankings(world_at):
    world = world_at("ranking")
    client = world.client(world.dave)
    assignment = claim_ok(client, world.project.slug, "rank_assistant_replies")
    ranking = {"ranking": [reply.pk for reply in world.replies]}
    first = submit(client, assignment["id"], ranking, HTTP_IDEMPOTENCY_KEY="rank-1")
    replay = submit(client, assignment["id"], ranking, HTTP_IDEMPOTENCY_KEY="rank-1")
    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay["Idempotent-Replayed"] == "true"
    assert (
        replay.json()
        == first.json()
        == {"assignment": {**assignment, "state": "submitted"}, "message": None}
    )
    assert RankingVote.objects.count() == 1


def test_a_key_used_for_another_assignment_is_422(world_at):
    world = world_at("empty")
    client = world.client(world.alice)
    first = claim_ok(client, world.project.slug, "initial_prompt")
    second = claim_ok(client, world.project.slug, "initial_prompt")
    submit(client, first["id"], {"text": "The first."}, HTTP_IDEMPOTENCY_KEY="shared")
    before = db_snapshot()
    response = submit(client, second["id"], {"text": "The second."}, HTTP_IDEMPOTENCY_KEY="shared")
    assert_refused(response, 422, "idempotency_key_reused")
    assert db_snapshot() == before
    assert Assignment.objects.get(pk=second["id"]).state == AssignmentState.ACTIVE


def test_keys_belong_to_their_user(world_at):
    world = world_at("empty")
    for user in (world.alice, world.bob):
        client = world.client(user)
        assignment = claim_ok(client, world.project.slug, "initial_prompt")
        response = submit(
            client, assignment["id"], {"text": f"By {user.username}."}, HTTP_IDEMPOTENCY_KEY="same"
        )
        assert response.status_code == 200
        assert "Idempotent-Replayed" not in response
        assert response.json()["message"]["text"] == f"By {user.username}."


def test_a_refused_submit_stores_no_key(world_at):
    world = world_at("empty")
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    before = db_snapshot()
    refused = submit(client, assignment["id"], {"text": "  "}, HTTP_IDEMPOTENCY_KEY="k")
    assert_refused(refused, 400, "blank", "text")
    assert db_snapshot() == before
    corrected = submit(
        client, assignment["id"], {"text": "Now with words."}, HTTP_IDEMPOTENCY_KEY="k"
    )
    assert corrected.status_code == 200
    assert "Idempotent-Replayed" not in corrected
    assert corrected.json()["message"]["text"] == "Now with words."


@pytest.mark.parametrize("key", ["a\x00b", "tab\tkey", "line\nbreak", "\x7f"])
def test_a_key_with_control_characters_is_400(world_at, key):
    world = world_at("empty")
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    before = db_snapshot()
    response = submit(
        client, assignment["id"], {"text": "Hello there, assistant."}, HTTP_IDEMPOTENCY_KEY=key
    )
    assert_refused(response, 400, "invalid_idempotency_key", "Idempotency-Key")
    assert db_snapshot() == before
    submit_ok(client, assignment["id"], {"text": "Hello there, assistant."})
