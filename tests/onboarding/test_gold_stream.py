"""Gold items in the stream: at the project's rate a label or ranking claim is a gold
item that looks like real work through the REST contract; its answer is scored, never
stored as a vote; a person whose recent gold answers are poor is paused from the kind
until they redo the practice."""

from __future__ import annotations

import random

import pytest

from backend.assignments.models import Assignment, LabelVote, RankingVote
from backend.assignments.services import assignment_claim
from backend.audit.models import AuditEvent
from backend.onboarding.models import GoldPause, GoldResult
from backend.onboarding.services import tour_finish
from backend.onboarding.stream import GOLD_MESSAGE_ID_BASE, ROLLING_MIN
from tests.onboarding.helpers import RANKING_ITEM, REVIEW_ITEM, make_item

pytestmark = pytest.mark.django_db

CLAIM_KEYS = {
    "id",
    "kind",
    "lang",
    "state",
    "expires_at",
    "tree_id",
    "conversation",
    "candidates",
    "labels",
}


def _claim(api, kind):
    return api.post("/api/v1/assignments/", {"project": "gold", "kind": kind}, format="json")


def test_a_gold_review_looks_like_work_is_scored_and_is_never_a_vote(
    make_project, make_user, client_for
):
    project = make_project("gold", gold_rate=1.0)
    item = make_item(project, REVIEW_ITEM, use="gold")
    person = make_user()
    api = client_for(person)

    claimed = _claim(api, "label_assistant_reply")

    assert claimed.status_code == 201, claimed.content
    body = claimed.json()
    assert set(body) >= CLAIM_KEYS
    assert body["kind"] == "label_assistant_reply"
    assert [(turn["role"], turn["text"]) for turn in body["conversation"]] == [
        ("prompter", "What is the capital of France?"),
        ("assistant", "Buy cheap watches at example.com!!!"),
    ]
    assert all(turn["id"] > GOLD_MESSAGE_ID_BASE for turn in body["conversation"])
    assert {label["name"] for label in body["labels"]} >= {"spam", "quality"}
    listed = api.get("/api/v1/assignments/").json()
    assert [row["conversation"] for row in listed] == [body["conversation"]]

    submitted = api.post(
        f"/api/v1/assignments/{body['id']}/submit",
        {"labels": {"spam": 1, "quality": 0.25}},
        format="json",
    )

    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["assignment"]["state"] == "submitted"
    result = GoldResult.objects.get()
    assert (result.user_id, result.item_id, result.assignment_id, result.is_correct) == (
        person.pk,
        item.pk,
        body["id"],
        True,
    )
    assert LabelVote.objects.count() == 0
    assert AuditEvent.objects.filter(
        action="assignment.submitted", target_id=str(body["id"])
    ).exists()
    # The same gold item is not handed to the same person twice.
    assert _claim(api, "label_assistant_reply").status_code == 204


def test_a_gold_answer_is_checked_like_a_real_one(make_project, make_user, client_for):
    project = make_project("gold", gold_rate=1.0)
    make_item(project, REVIEW_ITEM, use="gold")
    api = client_for(make_user())
    assignment_id = _claim(api, "label_assistant_reply").json()["id"]

    refused = api.post(
        f"/api/v1/assignments/{assignment_id}/submit", {"labels": {"spam": 0.5}}, format="json"
    )

    assert refused.status_code == 400
    assert refused.json()["fields"]["labels.spam"][0]["code"] == "invalid_value"
    assert not GoldResult.objects.exists()
    assert Assignment.objects.get(pk=assignment_id).state == "active"


def test_a_gold_ranking_is_scored_by_the_order_given(make_project, make_user, client_for):
    project = make_project("gold", gold_rate=1.0)
    make_item(project, RANKING_ITEM, use="both")
    api = client_for(make_user())
    body = _claim(api, "rank_assistant_replies").json()
    by_text = {candidate["text"]: candidate["id"] for candidate in body["candidates"]}
    best_first = [
        by_text["Spiders have eight legs, unlike insects, which have six."],
        by_text["Six."],  # one neighbouring swap of the known order: still matches
        by_text["Eight."],
    ]

    submitted = api.post(
        f"/api/v1/assignments/{body['id']}/submit", {"ranking": best_first}, format="json"
    )

    assert submitted.status_code == 200, submitted.content
    assert GoldResult.objects.get().is_correct is True
    assert RankingVote.objects.count() == 0


