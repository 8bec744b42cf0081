"""Annotator quality from a rescore: a voter who always puts the first candidate shown
on top, one who always picks the last, one who ranks at random, against honest ones."""

from __future__ import annotations

import random

import pytest

from backend.consensus.models import AnnotatorQuality
from backend.consensus.scoring.quality import POSITION_BIAS_P, RANDOM_P
from backend.consensus.services import project_rescore
from tests.consensus.builders import Ballot, moment, ready_tree, store_ballots
from tests.factories import people, small_project

pytestmark = pytest.mark.django_db

GROUPS = 40


def test_position_biased_and_random_rankers_are_told_apart_from_honest_ones():
    rng = random.Random(1987)
    project = small_project()
    author, first_picker, last_picker, random_ranker, *honest = people(7)
    ballots = []
    clock = 0
    for _ in range(GROUPS):
        group = ready_tree(project, author, 3)
        # The replies' true order is their id order; honest people see it with
        # occasional noise (one neighbour swap in five).
        truth = [reply.pk for reply in group.replies]
        for voter in (*honest, first_picker, last_picker, random_ranker):
            shown = rng.sample(truth, len(truth))
            if voter == first_picker:
                ranking = list(shown)
            elif voter == last_picker:
                ranking = [shown[-1], *shown[:-1]]
            elif voter == random_ranker:
                ranking = rng.sample(truth, len(truth))
            else:
                ranking = list(truth)
                if rng.random() < 0.2:
                    swap = rng.randrange(len(ranking) - 1)
                    ranking[swap], ranking[swap + 1] = ranking[swap + 1], ranking[swap]
            clock += 1
            ballots.append(Ballot(group, voter, ranking, shown, moment(clock)))
    store_ballots(ballots)

    project_rescore(project_id=project.pk)

    quality = {row.user_id: row for row in AnnotatorQuality.objects.filter(project=project)}
    first = quality[first_picker.pk]
    assert first.ranking_count == GROUPS
    assert first.first_pick_rate == 1.0
    assert first.position_bias_p_value < POSITION_BIAS_P
    assert first.position_bias_p_value == pytest.approx((1 / 3) ** GROUPS)
    assert first.is_position_biased is True

    last = quality[last_picker.pk]
    assert (last.last_pick_rate, last.is_position_biased) == (1.0, True)

    unsure = quality[random_ranker.pk]
    assert unsure.is_position_biased is False
    assert abs(unsure.tau_mean) < 0.3
    assert unsure.random_p_value > RANDOM_P
    assert unsure.is_random is True

    for person in honest:
        row = quality[person.pk]
        assert row.tau_mean > 0.6
        assert row.random_p_value < 1e-6
        assert (row.is_random, row.is_position_biased) == (False, False)
        assert row.first_pick_rate < 0.6
        # Shrinkage pulls τ toward the project mean (lower than an honest person's).
        assert row.tau_shrunk < row.tau_mean
    # First- and last-pickers agree with the others only by chance as well.
    assert abs(first.tau_mean) < 0.35 and abs(last.tau_mean) < 0.35


def test_few_rankings_flag_nobody():
    """Four rankings prove nothing either way: no flags, whatever they look like."""
    project = small_project()
    author, first_picker, honest = people(3)
    ballots = []
    for number in range(4):
        group = ready_tree(project, author, 3)
        ids = [reply.pk for reply in group.replies]
        shown = list(reversed(ids))
        ballots.append(Ballot(group, first_picker, shown, shown, moment(2 * number)))
        ballots.append(Ballot(group, honest, ids, ids, moment(2 * number + 1)))
    store_ballots(ballots)

    project_rescore(project_id=project.pk)

    row = AnnotatorQuality.objects.get(project=project, user=first_picker)
    assert row.first_pick_rate == 1.0
    assert row.position_bias_p_value == pytest.approx((1 / 3) ** 4)
    assert (row.is_position_biased, row.is_random) == (False, False)
