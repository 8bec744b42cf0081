"""Per-person gold accuracy (answers to gold items) feeds the rescore's annotator
quality — gold accuracy and the vote weight reliability weighting uses — and the
trollboard lists people paused for poor gold answers."""

from __future__ import annotations

import pytest
from django.utils import timezone

from backend.consensus.models import AnnotatorQuality
from backend.consensus.scoring.quality import AnnotatorStats, merge_gold_results
from backend.consensus.services import project_rescore
from backend.moderation.selectors import trollboard
from backend.onboarding.models import GoldPause, GoldResult
from tests.onboarding.helpers import REVIEW_ITEM, make_item

pytestmark = pytest.mark.django_db


def test_gold_answers_are_folded_into_gold_accuracy_and_cap_the_weight():
    people = {1: AnnotatorStats(user_id=1, gold_vote_count=2, gold_accuracy=1.0, weight=0.9)}
    people[1].labels = {"spam": {"weight": 0.8, "votes": 3}}

    merge_gold_results(people, {1: (2, 6), 2: (1, 1)})

    first = people[1]
    assert first.gold_vote_count == 8
    assert first.gold_accuracy == pytest.approx((2 * 1.0 + 2) / 8)
    # 2 of 6 right: 2 · 1/3 − 1 < 0, so the weight is capped at 0.
    assert (first.weight, first.labels["spam"]["weight"]) == (0.0, 0.0)
    # Too few answers to cap the weight; the accuracy still shows.
    assert (people[2].gold_vote_count, people[2].gold_accuracy, people[2].weight) == (1, 1.0, 1.0)


def test_a_rescore_stores_each_persons_gold_accuracy(make_project, make_user):
    project = make_project("gold")
    item = make_item(project, REVIEW_ITEM, use="gold")
    person = make_user()
    now = timezone.now()
    for is_correct in (True, True, True, False):
        GoldResult.objects.create(
            user=person, item=item, project=project, kind=item.kind, is_correct=is_correct,
            created_at=now,
        )  # fmt: skip

    project_rescore(project_id=project.pk)

    quality = AnnotatorQuality.objects.get(project=project, user=person)
    assert (quality.gold_vote_count, quality.gold_accuracy) == (4, 0.75)


def test_the_trollboard_lists_a_person_paused_for_poor_gold_answers(make_project, make_user):
    project = make_project("gold")
    paused, lifted = make_user(), make_user()
    now = timezone.now()
    GoldPause.objects.create(
        user=paused, project=project, kind="label_assistant_reply", accuracy=0.2, paused_at=now
    )
    GoldPause.objects.create(
        user=lifted, project=project, kind="label_assistant_reply", accuracy=0.2, paused_at=now,
        lifted_at=now,
    )  # fmt: skip

    rows = trollboard(window="all", project_slug="gold")

    assert [row["user_id"] for row in rows] == [paused.pk]
