"""Undo my last submission: within 30 s a review or a ranking may be taken back while
nothing depends on it (its work item still open); the votes and the points go, and the
assignment is open again. Prompts and replies, late undos and answers others build on
are refused, and nothing changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.assignments.models import Assignment, LabelVote, RankingVote, WorkItem
from backend.audit.models import AuditEvent
from backend.community.models import PointsEntry
from tests.api.scenario import claim_ok, submit_ok

pytestmark = pytest.mark.django_db

GOOD = {"spam": 0, "lang_mismatch": 0}


def test_a_review_not_yet_decisive_is_taken_back(world_at):
    world = world_at("replies_in_review", num_reviews_reply=3)
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "label_assistant_reply")
    submit_ok(client, assignment["id"], {"labels": GOOD})
    item = WorkItem.objects.get(assignments__pk=assignment["id"])
    assert (item.completed_count, LabelVote.objects.filter(user=world.alice).count()) == (1, 2)
    assert PointsEntry.objects.filter(user=world.alice, source_type="review").count() == 1

    undone = client.post(f"/api/v1/assignments/{assignment['id']}/undo")

    assert undone.status_code == 200, undone.content
    body = undone.json()
    assert (body["id"], body["state"]) == (assignment["id"], "active")
    assert body["conversation"] == assignment["conversation"]
    item.refresh_from_db()
    assert item.completed_count == 0
    assert not LabelVote.objects.filter(user=world.alice).exists()
    assert not PointsEntry.objects.filter(user=world.alice, source_type="review").exists()
    target = item.target
    target.refresh_from_db()
    assert target.review_count == 0
    assert AuditEvent.objects.filter(
        action="assignment.undone", target_id=str(assignment["id"])
    ).exists()
    # Answered again, as any open assignment.
    submit_ok(client, assignment["id"], {"labels": {"spam": 1, "lang_mismatch": 0}})
    assert LabelVote.objects.get(user=world.alice, label="spam").value == 1.0


def test_a_ranking_is_taken_back_before_its_group_is_complete(world_at):
    world = world_at("ranking", num_required_rankings=2)
    client = world.client(world.dave)
    assignment = claim_ok(client, world.project.slug, "rank_assistant_replies")
    order = [candidate["id"] for candidate in assignment["candidates"]]
    submit_ok(client, assignment["id"], {"ranking": order})

    undone = client.post(f"/api/v1/assignments/{assignment['id']}/undo")

    assert undone.status_code == 200, undone.content
    assert not RankingVote.objects.filter(user=world.dave).exists()
    assert Assignment.objects.get(pk=assignment["id"]).state == "active"


def test_an_answer_others_build_on_is_not_undone(world_at):
    world = world_at("replies_in_review")  # one review per reply: this one decides
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "label_assistant_reply")
    submit_ok(client, assignment["id"], {"labels": GOOD})

    refused = client.post(f"/api/v1/assignments/{assignment['id']}/undo")

    assert refused.status_code == 409
    assert refused.json()["code"] == "undo_not_possible"
    assert LabelVote.objects.filter(user=world.alice).count() == 2
    assert Assignment.objects.get(pk=assignment["id"]).state == "submitted"


def test_late_undos_and_replies_are_refused(world_at):
    world = world_at("growing", num_reviews_reply=3)
    client = world.client(world.bob)
    reply = claim_ok(client, world.project.slug, "assistant_reply")
    submit_ok(client, reply["id"], {"text": "Redwoods, thanks to the coastal fog."})
    refused = client.post(f"/api/v1/assignments/{reply['id']}/undo")
    assert (refused.status_code, refused.json()["code"]) == (409, "undo_not_possible")

    reviewer = world.client(world.carol)
    review = claim_ok(reviewer, world.project.slug, "label_assistant_reply")
    submit_ok(reviewer, review["id"], {"labels": GOOD})
    Assignment.objects.filter(pk=review["id"]).update(
        finished_at=timezone.now() - timedelta(seconds=31)
    )
    late = reviewer.post(f"/api/v1/assignments/{review['id']}/undo")
    assert (late.status_code, late.json()["code"]) == (409, "undo_not_possible")
    assert LabelVote.objects.filter(user=world.carol).count() == 2
    other = world.client(world.dave).post(f"/api/v1/assignments/{review['id']}/undo")
    assert other.status_code == 404


def test_the_page_after_a_review_offers_the_undo(world_at):
    from django.test import Client

    world = world_at("replies_in_review", num_reviews_reply=3)
    web = Client()
    web.force_login(world.alice)
    claimed = web.post(
        "/task/claim",
        {"project": world.project.slug, "lang": "en", "kind": "label_assistant_reply"},
    )
    assignment_id = int(claimed["Location"].strip("/").split("/")[-1])
    after = web.post(
        f"/task/{assignment_id}/submit",
        {"label-spam": "0", "label-lang_mismatch": "0"},
        follow=True,
    )
    html = after.content.decode()
    assert f'action="/task/{assignment_id}/undo"' in html

    undone = web.post(f"/task/{assignment_id}/undo")

    assert undone["Location"] == f"/task/{assignment_id}/"
    assert Assignment.objects.get(pk=assignment_id).state == "active"
    assert not LabelVote.objects.filter(user=world.alice).exists()
    hotkeys = web.get(undone["Location"]).content.decode()
    assert "<kbd>p</kbd></th><td>show or hide the preview of what you write" in hotkeys
