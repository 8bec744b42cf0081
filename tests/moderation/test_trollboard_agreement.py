"""The trollboard shows how each person's votes agree with consensus (annotator quality
from the last rescore): ``agreement`` (Kendall τ of their rankings against the
leave-one-out consensus, shrunk) and ``quality`` (every measure), per project or summed
up over projects; people flagged as random or position-biased are listed even without
other negative signals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from backend.consensus.models import AnnotatorQuality
from backend.consensus.services import project_rescore
from backend.moderation.selectors import trollboard
from tests.consensus.builders import Ballot, ready_tree, store_ballots
from tests.factories import people, small_project, write_prompt
from tests.moderation.builders import get, post

pytestmark = pytest.mark.django_db


def measure(project, user, **values: Any) -> AnnotatorQuality:  # type: ignore[no-untyped-def]
    return AnnotatorQuality.objects.create(
        project=project,
        user=user,
        algorithm="annotator_quality",
        algorithm_version=1,
        computed_at=timezone.now(),
        **values,
    )


FIRST_PROJECT = {
    "ranking_count": 1,
    "tau_mean": 0.5,
    "tau_shrunk": 0.25,
    "is_random": True,
    "random_p_value": 0.5,
    "first_pick_rate": 1.0,
    "last_pick_rate": 0.0,
    "is_position_biased": False,
    "position_bias_p_value": 0.25,
    "label_vote_count": 3,
    "ds_accuracy": 0.5,
    "weight": 0.0,
    "gold_vote_count": 0,
    "gold_accuracy": None,
}
SECOND_PROJECT = {
    "ranking_count": 3,
    "tau_mean": 1.0,
    "tau_shrunk": 0.5,
    "is_random": False,
    "random_p_value": 0.125,
    "first_pick_rate": 0.0,
    "last_pick_rate": 1.0,
    "is_position_biased": True,
    "position_bias_p_value": 0.0625,
    "label_vote_count": 1,
    "ds_accuracy": 1.0,
    "weight": 1.0,
    "gold_vote_count": 2,
    "gold_accuracy": 0.75,
}


def row_of(rows: list[dict[str, Any]], user_id: int) -> dict[str, Any]:
    (found,) = [row for row in rows if row["user_id"] == user_id]
    return found


def test_per_project_the_board_shows_that_project_s_measurement(moderator):
    first, second = small_project(), small_project()
    flipper, quiet = people(2)
    measure(first, flipper, **FIRST_PROJECT)
    measure(second, flipper, **SECOND_PROJECT)
    measure(first, quiet, ranking_count=4, tau_mean=0.9, tau_shrunk=0.8)

    response = get(moderator, "/api/v1/moderation/trollboard", window="day", project=first.slug)

    assert response.status_code == 200
    # Only the flagged person is listed: ``quiet`` has no flag and no negative signal.
    assert response.json() == [
        {
            "user_id": flipper.pk,
            "red_flags": 0,
            "up": 0,
            "down": 0,
            "flag_labels": 0,
            "spam_labels": 0,
            "aborted_prompts": 0,
            "username": flipper.username,
            "is_banned": False,
            "agreement": 0.25,
            "quality": {"projects": 1, **FIRST_PROJECT},
        }
    ]


def test_over_all_projects_measures_are_weighted_by_what_they_were_measured_on(moderator):
    first, second = small_project(), small_project()
    (flipper,) = people(1)
    measure(first, flipper, **FIRST_PROJECT)
    measure(second, flipper, **SECOND_PROJECT)

    (row,) = get(moderator, "/api/v1/moderation/trollboard", window="week").json()

    assert row["agreement"] == 0.4375  # (0.25 · 1 + 0.5 · 3) / 4 rankings
    assert row["quality"] == {
        "projects": 2,
        "ranking_count": 4,
        "tau_mean": 0.875,  # (0.5 · 1 + 1.0 · 3) / 4
        "tau_shrunk": 0.4375,
        "is_random": True,  # raised in the first project
        "random_p_value": 0.125,  # the smallest
        "first_pick_rate": 0.25,  # (1.0 · 1 + 0.0 · 3) / 4
        "last_pick_rate": 0.75,
        "is_position_biased": True,  # raised in the second
        "position_bias_p_value": 0.0625,
        "label_vote_count": 4,
        "ds_accuracy": 0.625,  # (0.5 · 3 + 1.0 · 1) / 4 label votes
        "weight": 0.25,  # (0.0 · 3 + 1.0 · 1) / 4
        "gold_vote_count": 2,
        "gold_accuracy": 0.75,  # measured in the second project only
    }


def test_negative_signals_come_first_then_the_number_of_quality_flags(moderator):
    project = small_project()
    one_flag, two_flags, flagged_author, reader = people(4)
    measure(project, one_flag, ranking_count=12, is_random=True, random_p_value=0.5)
    measure(
        project,
        two_flags,
        ranking_count=12,
        is_random=True,
        random_p_value=0.4,
        is_position_biased=True,
        position_bias_p_value=0.0001,
    )
    # The author of a red-flagged message, measured but not flagged.
    prompt = write_prompt(project, flagged_author)
    post(reader, f"/api/v1/messages/{prompt.pk}/reactions", {"emoji": "red_flag"})
    measure(project, flagged_author, label_vote_count=2, ds_accuracy=0.75, weight=0.5)

    rows = trollboard(window="week", project_slug=project.slug)

    assert [row["user_id"] for row in rows] == [flagged_author.pk, two_flags.pk, one_flag.pk]
    author = rows[0]
    assert (author["red_flags"], author["agreement"]) == (1, None)  # no rankings: no τ
    assert (author["quality"]["ds_accuracy"], author["quality"]["weight"]) == (0.75, 0.5)
    assert rows[1]["quality"]["is_position_biased"] is True
    # Someone never measured has no quality at all.
    assert trollboard(window="week", project_slug=small_project().slug) == []


def test_a_position_biased_ranker_found_by_the_rescore_is_on_the_board(moderator):
    """Eight groups of three replies, each ranked by two people who agree and by one
    who always puts first whatever was shown first — the replies in reverse order. The
    rescore finds the position bias (8 first picks of 3: p = 3⁻⁸) and τ = −1 against
    the others' consensus on every ballot; the board shows exactly what it stored, and
    only that person."""
    project = small_project()
    author, honest, careful, biased = people(4)
    start = timezone.now()
    ballots = []
    for number in range(8):
        group = ready_tree(project, author, 3)
        best_first = [reply.pk for reply in group.replies]
        worst_first = list(reversed(best_first))
        moment = start.replace(microsecond=0) - timedelta(hours=number + 1)
        # The two who agree were shown the replies in rotated orders: their best pick
        # was shown first in only 3 groups of 8.
        honest_shown = best_first[number % 3 :] + best_first[: number % 3]
        careful_shown = best_first[(number + 1) % 3 :] + best_first[: (number + 1) % 3]
        ballots += [
            Ballot(group, honest, best_first, honest_shown, moment),
            Ballot(group, careful, best_first, careful_shown, moment + timedelta(seconds=1)),
            Ballot(group, biased, worst_first, worst_first, moment + timedelta(seconds=2)),
        ]
    store_ballots(ballots)

    project_rescore(project_id=project.pk)

    stored = AnnotatorQuality.objects.get(project=project, user=biased)
    assert (stored.ranking_count, stored.tau_mean, stored.is_position_biased) == (8, -1.0, True)
    assert stored.position_bias_p_value == round(3.0**-8, 9)  # stored to 9 decimals
    rows = get(moderator, "/api/v1/moderation/trollboard", window="day", project=project.slug)
    (row,) = rows.json()
    assert row["user_id"] == biased.pk
    assert row["agreement"] == stored.tau_shrunk
    assert row["quality"] == {
        "projects": 1,
        "ranking_count": 8,
        "tau_mean": -1.0,
        "tau_shrunk": stored.tau_shrunk,
        "is_random": False,  # fewer than 10 rankings: not tested
        "random_p_value": stored.random_p_value,
        "first_pick_rate": 1.0,
        "last_pick_rate": 0.0,
        "is_position_biased": True,
        "position_bias_p_value": stored.position_bias_p_value,
        "label_vote_count": 0,
        "ds_accuracy": None,
        "weight": None,  # no label votes: no weight to speak of
        "gold_vote_count": 0,
        "gold_accuracy": None,
    }
    # τ against the leave-one-out consensus: the biased ranker −1 on every ballot; each of
    # the others +1 (their consensus without them is the two other ballots, which
    # disagree on every pair, so the earlier one — the other agreeing person's —
    # decides). The project's mean τ is (8 + 8 − 8) / 24 = 1/3, and the biased
    # ranker's shrunk τ (−8 + 5 · 1/3) / (8 + 5) = −19/39.
    assert stored.tau_shrunk == pytest.approx(-19 / 39, abs=1e-9)
