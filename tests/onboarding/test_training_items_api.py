"""Researchers write practice and gold items through the API; the known answer must fit
the kind's own rules, and every change is audited."""

from __future__ import annotations

import pytest

from backend.audit.models import AuditEvent
from backend.onboarding.models import TrainingItem
from tests.onboarding.helpers import RANKING_ITEM, REVIEW_ITEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def researcher(make_user):
    return make_user("researcher")


def test_a_researcher_adds_a_review_item_and_reads_it_back(make_project, researcher, client_for):
    project = make_project("train")
    api = client_for(researcher)

    response = api.post("/api/v1/projects/train/training-items", REVIEW_ITEM, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "label_assistant_reply"
    assert body["use"] == "practice"
    assert body["answer_labels"] == {"spam": 1.0, "quality": 0.0}
    assert body["candidates"] == []
    assert body["conversation"][-1] == {
        "role": "assistant",
        "text": "Buy cheap watches at example.com!!!",
    }
    assert api.get(f"/api/v1/training-items/{body['id']}").json() == body
    listed = api.get("/api/v1/projects/train/training-items").json()
    assert [item["id"] for item in listed] == [body["id"]]
    event = AuditEvent.objects.get(action="training_item.created")
    assert (event.target_id, event.actor_id, event.project_id) == (
        str(body["id"]),
        researcher.pk,
        project.pk,
    )
    assert event.after == {"kind": "label_assistant_reply", "lang": "en", "use": "practice"}


def test_a_ranking_item_gets_its_candidates_role_from_the_kind(
    make_project, researcher, client_for
):
    make_project("train")
    response = client_for(researcher).post(
        "/api/v1/projects/train/training-items", {**RANKING_ITEM, "use": "both"}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert [c["role"] for c in body["candidates"]] == ["assistant"] * 3
    assert body["answer_ranking"] == [2, 1, 3]
    assert body["answer_labels"] == {}


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        # A reply kind's practice item replies to the last message, not reviews it.
        ({"kind": "assistant_reply"}, "conversation", "wrong_last_role"),
        ({"kind": "nonsense"}, "kind", "invalid_kind"),
        ({"lang": "fr"}, "lang", "invalid_language"),
        ({"answer_labels": {"spam": 0.5}}, "answer_labels.spam", "invalid_value"),
        ({"answer_labels": {"quality": 0.5}}, "answer_labels.spam", "required"),
        ({"answer_labels": {"spam": 0, "bogus": 1}}, "answer_labels.bogus", "unknown_label"),
        ({"explanation": ""}, "explanation", "required"),
        (
            {"conversation": [{"role": "prompter", "text": "Only a prompt here."}]},
            "conversation",
            "wrong_last_role",
        ),
    ],
)
def test_a_review_item_that_does_not_fit_its_kind_is_refused(
    make_project, researcher, client_for, changes, field, code
):
    make_project("train")
    response = client_for(researcher).post(
        "/api/v1/projects/train/training-items", {**REVIEW_ITEM, **changes}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["fields"][field][0]["code"] == code
    assert TrainingItem.objects.count() == 0
    assert not AuditEvent.objects.filter(action="training_item.created").exists()


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"answer_ranking": [1, 2]}, "answer_ranking", "not_a_permutation"),
        ({"answer_ranking": [1, 1, 2]}, "answer_ranking", "not_a_permutation"),
        ({"candidates": [{"text": "Only one."}], "answer_ranking": [1]}, "candidates", "too_few"),
        ({"candidates": [{"text": "  "}, {"text": "b"}]}, "candidates.0.text", "blank"),
    ],
)
def test_a_ranking_item_needs_a_full_ranking_of_two_or_more_replies(
    make_project, researcher, client_for, changes, field, code
):
    make_project("train")
    response = client_for(researcher).post(
        "/api/v1/projects/train/training-items", {**RANKING_ITEM, **changes}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"][field][0]["code"] == code
    assert TrainingItem.objects.count() == 0


def test_patch_changes_an_item_and_audits_before_and_after(make_project, researcher, client_for):
    make_project("train")
    api = client_for(researcher)
    item_id = api.post("/api/v1/projects/train/training-items", REVIEW_ITEM, format="json").json()[
        "id"
    ]

    response = api.patch(
        f"/api/v1/training-items/{item_id}", {"use": "gold", "is_active": False}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["use"], response.json()["is_active"]) == ("gold", False)
    event = AuditEvent.objects.get(action="training_item.updated")
    assert event.before == {"use": "practice", "is_active": True}
    assert event.after == {"use": "gold", "is_active": False}
    refused = api.patch(
        f"/api/v1/training-items/{item_id}", {"answer_labels": {"spam": 7}}, format="json"
    )
    assert refused.status_code == 400
    assert TrainingItem.objects.get(pk=item_id).answer_labels == {"spam": 1.0, "quality": 0.0}


def test_volunteers_may_not_read_or_write_training_items(make_project, make_user, client_for):
    make_project("train")
    api = client_for(make_user())

    assert api.get("/api/v1/projects/train/training-items").status_code == 403
    posted = api.post("/api/v1/projects/train/training-items", REVIEW_ITEM, format="json")
    assert posted.status_code == 403
    assert TrainingItem.objects.count() == 0


def test_unknown_project_and_item_answer_404(researcher, client_for):
    api = client_for(researcher)
    assert api.get("/api/v1/projects/nope/training-items").json()["code"] == "project_not_found"
    assert api.get("/api/v1/training-items/999").json()["code"] == "training_item_not_found"


def test_a_reply_item_is_practice_with_an_example_reply(make_project, researcher, client_for):
    from tests.onboarding.helpers import REPLY_ITEM

    make_project("train")
    api = client_for(researcher)

    response = api.post("/api/v1/projects/train/training-items", REPLY_ITEM, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["use"], body["answer_text"]) == (
        "assistant_reply",
        "practice",
        "Put the egg into boiling water for six minutes, then into cold water.",
    )
    assert body["answer_labels"] == {} and body["answer_ranking"] == []


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"use": "gold"}, "use", "practice_only"),
        ({"use": "both"}, "use", "practice_only"),
        ({"answer_text": "  "}, "answer_text", "required"),
        (
            {
                "conversation": [
                    {"role": "prompter", "text": "Hi"},
                    {"role": "assistant", "text": "Hello"},
                ]
            },
            "conversation",
            "wrong_last_role",
        ),
        ({"kind": "initial_prompt"}, "kind", "invalid_kind"),
    ],
)
def test_a_reply_item_that_cannot_work_is_refused(
    make_project, researcher, client_for, changes, field, code
):
    from tests.onboarding.helpers import REPLY_ITEM

    make_project("train")
    response = client_for(researcher).post(
        "/api/v1/projects/train/training-items", {**REPLY_ITEM, **changes}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert response.json()["fields"][field][0]["code"] == code
    assert not TrainingItem.objects.exists()
