"""Contract of POST/GET /api/v1/assignments/ (claim and list)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.dateparse import parse_datetime

from backend.assignments.models import Assignment, AssignmentState, WorkItem
from tests.api.scenario import PROMPT_TEXT, REPLY_TEXTS, claim_ok, db_snapshot
from tests.helpers import claim

pytestmark = pytest.mark.django_db

URL = "/api/v1/assignments/"

# What a review of a prompt or a prompter reply asks, in schema order. ``spam`` is the
# only mandatory label; ``fails_task`` and ``helpfulness`` are for assistant replies only.
PROMPT_LABELS = [
    {"name": "spam", "kind": "flag", "mandatory": True},
    {"name": "lang_mismatch", "kind": "flag", "mandatory": False},
    {"name": "pii", "kind": "flag", "mandatory": False},
    {"name": "not_appropriate", "kind": "flag", "mandatory": False},
    {"name": "hate_speech", "kind": "flag", "mandatory": False},
    {"name": "sexual_content", "kind": "flag", "mandatory": False},
    {"name": "moral_judgement", "kind": "flag", "mandatory": False},
    {"name": "political_content", "kind": "flag", "mandatory": False},
    {"name": "quality", "kind": "likert", "mandatory": False},
    {"name": "toxicity", "kind": "likert", "mandatory": False},
    {"name": "humor", "kind": "likert", "mandatory": False},
    {"name": "creativity", "kind": "likert", "mandatory": False},
    {"name": "violence", "kind": "likert", "mandatory": False},
]
ASSISTANT_LABELS = [
    {"name": "spam", "kind": "flag", "mandatory": True},
    {"name": "fails_task", "kind": "flag", "mandatory": False},
    *PROMPT_LABELS[1:8],
    {"name": "quality", "kind": "likert", "mandatory": False},
    {"name": "toxicity", "kind": "likert", "mandatory": False},
    {"name": "humor", "kind": "likert", "mandatory": False},
    {"name": "helpfulness", "kind": "likert", "mandatory": False},
    {"name": "creativity", "kind": "likert", "mandatory": False},
    {"name": "violence", "kind": "likert", "mandatory": False},
]


def assert_assignment_stored(body: dict, *, user, kind: str, reservation_minutes: int = 60) -> None:
    assignment = Assignment.objects.get(pk=body["id"])
    assert assignment.user_id == user.pk
    assert assignment.kind == kind
    assert assignment.state == AssignmentState.ACTIVE
    assert parse_datetime(body["expires_at"]) == assignment.expires_at
    reserved = assignment.expires_at - assignment.created_at
    assert abs(reserved - timedelta(minutes=reservation_minutes)) < timedelta(seconds=5)


# --- Claim: happy paths for every kind ------------------------------------------------


def test_claim_initial_prompt_has_no_tree_yet(world_at):
    world = world_at("empty")
    response = claim(world.client(world.alice), world.project.slug, "initial_prompt")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id", "kind", "lang", "state", "project", "expires_at",
        "tree_id", "conversation", "candidates", "labels",
    }  # fmt: skip
    assert body == {
        "id": body["id"],
        "kind": "initial_prompt",
        "lang": "en",
        "state": "active",
        "project": world.project.slug,
        "expires_at": body["expires_at"],
        "tree_id": None,
        "conversation": [],
        "candidates": [],
        "labels": [],
    }
    assert_assignment_stored(body, user=world.alice, kind="initial_prompt")


def test_claim_any_on_an_empty_project_offers_a_new_prompt(world_at):
    world = world_at("empty", reservation_minutes=15)
    body = claim_ok(world.client(world.alice), world.project.slug, "any")
    assert body["kind"] == "initial_prompt"
    assert_assignment_stored(body, user=world.alice, kind="initial_prompt", reservation_minutes=15)


def test_claim_review_of_a_prompt(world_at):
    world = world_at("prompt_review")
    body = claim_ok(world.client(world.bob), world.project.slug, "label_initial_prompt")
    assert body == {
        "id": body["id"],
        "kind": "label_initial_prompt",
        "lang": "en",
        "state": "active",
        "project": world.project.slug,
        "expires_at": body["expires_at"],
        "tree_id": world.tree.pk,
        "conversation": [{"id": world.root.pk, "role": "prompter", "text": PROMPT_TEXT}],
        "candidates": [],
        "labels": PROMPT_LABELS,
    }
    assert_assignment_stored(body, user=world.bob, kind="label_initial_prompt")
    item = WorkItem.objects.get(target=world.root, kind="label_initial_prompt")
    assert (item.required, item.open_slots, item.completed_count) == (1, 0, 0)


def test_claim_assistant_reply(world_at):
    world = world_at("growing")
    body = claim_ok(world.client(world.bob), world.project.slug, "assistant_reply")
    assert body == {
        "id": body["id"],
        "kind": "assistant_reply",
        "lang": "en",
        "state": "active",
        "project": world.project.slug,
        "expires_at": body["expires_at"],
        "tree_id": world.tree.pk,
        "conversation": [{"id": world.root.pk, "role": "prompter", "text": PROMPT_TEXT}],
        "candidates": [],
        "labels": [],
    }


def test_claim_review_of_an_assistant_reply_shows_root_to_target(world_at):
    world = world_at("replies_in_review")
    first = world.replies[0]
    body = claim_ok(world.client(world.dave), world.project.slug, "label_assistant_reply")
    assert body == {
        "id": body["id"],
        "kind": "label_assistant_reply",
        "lang": "en",
        "state": "active",
        "project": world.project.slug,
        "expires_at": body["expires_at"],
        "tree_id": world.tree.pk,
        "conversation": [
            {"id": world.root.pk, "role": "prompter", "text": PROMPT_TEXT},
            {"id": first.pk, "role": "assistant", "text": REPLY_TEXTS[0]},
        ],
        "candidates": [],
        "labels": ASSISTANT_LABELS,
    }


def test_claim_ranking_lists_every_candidate(world_at):
    world = world_at("ranking")
    body = claim_ok(world.client(world.dave), world.project.slug, "rank_assistant_replies")
    assert body["kind"] == "rank_assistant_replies"
    assert body["tree_id"] == world.tree.pk
    assert body["conversation"] == [{"id": world.root.pk, "role": "prompter", "text": PROMPT_TEXT}]
    assert body["labels"] == []
    expected = {
        (reply.pk, "assistant", text)
        for reply, text in zip(world.replies, REPLY_TEXTS, strict=True)
    }
    assert {(c["id"], c["role"], c["text"]) for c in body["candidates"]} == expected
    assert len(body["candidates"]) == 2
    assert all(set(candidate) == {"id", "role", "text"} for candidate in body["candidates"])
    # The order shown is the one stored for this person (what a ranking is checked against).
    stored = Assignment.objects.get(pk=body["id"])
    assert [candidate["id"] for candidate in body["candidates"]] == stored.candidate_ids


def test_candidates_are_shuffled_per_person(world_at, make_user, client_for):
    world = world_at("ranking", num_required_rankings=24)
    orders = set()
    for index in range(20):
        client = client_for(make_user(username=f"ranker{index}"))
        body = claim_ok(client, world.project.slug, "rank_assistant_replies")
        orders.add(tuple(candidate["id"] for candidate in body["candidates"]))
    # Two candidates: the chance that 20 independent shuffles agree is 2 ** -19.
    assert orders == {
        (world.replies[0].pk, world.replies[1].pk),
        (world.replies[1].pk, world.replies[0].pk),
    }


def test_claim_any_offers_only_kinds_with_work(world_at):
    world = world_at("ranking", num_required_rankings=2)
    for user in (world.alice, world.dave):
        kind = claim_ok(world.client(user), world.project.slug)["kind"]
        assert kind in {"rank_assistant_replies", "initial_prompt"}


# --- Claim: who is offered what -------------------------------------------------------


def test_nobody_reviews_their_own_prompt(world_at):
    world = world_at("prompt_review")
    before = db_snapshot()
    response = claim(world.client(world.alice), world.project.slug, "label_initial_prompt")
    assert response.status_code == 204
    assert response.content == b""
    assert db_snapshot() == before


def test_authors_of_candidates_are_not_offered_the_ranking(world_at):
    world = world_at("ranking")
    for author in (world.bob, world.carol):
        response = claim(world.client(author), world.project.slug, "rank_assistant_replies")
        assert response.status_code == 204


def test_a_skipped_item_is_not_offered_again(world_at):
    world = world_at("prompt_review", num_reviews_initial_prompt=3)
    body = claim_ok(world.client(world.bob), world.project.slug, "label_initial_prompt")
    skipped = world.client(world.bob).post(f"{URL}{body['id']}/skip", {}, format="json")
    assert skipped.status_code == 200
    again = claim(world.client(world.bob), world.project.slug, "label_initial_prompt")
    assert again.status_code == 204
    # Somebody else still gets it: the slot was given back.
    assert (
        claim(world.client(world.carol), world.project.slug, "label_initial_prompt").status_code
        == 201
    )


def test_an_item_is_not_held_twice_by_one_person(world_at):
    world = world_at("prompt_review", num_reviews_initial_prompt=3)
    claim_ok(world.client(world.bob), world.project.slug, "label_initial_prompt")
    assert (
        claim(world.client(world.bob), world.project.slug, "label_initial_prompt").status_code
        == 204
    )


def test_claim_answers_204_when_there_is_no_work(world_at):
    world = world_at("empty", max_prompt_lottery_waiting=0)
    before = db_snapshot()
    for kind in ("any", "initial_prompt", "assistant_reply", "rank_prompter_replies"):
        response = claim(world.client(world.alice), world.project.slug, kind)
        assert response.status_code == 204, kind
        assert response.content == b""
    assert db_snapshot() == before


# --- Claim: refusals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "project", "required"),
        ({"project": ""}, "project", "blank"),
        ({"project": "no spaces allowed"}, "project", "invalid"),
        ({"project": 5}, "project", "invalid"),
        ({"project": None}, "project", "null"),
        ({"project": ["p"]}, "project", "invalid"),
        ({"project": "{slug}", "kind": "write_a_poem"}, "kind", "invalid_choice"),
        ({"project": "{slug}", "kind": 3}, "kind", "invalid_choice"),
        ({"project": "{slug}", "kind": None}, "kind", "null"),
        ({"project": "{slug}", "lang": 7}, "lang", "invalid"),
        ({"project": "{slug}", "lang": ""}, "lang", "blank"),
        ({"project": "{slug}", "lang": "x" * 33}, "lang", "max_length"),
        ({"project": "{slug}", "lang": "fr"}, "lang", "invalid_language"),
    ],
)
def test_claim_refuses_bad_fields(world_at, body, field, code):
    world = world_at("empty")
    body = {
        key: (world.project.slug if value == "{slug}" else value) for key, value in body.items()
    }
    before = db_snapshot()
    response = world.client(world.alice).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["code"] == code
    assert isinstance(error["detail"], str) and error["detail"]
    assert [entry["code"] for entry in error["fields"][field]] == [code]
    assert db_snapshot() == before


def test_claim_unknown_project_is_404(world_at):
    world = world_at("empty")
    before = db_snapshot()
    response = claim(world.client(world.alice), "no-such-project")
    assert response.status_code == 404
    assert response.json() == {"code": "project_not_found", "detail": "No such project."}
    assert db_snapshot() == before


def test_claim_on_an_inactive_project_is_409(world_at):
    world = world_at("prompt_review")
    world.project.is_active = False
    world.project.save(update_fields=["is_active"])
    before = db_snapshot()
    response = claim(world.client(world.bob), world.project.slug)
    assert response.status_code == 409
    assert response.json()["code"] == "project_inactive"
    assert db_snapshot() == before


def test_claim_beyond_the_open_assignment_limit_is_409(world_at):
    world = world_at("empty", max_open_assignments=2)
    claim_ok(world.client(world.alice), world.project.slug, "initial_prompt")
    claim_ok(world.client(world.alice), world.project.slug, "initial_prompt")
    before = db_snapshot()
    response = claim(world.client(world.alice), world.project.slug, "initial_prompt")
    assert response.status_code == 409
    assert response.json()["code"] == "open_assignment_limit"
    assert db_snapshot() == before
    # The limit is per person.
    claim_ok(world.client(world.bob), world.project.slug, "initial_prompt")


def test_claim_rate_limit_is_429_with_retry_after(world_at):
    world = world_at("empty", requests_per_minute=1)
    body = claim_ok(world.client(world.alice), world.project.slug, "initial_prompt")
    world.client(world.alice).post(f"{URL}{body['id']}/skip", {}, format="json")
    before = db_snapshot()
    response = claim(world.client(world.alice), world.project.slug, "initial_prompt")
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json() == {
        "code": "rate_limited",
        "detail": "At most 1 assignment requests a minute.",
        "retry_after": 60,
    }
    assert db_snapshot() == before


# --- GET: my open assignments ---------------------------------------------------------


def test_list_shows_only_my_open_assignments_soonest_expiry_first(world_at):
    world = world_at("prompt_review", num_reviews_initial_prompt=3)
    slug = world.project.slug
    bob = world.client(world.bob)
    first = claim_ok(bob, slug, "initial_prompt")
    review = claim_ok(bob, slug, "label_initial_prompt")
    skipped = claim_ok(bob, slug, "initial_prompt")
    bob.post(f"{URL}{skipped['id']}/skip", {}, format="json")
    claim_ok(world.client(world.carol), slug, "label_initial_prompt")  # not bob's

    response = bob.get(URL)
    assert response.status_code == 200
    assert response.json() == [first, review]
    assert world.client(world.dave).get(URL).json() == []


def test_list_leaves_out_expired_reservations(world_at):
    world = world_at("empty")
    body = claim_ok(world.client(world.alice), world.project.slug, "initial_prompt")
    Assignment.objects.filter(pk=body["id"]).update(
        expires_at=parse_datetime(body["expires_at"]) - timedelta(hours=2)
    )
    assert world.client(world.alice).get(URL).json() == []
