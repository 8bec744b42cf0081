"""A gold item in the stream looks like real work, so it earns what that work earns
when submitted (a review's or a ranking's points, at once), the ledger pass agrees,
and an undo takes the points back. It is still never a vote."""

from __future__ import annotations

import pytest

from backend.assignments.models import LabelVote
from backend.community.models import PointsEntry, UserStats
from backend.community.services import points_ledger_update
from tests.onboarding.helpers import RANKING_ITEM, REVIEW_ITEM, make_item

pytestmark = pytest.mark.django_db


def _claim(api, kind):  # type: ignore[no-untyped-def]
    return api.post("/api/v1/assignments/", {"project": "gold", "kind": kind}, format="json")


def _entries(person):  # type: ignore[no-untyped-def]
    return sorted(
        PointsEntry.objects.filter(user=person).values_list(
            "source_type", "source_id", "reason", "points"
        )
    )


def _total(person) -> int:  # type: ignore[no-untyped-def]
    return UserStats.objects.get(user=person).points


def test_a_gold_review_and_ranking_earn_what_real_ones_earn(make_project, make_user, client_for):
    project = make_project("gold", gold_rate=1.0)
    make_item(project, REVIEW_ITEM, use="gold")
    make_item(project, RANKING_ITEM, use="gold")
    person = make_user()
    api = client_for(person)

    review = _claim(api, "label_assistant_reply").json()
    answered = api.post(
        f"/api/v1/assignments/{review['id']}/submit",
        {"labels": {"spam": 1, "quality": 0.25}},
        format="json",
    )
    assert answered.status_code == 200, answered.content
    ranking = _claim(api, "rank_assistant_replies").json()
    ranked = api.post(
        f"/api/v1/assignments/{ranking['id']}/submit",
        {"ranking": [candidate["id"] for candidate in ranking["candidates"]]},
        format="json",
    )
    assert ranked.status_code == 200, ranked.content

    expected = [
        ("gold", review["id"], "review_submitted", 1),
        ("gold", ranking["id"], "ranking_submitted", 2),
    ]
    assert _entries(person) == expected
    assert _total(person) == 3
    assert LabelVote.objects.count() == 0  # still never a vote

    # The ledger pass, incremental and full, finds the same entries.
    points_ledger_update()
    assert _entries(person) == expected
    points_ledger_update(full=True)
    assert _entries(person) == expected
    assert _total(person) == 3


def test_undoing_a_gold_answer_takes_its_points_back(make_project, make_user, client_for):
    project = make_project("gold", gold_rate=1.0)
    make_item(project, REVIEW_ITEM, use="gold")
    person = make_user()
    api = client_for(person)
    review = _claim(api, "label_assistant_reply").json()
    api.post(
        f"/api/v1/assignments/{review['id']}/submit",
        {"labels": {"spam": 1, "quality": 0.25}},
        format="json",
    )
    assert _total(person) == 1

    undone = api.post(f"/api/v1/assignments/{review['id']}/undo")

    assert undone.status_code == 200, undone.content
    assert _entries(person) == []
    assert _total(person) == 0
    points_ledger_update(full=True)
    assert _entries(person) == []