def test_rate_zero_never_hands_out_gold(make_project, make_user):
    project = make_project("gold", gold_rate=0.0)
    make_item(project, REVIEW_ITEM, use="gold")
    claimed = assignment_claim(
        user=make_user(), project=project, lang="en", kind="label_assistant_reply"
    )
    assert claimed is None


def test_the_rate_decides_before_any_statement(make_project, make_user):
    project = make_project("gold", gold_rate=0.05)
    make_item(project, REVIEW_ITEM, use="gold")
    person = make_user()
    rng = random.Random(7)
    given = sum(
        assignment_claim(
            user=person, project=project, lang="en", kind="label_assistant_reply", rng=rng
        )
        is not None
        for _ in range(40)
    )
    # One gold item, never twice to one person: at most one of forty claims is gold.
    assert given <= 1


def test_poor_gold_answers_pause_the_kind_until_the_practice_is_redone(
    make_project, make_user, client_for
):
    project = make_project("gold", gold_rate=1.0, gold_min_accuracy=0.6)
    for n in range(ROLLING_MIN + 1):
        make_item(
            project,
            REVIEW_ITEM,
            use="gold",
            conversation=[
                {"role": "prompter", "text": f"Question {n}?"},
                {"role": "assistant", "text": f"Advertisement {n}!"},
            ],
        )
    person = make_user()
    api = client_for(person)
    for _ in range(ROLLING_MIN):
        assignment_id = _claim(api, "label_assistant_reply").json()["id"]
        answered = api.post(
            f"/api/v1/assignments/{assignment_id}/submit", {"labels": {"spam": 0}}, format="json"
        )
        assert answered.status_code == 200

    pause = GoldPause.objects.get(user=person)
    assert (pause.kind, pause.accuracy, pause.lifted_at) == ("label_assistant_reply", 0.0, None)
    refused = _claim(api, "label_assistant_reply")
    assert refused.status_code == 403
    assert refused.json()["code"] == "kind_locked"
    event = AuditEvent.objects.get(action="gold.paused")
    assert (event.is_automatic, event.after) == (
        True,
        {"kind": "label_assistant_reply", "right": 0, "answered": ROLLING_MIN},
    )

    tour_finish(user=person)

    pause.refresh_from_db()
    assert pause.lifted_at is not None
    assert _claim(api, "label_assistant_reply").status_code == 201


def test_reactions_and_reports_on_a_gold_item_look_like_real_ones(
    make_project, make_user, client_for
):
    """The task page's reaction buttons and report form work on a gold item as on real
    work (a 404 there would give it away); nothing is stored."""
    from django.test import Client

    from backend.moderation.models import QueueItem
    from backend.trees.models import Reaction

    project = make_project("gold", gold_rate=1.0)
    make_item(project, REVIEW_ITEM, use="gold")
    person = make_user()
    body = _claim(client_for(person), "label_assistant_reply").json()
    shown = body["conversation"][-1]["id"]
    web = Client()
    web.force_login(person)

    first = web.post(f"/messages/{shown}/react", {"emoji": "+1"})
    second = web.post(f"/messages/{shown}/react", {"emoji": "red_flag"})

    assert first.status_code == second.status_code == 200
    page = second.content.decode()
    assert page.count('aria-pressed="true"') == 2
    assert page.count('<span class="count">1</span>') == 2
    refused = web.post(f"/messages/{shown}/react", {"emoji": "heart"})
    assert refused.status_code == 422  # as on a real message
    reported = web.post(f"/messages/{shown}/report", {"reason": "spam", "text": "an ad"})
    assert reported.status_code == 200
    assert "Thank you. A moderator will look at it." in reported.content.decode()
    assert Reaction.objects.count() == 0
    assert QueueItem.objects.count() == 0
