"""Open-Assistant's acceptance rule: 1 − mean(spam) − mean(lang_mismatch) > threshold. Pure."""

from __future__ import annotations

import pytest

from backend.consensus.acceptance import acceptance_score, is_accepted, label_means


def test_label_means_average_each_label_over_those_who_answered_it():
    votes = [("spam", 1.0), ("spam", 0.0), ("lang_mismatch", 1.0), ("quality", 0.25), ("spam", 0.0)]

    assert label_means(votes) == {"spam": 1 / 3, "lang_mismatch": 1.0, "quality": 0.25}


def test_label_means_of_no_votes_is_empty():
    assert label_means([]) == {}


def test_label_means_accepts_any_iterable():
    assert label_means(iter([("spam", 0.5)])) == {"spam": 0.5}


@pytest.mark.parametrize(
    ("means", "score"),
    [
        ({}, 1.0),
        ({"spam": 0.25}, 0.75),
        ({"lang_mismatch": 0.5}, 0.5),
        ({"spam": 0.25, "lang_mismatch": 0.25}, 0.5),
        ({"spam": 1.0, "lang_mismatch": 1.0}, -1.0),
        ({"pii": 1.0, "not_appropriate": 1.0, "quality": 0.0, "toxicity": 1.0}, 1.0),
    ],
)
def test_acceptance_score(means, score):
    assert acceptance_score(means) == score


@pytest.mark.parametrize(
    ("votes", "threshold", "accepted"),
    [
        pytest.param([("spam", 0)] * 3, 0.6, True, id="clean"),
        pytest.param([("spam", 0), ("spam", 0), ("spam", 1)], 0.6, True, id="one-in-three-spam"),
        pytest.param([("spam", 0), ("spam", 1), ("spam", 1)], 0.6, False, id="two-in-three-spam"),
        pytest.param(
            [("spam", 0)] * 3 + [("lang_mismatch", 0), ("lang_mismatch", 1)],
            0.6,
            False,
            id="half-lang-mismatch",
        ),
        pytest.param(
            [("spam", 0), ("spam", 0), ("spam", 1), ("lang_mismatch", 0)],
            0.6,
            True,
            id="lang-answered-by-one-counts-its-mean",
        ),
        pytest.param([("quality", 0), ("pii", 1)], 0.6, True, id="no-spam-answers-counts-0"),
        pytest.param([("spam", 1)], 0.0, False, id="all-spam-threshold-0"),
    ],
)
def test_is_accepted(votes, threshold, accepted):
    assert is_accepted(label_means(votes), threshold=threshold) is accepted


@pytest.mark.parametrize(
    ("spam_votes", "threshold"),
    [
        ([0, 1], 0.5),
        ([0, 0, 0, 1], 0.75),
        ([1, 1, 0, 0, 0], 0.6),
        ([0], 1.0),
        ([1], 0.0),
    ],
)
def test_a_score_exactly_at_the_threshold_is_rejected(spam_votes, threshold):
    means = label_means([("spam", float(vote)) for vote in spam_votes])
    assert acceptance_score(means) == threshold

    assert is_accepted(means, threshold=threshold) is False


def test_just_above_the_threshold_is_accepted():
    means = label_means([("spam", 0.0), ("spam", 1.0)])

    assert is_accepted(means, threshold=0.4999) is True
    assert is_accepted(means, threshold=0.5) is False


def test_the_default_threshold_with_three_reviewers():
    # With 0.6 and three flag votes: one spam vote passes (0.667), two fail (0.333).
    for spam_count, expected in [(0, True), (1, True), (2, False), (3, False)]:
        votes = [("spam", 1.0)] * spam_count + [("spam", 0.0)] * (3 - spam_count)
        assert is_accepted(label_means(votes), threshold=0.6) is expected
