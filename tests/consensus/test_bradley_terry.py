"""Tests for Plackett–Luce / Bradley–Terry scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from backend.consensus.algorithms.bradley_terry import bradley_terry_scores


def _simulated_pairwise(
    true_strengths: np.ndarray, comparison_count: int, seed: int
) -> list[list[int]]:
    generator = np.random.default_rng(seed)
    comparisons: list[list[int]] = []
    for _ in range(comparison_count):
        first, second = (
            int(index) for index in generator.choice(len(true_strengths), 2, replace=False)
        )
        first_wins = 1.0 / (1.0 + math.exp(true_strengths[second] - true_strengths[first]))
        comparisons.append([first, second] if generator.random() < first_wins else [second, first])
    return comparisons


def _simulated_rankings(
    true_strengths: np.ndarray, ranking_count: int, ranking_length: int, seed: int
) -> list[list[int]]:
    # Sorting strengths plus Gumbel noise samples exactly from Plackett–Luce.
    generator = np.random.default_rng(seed)
    rankings: list[list[int]] = []
    for _ in range(ranking_count):
        shown = generator.choice(len(true_strengths), ranking_length, replace=False)
        noisy = true_strengths[shown] + generator.gumbel(size=ranking_length)
        rankings.append([int(candidate) for candidate in shown[np.argsort(-noisy)]])
    return rankings


TRUE_STRENGTHS = np.random.default_rng(2015).permutation(np.linspace(-2.0, 2.0, 20))


def test_recovers_strengths_from_pairwise_comparisons() -> None:
    comparisons = _simulated_pairwise(TRUE_STRENGTHS, 4000, seed=1)

    scores = bradley_terry_scores(comparisons)

    recovered = np.array([scores[candidate] for candidate in range(20)])
    assert spearmanr(TRUE_STRENGTHS, recovered).statistic >= 0.99
    assert np.max(np.abs(recovered - TRUE_STRENGTHS)) < 0.3


def test_recovers_strengths_from_full_rankings() -> None:
    rankings = _simulated_rankings(TRUE_STRENGTHS, 2000, ranking_length=5, seed=2)

    scores = bradley_terry_scores(rankings)

    recovered = np.array([scores[candidate] for candidate in range(20)])
    assert spearmanr(TRUE_STRENGTHS, recovered).statistic >= 0.99
    assert np.max(np.abs(recovered - TRUE_STRENGTHS)) < 0.3


def test_two_candidates_known_answer() -> None:
    # a beats b three times, b beats a once. With scores t and −t the
    # penalised objective 2·α·t² + 3·log(1 + e^(−2t)) + log(1 + e^(2t)) is
    # stationary where 4·α·t = 6/(1 + e^(2t)) − 2·e^(2t)/(1 + e^(2t)).
    comparisons = [["a", "b"]] * 3 + [["b", "a"]]

    scores = bradley_terry_scores(comparisons, regularization=0.01)

    t = scores["a"]
    assert scores["b"] == pytest.approx(-t, abs=1e-12)
    odds = math.exp(2 * t)
    assert 4 * 0.01 * t == pytest.approx(6 / (1 + odds) - 2 * odds / (1 + odds), abs=1e-9)
    assert t == pytest.approx(0.5421039948543, abs=1e-9)


def test_vanishing_regularization_gives_the_maximum_likelihood_odds() -> None:
    comparisons = [["a", "b"]] * 3 + [["b", "a"]]

    scores = bradley_terry_scores(comparisons, regularization=1e-9)

    # Maximum likelihood: P(a beats b) = 3/4, so θ_a − θ_b = log 3.
    assert scores["a"] - scores["b"] == pytest.approx(math.log(3), abs=1e-6)


def test_matches_choix_opt_rankings() -> None:
    choix = pytest.importorskip("choix")
    generator = np.random.default_rng(7)
    rankings = [
        tuple(int(candidate) for candidate in generator.permutation(6)[: generator.integers(2, 7)])
        for _ in range(60)
    ]

    scores = bradley_terry_scores(rankings, regularization=0.05)

    # choix loops in Python, hence the small data set.
    reference = choix.opt_rankings(6, rankings, alpha=0.05, method="BFGS", tol=1e-9)
    reference = reference - reference.mean()
    for candidate in range(6):
        assert scores[candidate] == pytest.approx(reference[candidate], abs=1e-7)


def test_reversing_every_comparison_negates_the_scores() -> None:
    comparisons = _simulated_pairwise(TRUE_STRENGTHS[:6], 300, seed=3)
    reversed_comparisons = [[loser, winner] for winner, loser in comparisons]

    scores = bradley_terry_scores(comparisons)
    reversed_scores = bradley_terry_scores(reversed_comparisons)

    for candidate in range(6):
        assert reversed_scores[candidate] == pytest.approx(-scores[candidate], abs=1e-9)


def test_order_of_submissions_and_candidate_ids_do_not_matter() -> None:
    rankings = _simulated_rankings(TRUE_STRENGTHS[:8], 200, ranking_length=4, seed=4)
    renaming = {candidate: f"candidate-{7 - candidate}" for candidate in range(8)}
    shuffled = list(reversed(rankings))
    renamed = [[renaming[candidate] for candidate in ranking] for ranking in shuffled]

    scores = bradley_terry_scores(rankings)
    renamed_scores = bradley_terry_scores(renamed)

    for candidate in range(8):
        assert renamed_scores[renaming[candidate]] == pytest.approx(scores[candidate], abs=1e-9)


def test_scores_are_zero_centred() -> None:
    rankings = _simulated_rankings(TRUE_STRENGTHS, 300, ranking_length=3, seed=5)

    scores = bradley_terry_scores(rankings)

    assert sum(scores.values()) == pytest.approx(0.0, abs=1e-12)


def test_candidate_that_never_wins_gets_a_finite_lowest_score() -> None:
    rankings = [["a", "b", "loser"], ["b", "a", "loser"], ["a", "loser"], ["b", "loser"]] * 50

    scores = bradley_terry_scores(rankings)

    assert all(math.isfinite(score) for score in scores.values())
    assert scores["loser"] == min(scores.values())
    assert scores["loser"] < -3.0


def test_candidate_that_always_wins_gets_a_finite_highest_score() -> None:
    scores = bradley_terry_scores([["a", "b"]] * 1000)

    assert math.isfinite(scores["a"])
    assert scores["a"] == pytest.approx(-scores["b"], abs=1e-12)
    assert scores["a"] > 4.0


def test_stronger_regularization_shrinks_scores() -> None:
    rankings = [["a", "b", "c"]] * 10

    weak = bradley_terry_scores(rankings, regularization=0.01)
    strong = bradley_terry_scores(rankings, regularization=1.0)

    assert abs(strong["a"]) < abs(weak["a"])
    assert abs(strong["c"]) < abs(weak["c"])


def test_balanced_comparisons_give_equal_scores() -> None:
    scores = bradley_terry_scores([["a", "b"], ["b", "a"], ["a", "b"], ["b", "a"]])

    assert scores == {"a": pytest.approx(0.0, abs=1e-12), "b": pytest.approx(0.0, abs=1e-12)}


def test_no_rankings_gives_no_scores() -> None:
    assert bradley_terry_scores([]) == {}


def test_one_candidate_gets_zero() -> None:
    assert bradley_terry_scores([["only"], ["only"]]) == {"only": 0.0}


def test_candidate_only_ever_ranked_alone_gets_the_prior_centre() -> None:
    scores = bradley_terry_scores([["a", "b"], ["alone"]])

    assert scores["alone"] == pytest.approx(0.0, abs=1e-12)
    assert scores["a"] > 0 > scores["b"]


def test_keys_follow_first_appearance() -> None:
    scores = bradley_terry_scores([["z", "y"], ["x", "z"]])

    assert list(scores) == ["z", "y", "x"]


def test_disconnected_groups_stay_finite() -> None:
    scores = bradley_terry_scores([["a", "b"]] * 5 + [["c", "d"]] * 5)

    assert all(math.isfinite(score) for score in scores.values())
    assert scores["a"] == pytest.approx(scores["c"], abs=1e-9)


def test_repeated_candidate_is_rejected() -> None:
    with pytest.raises(ValueError, match="ranking 0"):
        bradley_terry_scores([["a", "a"]])


@pytest.mark.parametrize("regularization", [0.0, -1.0, math.inf, math.nan])
def test_non_positive_regularization_is_rejected(regularization: float) -> None:
    with pytest.raises(ValueError, match="regularization"):
        bradley_terry_scores([["a", "b"]], regularization=regularization)
