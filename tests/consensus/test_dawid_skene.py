"""Tests for binary Dawid–Skene."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.consensus.algorithms.dawid_skene import DawidSkeneResult, dawid_skene_binary

Vote = tuple[int, str, int]


def _adversarial_votes(seed: int) -> tuple[np.ndarray, list[Vote]]:
    """500 items; three 80 %-accurate workers, one always flipping, one
    flipping 90 % of the time, one always voting 1."""
    generator = np.random.default_rng(seed)
    truth = generator.integers(0, 2, 500)
    votes: list[Vote] = []
    for item, true_label in enumerate(int(label) for label in truth):
        for worker in ("good-1", "good-2", "good-3"):
            votes.append((item, worker, true_label if generator.random() < 0.8 else 1 - true_label))
        votes.append((item, "flipper", 1 - true_label))
        votes.append(
            (item, "mostly-flipper", 1 - true_label if generator.random() < 0.9 else true_label)
        )
        votes.append((item, "constant", 1))
    return truth, votes


def _accuracy(posteriors: dict[int, float], truth: np.ndarray) -> float:
    # A posterior of exactly 0.5 is a coin flip: half right.
    scores = [
        0.5 if posteriors[item] == 0.5 else float((posteriors[item] > 0.5) == bool(label))
        for item, label in enumerate(truth)
    ]
    return sum(scores) / len(scores)


@pytest.mark.parametrize("seed", [1979, 2, 3])
def test_adversarial_workers_are_identified_where_majority_fails(seed: int) -> None:
    truth, votes = _adversarial_votes(seed)

    result = dawid_skene_binary(votes)
    majority = dawid_skene_binary(votes, min_overlap=10**9)

    assert majority.method == "majority"
    assert 0.4 <= _accuracy(majority.posteriors, truth) <= 0.6
    assert result.method == "dawid_skene"
    assert result.converged is True
    assert _accuracy(result.posteriors, truth) >= 0.99
    workers = result.workers
    for good in ("good-1", "good-2", "good-3"):
        assert 0.7 < workers[good].accuracy < 0.9
    assert workers["flipper"].accuracy < 0.05
    assert workers["mostly-flipper"].accuracy < 0.2
    # A constant voter's sensitivity is near 1 and specificity near 0.
    assert workers["constant"].sensitivity > 0.95
    assert workers["constant"].specificity < 0.05
    assert all(worker.vote_count == 500 for worker in workers.values())


def test_mirror_image_is_resolved_towards_the_typical_worker_being_good() -> None:
    # Same data with every vote flipped: the labels must flip too, not stay.
    truth, votes = _adversarial_votes(1979)
    flipped_votes = [(item, worker, 1 - label) for item, worker, label in votes]

    result = dawid_skene_binary(flipped_votes)

    assert _accuracy(result.posteriors, 1 - truth) >= 0.99
    assert result.workers["flipper"].accuracy < 0.05


def test_ordinary_crowd_beats_majority_vote() -> None:
    generator = np.random.default_rng(11)
    worker_accuracy = generator.uniform(0.55, 0.95, 30)
    truth = generator.integers(0, 2, 1000)
    votes: list[Vote] = []
    for item, true_label in enumerate(int(label) for label in truth):
        for worker in generator.choice(30, 3, replace=False):
            correct = generator.random() < worker_accuracy[worker]
            votes.append((item, f"w{worker}", true_label if correct else 1 - true_label))

    result = dawid_skene_binary(votes)
    majority = dawid_skene_binary(votes, min_overlap=10**9)

    assert result.method == "dawid_skene"
    assert _accuracy(result.posteriors, truth) > _accuracy(majority.posteriors, truth)
    estimated = [result.workers[f"w{worker}"].accuracy for worker in range(30)]
    assert np.corrcoef(estimated, worker_accuracy)[0, 1] > 0.8


def test_gold_items_are_pinned() -> None:
    truth, votes = _adversarial_votes(5)
    gold = {0: int(1 - truth[0]), 1: int(truth[1])}  # one deliberately "wrong" gold

    result = dawid_skene_binary(votes, gold=gold)

    assert result.posteriors[0] == float(1 - truth[0])
    assert result.posteriors[1] == float(truth[1])


def test_gold_only_items_appear_with_pinned_posterior() -> None:
    _, votes = _adversarial_votes(6)
    mixed_ids: list[tuple[int | str, str, int]] = list(votes)
    gold: dict[int | str, int] = {"unvoted": 1}

    result = dawid_skene_binary(mixed_ids, gold=gold)

    assert result.posteriors["unvoted"] == 1.0


def test_unvoted_gold_stays_pinned_when_the_solution_is_mirrored() -> None:
    truth, votes = _adversarial_votes(12)
    flipped: list[tuple[int | str, str, int]] = [
        (item, worker, 1 - label) for item, worker, label in votes
    ]
    gold: dict[int | str, int] = {"unvoted": 0}

    result = dawid_skene_binary(flipped, gold=gold)

    assert result.posteriors["unvoted"] == 0.0
    voted = {item: result.posteriors[item] for item in range(500)}
    assert _accuracy(voted, 1 - truth) >= 0.99


def test_gold_decides_orientation_when_most_workers_are_adversarial() -> None:
    # Four always-wrong workers and two 85 %-right ones: the "typical worker
    # is good" assumption picks the wrong mirror image, and gold corrects it.
    generator = np.random.default_rng(21)
    truth = generator.integers(0, 2, 300)
    votes: list[Vote] = []
    for item, true_label in enumerate(int(label) for label in truth):
        for worker in ("liar-1", "liar-2", "liar-3", "liar-4"):
            votes.append((item, worker, 1 - true_label))
        for worker in ("honest-1", "honest-2"):
            correct = generator.random() < 0.85
            votes.append((item, worker, true_label if correct else 1 - true_label))

    without_gold = dawid_skene_binary(votes)
    with_gold = dawid_skene_binary(votes, gold={item: int(truth[item]) for item in range(10)})

    assert _accuracy(without_gold.posteriors, truth) <= 0.01
    assert _accuracy(with_gold.posteriors, truth) >= 0.99
    assert with_gold.workers["liar-1"].accuracy < 0.05
    assert with_gold.workers["honest-1"].accuracy > 0.75


def test_too_little_overlap_falls_back_to_majority() -> None:
    votes: list[tuple[str, str, int]] = [
        ("a", "w1", 1),
        ("a", "w2", 1),
        ("a", "w3", 0),
        ("b", "w1", 0),
        ("b", "w2", 1),
        ("c", "w3", 1),
    ]

    result = dawid_skene_binary(votes, min_overlap=3)

    assert result.method == "majority"
    assert result.posteriors == {"a": 2 / 3, "b": 0.5, "c": 1.0}
    assert result.iterations == 0
    assert result.log_likelihood is None
    # Reliabilities against the majority shares: w3 voted 0 where the share
    # of 1s was 2/3 and 1 where it was 1, so 1/3 + 1 correct out of 2.
    assert result.workers["w3"].accuracy == pytest.approx((1 / 3 + 1.0) / 2, abs=1e-15)
    assert result.workers["w1"].vote_count == 2


def test_same_data_runs_em_when_the_overlap_threshold_is_met() -> None:
    votes = [("a", "w1", 1), ("a", "w2", 1), ("b", "w1", 0), ("b", "w2", 0)]

    result = dawid_skene_binary(votes, min_overlap=2)

    assert result.method == "dawid_skene"
    assert result.posteriors["a"] > 0.5 > result.posteriors["b"]
    assert result.log_likelihood is not None and math.isfinite(result.log_likelihood)


def test_single_worker_falls_back_to_majority() -> None:
    result = dawid_skene_binary([(item, "only", item % 2) for item in range(50)], min_overlap=0)

    assert result.method == "majority"
    assert result.posteriors[3] == 1.0
    assert result.posteriors[4] == 0.0


def test_majority_fallback_pins_gold() -> None:
    result = dawid_skene_binary([("a", "w1", 1), ("a", "w2", 1)], gold={"a": 0})

    assert result.method == "majority"
    assert result.posteriors == {"a": 0.0}
    assert result.workers["w1"].accuracy == 0.0


def test_no_votes() -> None:
    result: DawidSkeneResult[str, str] = dawid_skene_binary([])

    assert result.posteriors == {}
    assert result.workers == {}
    assert result.method == "majority"
    assert result.prevalence == 0.5


def test_posteriors_are_probabilities_and_ids_are_kept() -> None:
    _, votes = _adversarial_votes(8)

    result = dawid_skene_binary(votes)

    assert set(result.posteriors) == set(range(500))
    assert set(result.workers) == {
        "good-1",
        "good-2",
        "good-3",
        "flipper",
        "mostly-flipper",
        "constant",
    }
    assert all(0.0 <= posterior <= 1.0 for posterior in result.posteriors.values())
    assert 0.0 < result.prevalence < 1.0


def test_result_does_not_depend_on_vote_order() -> None:
    _, votes = _adversarial_votes(9)

    forward = dawid_skene_binary(votes)
    backward = dawid_skene_binary(list(reversed(votes)))

    for item, posterior in forward.posteriors.items():
        assert backward.posteriors[item] == pytest.approx(posterior, abs=1e-6)


def test_iteration_cap_is_reported() -> None:
    _, votes = _adversarial_votes(10)

    result = dawid_skene_binary(votes, max_iterations=1)

    assert result.iterations == 1
    assert result.converged is False


@pytest.mark.parametrize("label", [2, -1])
def test_invalid_vote_label_is_rejected(label: int) -> None:
    with pytest.raises(ValueError, match="0 or 1"):
        dawid_skene_binary([("a", "w1", label)])


def test_invalid_gold_label_is_rejected() -> None:
    with pytest.raises(ValueError, match="gold label"):
        dawid_skene_binary([("a", "w1", 1)], gold={"a": 3})


def test_duplicate_vote_is_rejected() -> None:
    with pytest.raises(ValueError, match="more than once"):
        dawid_skene_binary([("a", "w1", 1), ("a", "w1", 0)])
