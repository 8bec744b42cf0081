"""The onboarding pages: a first visit starts the tour, practice looks like a task and
explains the known answer without storing anything as data, the tour can be skipped
and taken again, and a locked kind leads to its qualification, which unlocks it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from backend.assignments.models import Assignment, LabelVote, RankingVote
from backend.audit.models import AuditEvent
from backend.onboarding.models import (
    GoldResult,
    PracticeRecord,
    QualificationAttempt,
    TourProgress,
    TrainingItem,
)
from backend.projects.services import project_update
from backend.trees.models import Message
from tests.factories import SMALL_TREE, UserFactory, growing_tree, people, write_reply
from tests.onboarding.helpers import RANKING_ITEM, REVIEW_ITEM, make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def practice(project: Any) -> list[TrainingItem]:
    return [make_item(project, REVIEW_ITEM), make_item(project, RANKING_ITEM)]


def test_a_first_visit_to_the_dashboard_starts_the_tour(web: Client, project, practice):
    response = web.get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"] == "/tour/?project=web&lang=en"
    page = web.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "data-tour-start" in html and "data-tour-skip" in html
    assert "2 practice tasks" in html
    # Shown once: the dashboard does not send the person back to it.
    assert web.get("/dashboard/").status_code == 200


def test_a_project_without_practice_goes_straight_to_the_dashboard(web: Client, project):
    assert web.get("/dashboard/").status_code == 200
    assert not TourProgress.objects.exists()


def test_practice_looks_like_a_task_explains_the_answer_and_stores_no_data(
    web: Client, volunteer, project, practice
):
    web.post("/tour/start", {"project": "web", "lang": "en"})
    first = web.get("/tour/practice/?project=web&lang=en")
    html = first.content.decode()
    assert first.status_code == 200
    assert f'data-practice="{practice[0].pk}"' in html
    assert "Buy cheap watches at example.com!!!" in html
    assert 'name="label-spam"' in html  # the review's own form

    answered = web.post(f"/tour/practice/{practice[0].pk}/answer", {"label-spam": "0"})

    assert answered.status_code == 200
    html = answered.content.decode()
    assert 'data-practice-result="wrong"' in html
    assert "The reply is an advertisement, not an answer: spam." in html
    assert "you answered no" in html
    second = web.get("/tour/practice/?project=web&lang=en").content.decode()
    assert f'data-practice="{practice[1].pk}"' in second
    ranked = web.post(f"/tour/practice/{practice[1].pk}/answer", {"ranking": "2,1,3"})
    assert 'data-practice-result="correct"' in ranked.content.decode()
    done = web.get("/tour/practice/?project=web&lang=en")
    assert "data-tour-done" in done.content.decode()

    records = PracticeRecord.objects.filter(user=volunteer).order_by("item_id")
    assert [(r.item_id, r.is_correct) for r in records] == [
        (practice[0].pk, False),
        (practice[1].pk, True),
    ]
    assert TourProgress.objects.get(user=volunteer).state == "finished"
    # Practice is never data.
    assert LabelVote.objects.count() == 0
    assert RankingVote.objects.count() == 0
    assert Assignment.objects.count() == 0
    assert Message.objects.count() == 0
    assert web.get("/dashboard/").status_code == 200


def test_a_malformed_practice_answer_is_shown_again_with_its_error(web: Client, project, practice):
    response = web.post(f"/tour/practice/{practice[1].pk}/answer", {"ranking": "1,2"})

    assert response.status_code == 422  # as the task page answers a refused submit
    assert f'data-practice="{practice[1].pk}"' in response.content.decode()
    assert not PracticeRecord.objects.exists()


def test_the_tour_can_be_skipped_and_taken_again(web: Client, volunteer, project, practice):
    web.get("/dashboard/")
    skipped = web.post("/tour/skip")
    assert skipped["Location"] == "/dashboard/"
    assert TourProgress.objects.get(user=volunteer).state == "skipped"
    dashboard = web.get("/dashboard/")
    assert dashboard.status_code == 200
    assert 'href="/tour/"' in dashboard.content.decode()
    web.post(f"/tour/practice/{practice[0].pk}/answer", {"label-spam": "1"})

    again = web.post("/tour/start", {"project": "web", "lang": "en"})

    assert again["Location"] == "/tour/practice/?project=web&lang=en"
    assert TourProgress.objects.get(user=volunteer).state == "started"
    assert not PracticeRecord.objects.filter(user=volunteer).exists()
    actions = list(
        AuditEvent.objects.filter(target_type="user", target_id=str(volunteer.pk))
        .exclude(action="user.created")
        .values_list("action", flat=True)
    )
    assert actions == ["tour.skipped", "tour.started"]


# --- Qualification ----------------------------------------------------------------------


def _require(project: Any, items: int = 2, accuracy: float = 0.5) -> None:
    project_update(
        slug=project.slug,
        changes={
            "settings": {
                "qualification": {
                    "label_assistant_reply": {"items": items, "min_accuracy": accuracy}
                }
            }
        },
        actor_id=None,
    )


def _gold_reviews(project: Any, count: int) -> list[TrainingItem]:
    return [
        make_item(
            project,
            REVIEW_ITEM,
            use="gold",
            conversation=[
                {"role": "prompter", "text": f"Question {n}?"},
                {"role": "assistant", "text": f"Advertisement {n}!"},
            ],
        )
        for n in range(count)
    ]


@pytest.fixture
def reply_to_review(project: Any) -> Message:
    author, reviewer = people(2)
    _tree, root = growing_tree(
        project, author, [reviewer] * SMALL_TREE["num_reviews_initial_prompt"]
    )
    return write_reply(root, reviewer)


def test_a_locked_kind_is_not_handed_out_and_its_card_says_how_to_unlock(
    web: Client, volunteer, project, reply_to_review
):
    _require(project)
    dashboard = web.get("/dashboard/?project=web&lang=en").content.decode()
    assert 'data-kind-locked="label_assistant_reply"' in dashboard
    assert 'href="/qualify/web/label_assistant_reply/?lang=en"' in dashboard

    claimed = web.post(
        "/task/claim", {"project": "web", "lang": "en", "kind": "label_assistant_reply"}
    )

    assert claimed.status_code == 302
    assert claimed["Location"] == "/qualify/web/label_assistant_reply/?lang=en"
    assert not Assignment.objects.filter(user=volunteer).exists()
    page = web.get(claimed["Location"]).content.decode()
    assert 'data-qualification-state="locked"' in page
    assert "Answer 2 tasks whose answer the project knows; at least 50 % must match." in page
    assert "data-qualification-unavailable" in page  # no gold items written yet


def test_passing_the_qualification_unlocks_the_kind(
    web: Client, volunteer, project, reply_to_review
):
    _require(project, items=2, accuracy=0.5)
    gold = _gold_reviews(project, 2)
    votes_before = LabelVote.objects.count()
    web.post("/qualify/web/label_assistant_reply/start", {"lang": "en"})
    attempt = QualificationAttempt.objects.get(user=volunteer)
    first = web.get("/qualify/web/label_assistant_reply/?lang=en").content.decode()
    assert f'data-qualification="{gold[0].pk}"' in first
    assert "Qualification 1 of 2" in first

    web.post(
        "/qualify/web/label_assistant_reply/answer",
        {"item": gold[0].pk, "label-spam": "1", "label-quality": "0"},
    )
    finished = web.post(
        "/qualify/web/label_assistant_reply/answer", {"item": gold[1].pk, "label-spam": "0"}
    )

    attempt.refresh_from_db()
    assert (attempt.answered, attempt.correct, attempt.is_passed) == (2, 1, True)
    assert [r.is_correct for r in GoldResult.objects.order_by("pk")] == [True, False]
    assert finished["Location"] == "/qualify/web/label_assistant_reply/?lang=en"
    assert 'data-qualification-state="passed"' in web.get(finished["Location"]).content.decode()
    assert LabelVote.objects.count() == votes_before  # gold answers are not votes
    claimed = web.post(
        "/task/claim", {"project": "web", "lang": "en", "kind": "label_assistant_reply"}
    )
    assignment = Assignment.objects.get(user=volunteer)
    assert claimed["Location"] == f"/task/{assignment.pk}/"
    assert AuditEvent.objects.filter(action="qualification.passed").count() == 1


def test_failing_leaves_the_kind_locked_and_may_be_tried_again(web: Client, volunteer, project):
    _require(project, items=2, accuracy=1.0)
    gold = _gold_reviews(project, 2)
    web.post("/qualify/web/label_assistant_reply/start", {"lang": "en"})
    web.post("/qualify/web/label_assistant_reply/answer", {"item": gold[0].pk, "label-spam": "0"})
    web.post(
        "/qualify/web/label_assistant_reply/answer",
        {"item": gold[1].pk, "label-spam": "1", "label-quality": "0.25"},
    )

    page = web.get("/qualify/web/label_assistant_reply/?lang=en").content.decode()

    assert 'data-qualification-state="locked"' in page
    assert "Last time: 1 of 2 right." in page
    assert QualificationAttempt.objects.get(user=volunteer).is_passed is False
    web.post("/qualify/web/label_assistant_reply/start", {"lang": "en"})
    assert QualificationAttempt.objects.filter(user=volunteer).count() == 2


def test_any_skips_a_locked_kind_and_the_api_refuses_it(project, reply_to_review, client_for):
    _require(project)
    person = UserFactory()
    api = client_for(person)

    refused = api.post(
        "/api/v1/assignments/",
        {"project": "web", "lang": "en", "kind": "label_assistant_reply"},
        format="json",
    )
    assert refused.status_code == 403
    assert refused.json() == {
        "code": "kind_locked",
        "detail": "'label_assistant_reply' is locked for you in this project; "
        "take its qualification first.",
        "kind": "label_assistant_reply",
    }
    anything = api.post("/api/v1/assignments/", {"project": "web", "lang": "en"}, format="json")
    assert anything.status_code in (201, 204)
    assert not Assignment.objects.filter(user=person, kind="label_assistant_reply").exists()


# --- The researchers' page --------------------------------------------------------------


def test_a_researcher_writes_a_ranking_item_in_the_page(make_user, project):
    researcher = make_user("researcher")
    client = Client()
    client.force_login(researcher)
    assert client.get("/projects/web/training/").status_code == 200

    response = client.post(
        "/projects/web/training/",
        {
            "kind": "rank_assistant_replies",
            "lang": "en",
            "use": "both",
            "conversation": "How many legs does a spider have?",
            "candidates": "Eight.\n---\nSix.",
            "answer_ranking": "1, 2",
            "explanation": "Spiders have eight.",
        },
    )

    item = TrainingItem.objects.get()
    assert response["Location"] == f"/projects/web/training/{item.pk}/"
    assert (item.kind, item.use, item.answer_ranking) == ("rank_assistant_replies", "both", [1, 2])
    assert item.candidates == [
        {"role": "assistant", "text": "Eight."},
        {"role": "assistant", "text": "Six."},
    ]
    assert item.conversation == [{"role": "prompter", "text": "How many legs does a spider have?"}]
    page = client.get(response["Location"]).content.decode()
    assert "Eight.\n---\nSix." in page
    assert "data-training-link" in client.get("/projects/web/edit/").content.decode()


def test_the_page_shows_what_is_wrong_and_saves_nothing(make_user, project):
    researcher = make_user("researcher")
    client = Client()
    client.force_login(researcher)

    response = client.post(
        "/projects/web/training/",
        {
            "kind": "label_assistant_reply",
            "lang": "en",
            "use": "practice",
            "conversation": "Hi\n---\nHello!",
            "answer-quality": "0.5",
            "explanation": "x",
        },
    )

    assert response.status_code == 400
    assert "data-form-errors" in response.content.decode()
    assert not TrainingItem.objects.exists()


def test_volunteers_do_not_get_the_training_page(web: Client, project):
    assert web.get("/projects/web/training/").status_code == 403


SPAM_ONLY = {
    "label-count": "1",
    "label-0-name": "spam",
    "label-0-kind": "flag",
    "label-0-mandatory": "on",
}


def test_the_project_page_sets_a_kinds_qualification(make_user, project):
    researcher = make_user("researcher")
    client = Client()
    client.force_login(researcher)
    form = client.get("/projects/web/edit/").content.decode()
    assert 'name="qualify-items-rank_assistant_replies"' in form

    response = client.post(
        "/projects/web/edit/",
        {
            "name": "Web project",
            "languages": "en, de",
            "is_active": "on",
            "qualification-form": "1",
            "qualify-items-rank_assistant_replies": "5",
            "qualify-accuracy-rank_assistant_replies": "0.8",
            **SPAM_ONLY,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    project.refresh_from_db()
    assert project.qualification == {"rank_assistant_replies": {"items": 5, "min_accuracy": 0.8}}
    event = AuditEvent.objects.filter(action="project.updated").last()
    assert event.after["settings"]["qualification"] == project.qualification
    refused = client.post(
        "/projects/web/edit/",
        {
            "name": "Web project",
            "languages": "en, de",
            "is_active": "on",
            "qualification-form": "1",
            "qualify-items-rank_assistant_replies": "0",
            **SPAM_ONLY,
        },
    )
    assert refused.status_code == 400
    project.refresh_from_db()
    assert project.qualification == {"rank_assistant_replies": {"items": 5, "min_accuracy": 0.8}}


def test_the_tour_is_reachable_from_the_profile_and_my_data_lists_practice(
    web: Client, volunteer, project, practice
):
    assert 'href="/tour/" data-tour-link' in web.get("/me/").content.decode()
    web.post(f"/tour/practice/{practice[0].pk}/answer", {"label-spam": "1", "label-quality": "0"})

    data = web.get("/api/v1/users/me/data").json()

    assert [(row["item_id"], row["is_correct"]) for row in data["onboarding"]["practice"]] == [
        (practice[0].pk, True)
    ]
    assert data["onboarding"]["qualifications"] == []


def test_a_malformed_qualification_answer_is_refused_without_an_error_page(
    web: Client, volunteer, project
):
    _require(project, items=1, accuracy=1.0)
    _gold_reviews(project, 1)
    web.post("/qualify/web/label_assistant_reply/start", {"lang": "en"})

    response = web.post(
        "/qualify/web/label_assistant_reply/answer", {"item": "x1", "label-spam": "1"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/qualify/web/label_assistant_reply/?lang=en"
    assert not GoldResult.objects.exists()
    assert QualificationAttempt.objects.get(user=volunteer).answered == 0


def test_a_reply_is_practised_and_an_example_shown_without_storing_it(web: Client, project):
    from backend.onboarding.models import PracticeRecord
    from tests.onboarding.helpers import REPLY_ITEM

    item = make_item(project, REPLY_ITEM)
    page = web.get("/tour/practice/?project=web&lang=en").content.decode()
    assert "How do I boil an egg so the yolk stays soft?" in page
    assert '<label for="reply-text">Your reply, as the assistant</label>' in page
    assert f'data-draft-key="arbor-draft-practice-{item.pk}"' in page

    short = web.post(f"/tour/practice/{item.pk}/answer", {"text": "Boil"})
    assert short.status_code == 422
    assert "At least" in short.content.decode()
    assert not PracticeRecord.objects.exists()

    answered = web.post(
        f"/tour/practice/{item.pk}/answer",
        {"text": "Boil it for about six minutes and cool it in cold water."},
    )
    assert answered.status_code == 200
    shown = answered.content.decode()
    assert 'data-practice-result="example"' in shown
    assert "Put the egg into boiling water for six minutes" in shown
    assert "A good reply answers the question directly" in shown
    assert PracticeRecord.objects.get(item=item).is_correct is True
    assert not Message.objects.exists()  # practice is never data


def test_a_researcher_writes_a_reply_practice_item_on_the_page(project):
    from backend.onboarding.models import TrainingItem
    from tests.moderation.builders import with_role

    web = Client()
    web.force_login(with_role("researcher", username="res-rita"))
    form = web.get("/projects/web/training/").content.decode()
    assert '<option value="assistant_reply">' in form
    assert 'name="answer_text"' in form

    response = web.post(
        "/projects/web/training/",
        {
            "kind": "assistant_reply",
            "lang": "en",
            "use": "practice",
            "conversation": "How do I boil an egg so the yolk stays soft?",
            "answer_text": "Six minutes in boiling water, then cold water.",
            "explanation": "Answer directly, with the time that matters.",
        },
    )

    assert response.status_code == 302, response.content.decode()[:500]
    item = TrainingItem.objects.get()
    assert (item.kind, item.use, item.answer_text) == (
        "assistant_reply",
        "practice",
        "Six minutes in boiling water, then cold water.",
    )
    assert item.conversation == [
        {"role": "prompter", "text": "How do I boil an egg so the yolk stays soft?"}
    ]
