"""Points are earned at the moment of submission (docs/community.md): the submitter's
total shows them on the very next request, before the periodic pass runs; the pass
then finds nothing to change for them (it stays the reconciler)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from backend.community.formula import Reason
from backend.community.models import PointsEntry, SourceType, UserStats
from backend.community.selectors import user_community_summary
from backend.community.services import points_for_submission, points_ledger_update
from tests.factories import people, review, small_project, write_prompt

pytestmark = pytest.mark.django_db


def points_of(user) -> int:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    response = client.get("/api/v1/users/me")
    assert response.status_code == 200, response.content
    return int(response.json()["points"])


def test_a_prompt_and_its_reviews_count_at_once_and_the_pass_agrees():
    project = small_project()
    author, *reviewers = people(1 + project.num_reviews_initial_prompt)

    prompt = write_prompt(project, author)

    assert points_of(author) == 4  # prompt_written, no pass has run
    review(prompt, reviewers)
    assert [points_of(reviewer) for reviewer in reviewers] == [1] * len(reviewers)
    entries_before = set(
        PointsEntry.objects.filter(user__in=reviewers).values_list(
            "source_type", "source_id", "user_id", "reason", "points"
        )
    )

    points_ledger_update(full=True)

    assert [user_community_summary(user_id=r.pk)["points"] for r in reviewers] == [1] * len(
        reviewers
    )
    assert entries_before == set(
        PointsEntry.objects.filter(user__in=reviewers).values_list(
            "source_type", "source_id", "user_id", "reason", "points"
        )
    )
    # The acceptance the reviews decided is the pass's to credit (it is not the
    # author's submission): written 4 + accepted 4.
    assert user_community_summary(user_id=author.pk)["points"] == 8


def test_the_dashboard_shows_the_points_right_after_the_work(client):
    project = small_project()
    author = people(1)[0]
    write_prompt(project, author)
    client.force_login(author)

    page = client.get("/dashboard/").content.decode()

    assert "4 points · level 1" in page


def test_crediting_the_same_submission_twice_counts_it_once():
    project = small_project()
    author = people(1)[0]
    prompt = write_prompt(project, author)  # credited once by the submission itself

    for _ in range(2):  # a retried event, a second delivery
        points_for_submission(
            assignment_id=0,  # a written message is credited by its id
            user_id=author.pk,
            project_id=project.pk,
            kind="initial_prompt",
            message_id=prompt.pk,
            is_prompt=True,
        )

    assert points_of(author) == 4
    assert PointsEntry.objects.filter(user=author).count() == 1


def test_the_level_follows_the_new_total_and_a_first_credit_counts_the_whole_ledger():
    project = small_project()
    author = people(1)[0]
    # 24 points from earlier work that only the ledger knows (no totals row yet).
    PointsEntry.objects.create(
        source_type=SourceType.MESSAGE,
        source_id=10**9,
        reason=Reason.PROMPT_ACCEPTED,
        user=author,
        project=project,
        points=24,
        earned_at=timezone.now(),
        detail={},
    )
    assert not UserStats.objects.filter(user=author).exists()

    first = write_prompt(project, author)
    stats = UserStats.objects.get(user=author)
    assert (stats.points, stats.level) == (28, 2)

    write_prompt(project, author, text=f"A second prompt, not {first.text}")
    stats.refresh_from_db()
    assert (stats.points, stats.level) == (32, 2)
