"""Points are earned at the moment of submission (docs/community.md): the submitter's
total shows them on the very next request, before the periodic pass runs; the pass
then finds nothing to change for them (it stays the reconciler)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from backend.community.models import PointsEntry
from backend.community.selectors import user_community_summary
from backend.community.services import points_ledger_update
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
