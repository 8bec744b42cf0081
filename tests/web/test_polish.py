"""The polish people expect: a colour and an icon per kind of work, with the kind's
name still written beside them; a progress line in the task header; required label
questions first, the optional ones folded away in simple mode."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.assignments.kinds import get_kind
from backend.assignments.models import Assignment, AssignmentState, Kind
from backend.assignments.registry import kind_names
from backend.community.formula import STREAK_GRACE
from backend.community.models import UserStats
from backend.projects.services import project_create
from backend.web.labels import kind_family, kind_title
from backend.web.selectors import task_progress
from tests.factories import SMALL_TREE, UserFactory, write_prompt

pytestmark = pytest.mark.django_db

CARD = re.compile(
    r'<button type="submit" name="kind" value="(?P<kind>[a-z_]+)" class="kind-card '
    r'(?P<class>kind-[a-z]+)[^"]*"[^>]*>\s*<span class="kind-title">'
    r'<span class="kind-icon" aria-hidden="true"></span>(?P<title>[^<]+)</span>'
)


def test_each_kind_belongs_to_one_family():
    assert {kind: kind_family(kind) for kind in ["any", *Kind.values]} == {
        "any": "any",
        "initial_prompt": "prompt",
        "prompter_reply": "user",
        "assistant_reply": "assistant",
        "label_initial_prompt": "review",
        "label_prompter_reply": "review",
        "label_assistant_reply": "review",
        "rank_prompter_replies": "ranking",
        "rank_assistant_replies": "ranking",
    }
    assert kind_family("no_such_kind") == "other"


def test_the_dashboard_cards_carry_the_family_class_an_icon_and_the_title(web, project):
    body = web.get("/dashboard/").content.decode()
    cards = {found["kind"]: found for found in CARD.finditer(body)}
    # The built-in kinds; the arena's only where the project has models for it.
    assert set(cards) == {"any", *kind_names()} - {"compare_model_replies", "write_arena_prompt"}
    for kind, found in cards.items():
        assert found["class"] == f"kind-{kind_family(kind)}"
        assert found["title"] == str(kind_title(kind))


def test_the_task_heading_carries_the_family_class_and_says_the_kind(web, volunteer, project):
    response = web.post(
        "/task/claim", {"project": project.slug, "lang": "en", "kind": "initial_prompt"}
    )
    assignment = Assignment.objects.get(user=volunteer)
    body = web.get(response["Location"]).content.decode()
    assert f'data-assignment="{assignment.pk}"' in body
    assert '<header class="task-head kind-prompt">' in body
    assert (
        '<h1 id="task-title"><span class="kind-icon" aria-hidden="true"></span>'
        f"{kind_title('initial_prompt')}</h1>"
    ) in body


def _stats(user, *, streak: int, last_active):  # type: ignore[no-untyped-def]
    UserStats.objects.update_or_create(
        user=user, defaults={"streak_days": streak, "last_active_at": last_active}
    )


def test_progress_counts_todays_submissions_and_a_living_streak(volunteer, project):
    now = timezone.now()
    assert task_progress(user=volunteer, now=now) == {"today": 0, "streak_days": 0}

    write_prompt(project, volunteer)
    write_prompt(project, volunteer)
    yesterday = write_prompt(project, volunteer)
    Assignment.objects.filter(result_message=yesterday).update(
        finished_at=timezone.localtime(now).replace(hour=0, minute=0) - timedelta(minutes=1)
    )
    Assignment.objects.create(
        project=project,
        user=volunteer,
        kind="initial_prompt",
        lang="en",
        state=AssignmentState.SKIPPED,
        expires_at=now,
        finished_at=now,
    )
    _stats(volunteer, streak=4, last_active=now - timedelta(hours=2))
    assert task_progress(user=volunteer, now=now) == {"today": 2, "streak_days": 4}

    # Past the grace period the stored streak is dead even before the beat task runs.
    _stats(volunteer, streak=4, last_active=now - STREAK_GRACE - timedelta(minutes=1))
    assert task_progress(user=volunteer, now=now) == {"today": 2, "streak_days": 0}


def test_progress_is_one_query(volunteer, project):
    write_prompt(project, volunteer)
    _stats(volunteer, streak=2, last_active=timezone.now())
    with CaptureQueriesContext(connection) as captured:
        progress = task_progress(user=volunteer)
    assert progress == {"today": 1, "streak_days": 2}
    assert len(captured.captured_queries) == 1


def test_the_task_header_shows_the_progress_line(web, volunteer, project):
    write_prompt(project, volunteer)
    _stats(volunteer, streak=3, last_active=timezone.now())
    response = web.post(
        "/task/claim", {"project": project.slug, "lang": "en", "kind": "initial_prompt"}
    )
    body = web.get(response["Location"]).content.decode()
    assert '<p class="progress-line" data-progress>1 submitted today · 3-day streak</p>' in body


LABEL_ROW = re.compile(r'data-label-row data-label-kind="[a-z]+" data-label-name="([a-z_]+)"')


def _review_page(web, project, **extra):  # type: ignore[no-untyped-def]
    write_prompt(project, UserFactory(), "How do tides work? Explain it simply.")
    response = web.post(
        "/task/claim",
        {"project": project.slug, "lang": "en", "kind": "label_initial_prompt"},
    )
    assert response.status_code == 302, response.content
    return web.get(response["Location"]).content.decode()


@pytest.mark.parametrize(("mode", "folded"), [("simple", True), ("full", False)])
def test_required_questions_come_first_and_optional_ones_fold_in_simple_mode(web, mode, folded):
    project = project_create(
        slug=f"labels-{mode}", settings={**SMALL_TREE, "labelling_mode": mode}, languages=["en"]
    )
    body = _review_page(web, project)
    required, optional = body.split('<details class="optional-labels"')
    assert LABEL_ROW.findall(required) == ["spam"]
    asked = [spec["name"] for spec in get_kind("label_initial_prompt").labels(project)]
    assert LABEL_ROW.findall(optional) == [name for name in asked if name != "spam"]
    opening = optional.split(">", 1)[0]
    assert (" open" in opening) is not folded
    assert "Optional questions (" in optional


def test_the_preview_renders_markdown_sanitised(web):
    response = web.post(
        "/task/preview",
        {"text": "Some **bold** text <script>alert(1)</script> <img src=x onerror=alert(1)>"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<strong>bold</strong>" in body
    assert "<script" not in body
    assert "onerror" not in body


def test_an_empty_preview_says_so_and_only_post_by_a_signed_in_person_works(web, client):
    assert "Nothing to preview yet." in web.post("/task/preview", {"text": "  "}).content.decode()
    assert web.get("/task/preview").status_code == 405
    assert client.post("/task/preview", {"text": "hi"}).status_code in (302, 403)
