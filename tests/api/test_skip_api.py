"""Contract of POST /api/v1/assignments/{id}/skip."""

from __future__ import annotations

import pytest

from backend.accounts.models import User
from backend.assignments.models import Assignment, AssignmentState, WorkItem
from backend.audit.models import AuditEvent
from tests.api.scenario import claim_ok, db_snapshot
from tests.helpers import claim

pytestmark = pytest.mark.django_db


def skip(client, assignment_id: int, body=None):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/assignments/{assignment_id}/skip", body or {}, format="json")


def test_skip_gives_the_slot_back_and_answers_the_skipped_assignment(world_at):
    world = world_at("prompt_review", num_reviews_initial_prompt=2)
    client = world.client(world.bob)
    assignment = claim_ok(client, world.project.slug, "label_initial_prompt")
    item = WorkItem.objects.get(target=world.root)
    assert item.open_slots == 1

    response = skip(client, assignment["id"], {"reason": "Not my language."})
    assert response.status_code == 200
    assert response.json() == {**assignment, "state": "skipped"}
    stored = Assignment.objects.get(pk=assignment["id"])
    assert (stored.state, stored.skip_reason) == (AssignmentState.SKIPPED, "Not my language.")
    assert stored.finished_at is not None
    item.refresh_from_db()
    assert (item.open_slots, item.completed_count) == (2, 0)
    event = AuditEvent.objects.filter(action="assignment.skipped").get()
    assert (event.target_id, event.actor_id, event.reason) == (
        str(assignment["id"]),
        world.bob.pk,
        "Not my language.",
    )
    # Never offered again to bob; still offered to others.
    assert claim(client, world.project.slug, "label_initial_prompt").status_code == 204
    claim_ok(world.client(world.carol), world.project.slug, "label_initial_prompt")


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "x" * 500}])
def test_the_reason_is_optional(world_at, body):
    world = world_at("empty")
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    response = skip(client, assignment["id"], body)
    assert response.status_code == 200
    assert response.json()["state"] == "skipped"
    assert Assignment.objects.get(pk=assignment["id"]).skip_reason == body.get("reason", "")


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"reason": "x" * 501}, "reason", "max_length"),
        ({"reason": 5}, "reason", "invalid"),
        ({"reason": ["no"]}, "reason", "invalid"),
        ({"reason": None}, "reason", "null"),
        ({"reason": "a\x00b"}, "reason", "null_characters_not_allowed"),
    ],
)
def test_bad_reasons_are_400(world_at, body, field, code):
    world = world_at("empty")
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    before = db_snapshot()
    response = skip(client, assignment["id"], body)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == code
    assert [entry["code"] for entry in error["fields"][field]] == [code]
    assert db_snapshot() == before


def test_skipping_twice_is_409(world_at):
    world = world_at("empty")
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    skip(client, assignment["id"])
    before = db_snapshot()
    response = skip(client, assignment["id"])
    assert response.status_code == 409
    assert response.json() == {
        "code": "assignment_not_active",
        "detail": "This assignment is skipped.",
        "assignment_state": "skipped",
    }
    assert db_snapshot() == before


def test_skipping_a_submitted_assignment_is_409(world_at):
    world = world_at("empty")
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    client.post(
        f"/api/v1/assignments/{assignment['id']}/submit",
        {"text": "Done, here it is."},
        format="json",
    )
    before = db_snapshot()
    response = skip(client, assignment["id"])
    assert response.status_code == 409
    assert response.json()["code"] == "assignment_not_active"
    assert response.json()["assignment_state"] == "submitted"
    assert db_snapshot() == before


def test_skipping_someone_elses_assignment_is_404(world_at):
    world = world_at("prompt_review")
    assignment = claim_ok(world.client(world.bob), world.project.slug, "label_initial_prompt")
    before = db_snapshot()
    for assignment_id in (assignment["id"], assignment["id"] + 1000, 2**62):
        response = skip(world.client(world.carol), assignment_id)
        assert response.status_code == 404
        assert response.json() == {
            "code": "assignment_not_found",
            "detail": "No such assignment of yours.",
        }
    assert db_snapshot() == before


def test_a_banned_user_cannot_skip(world_at):
    world = world_at("empty")
    client = world.client(world.alice)
    assignment = claim_ok(client, world.project.slug, "initial_prompt")
    User.objects.filter(pk=world.alice.pk).update(is_banned=True)
    world.alice.refresh_from_db()
    before = db_snapshot()
    response = skip(client, assignment["id"])
    assert response.status_code == 403
    assert response.json() == {"code": "banned", "detail": "Your account is banned."}
    assert db_snapshot() == before
