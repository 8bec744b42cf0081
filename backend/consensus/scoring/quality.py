"""Annotator quality: Dawid–Skene accuracy, gold accuracy, leave-one-out Kendall τ,
position bias and randomness tests, and the weight of each person's label votes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special

from backend.consensus.loading import LabelVotes
from backend.consensus.scoring.labels import STORED_DIGITS, FlagFit
from backend.consensus.scoring.rankings import ScoredRankings

# τ is shrunk toward the project's mean τ as if that mean had been seen this many times.
TAU_PRIOR_RANKINGS = 5.0
# Dawid–Skene accuracy is shrunk toward the project's mean accuracy likewise.
ACCURACY_PRIOR_VOTES = 10.0
# Position bias: flagged when the first/last-shown pick count has p below this, from
# at least this many rankings whose shown order is known.
POSITION_BIAS_P = 0.001
POSITION_BIAS_MIN_RANKINGS = 5
# Random ranking: flagged when, over at least this many rankings compared with the
# others, agreement beyond chance is not shown at this level.
RANDOM_MIN_RANKINGS = 10
RANDOM_P = 0.05
# Answers to gold items (docs/onboarding.md) cap a person's vote weights once they have
# answered this many: the cap is 2a − 1 clipped to [0, 1] for their share right a, the
# same rule as a flag's Dawid–Skene weight.
GOLD_RESULTS_MIN = 5


@dataclass
class AnnotatorStats:
    user_id: int
    label_vote_count: int = 0
    ds_accuracy: float | None = None
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    gold_vote_count: int = 0
    gold_accuracy: float | None = None
    ranking_count: int = 0
    tau_mean: float | None = None
    tau_shrunk: float | None = None
    first_pick_rate: float | None = None
    last_pick_rate: float | None = None
    position_bias_p_value: float | None = None
    is_position_biased: bool = False
    random_p_value: float | None = None
    is_random: bool = False
    weight: float = 1.0

    def as_row(self) -> dict[str, Any]:
        row = dict(self.__dict__)
        for name, value in row.items():
            if isinstance(value, float):
                row[name] = round(value, STORED_DIGITS)
        return row


def annotator_stats(
    *,
    votes: LabelVotes,
    fits: Sequence[FlagFit],
    gold: Mapping[tuple[int, str], float],
    groups: ScoredRankings,
) -> dict[int, AnnotatorStats]:
    """Everything measured about every person who voted, by user id."""
    people: dict[int, AnnotatorStats] = {}

    def person(user_id: int) -> AnnotatorStats:
        found = people.get(user_id)
        if found is None:
            found = people[user_id] = AnnotatorStats(user_id=user_id)
        return found

    users, vote_counts = np.unique(votes.user, return_counts=True)
    for user, count in zip(users.tolist(), vote_counts.tolist(), strict=True):
        person(user).label_vote_count = count

    _dawid_skene_accuracy(fits, person, people)
    _gold_accuracy(votes, gold, person)
    _ranking_agreement(groups, person, people)
    return people


def merge_gold_results(
    people: dict[int, AnnotatorStats], results: Mapping[int, tuple[int, int]]
) -> None:
    """Fold each person's answers to gold items ({user: (right, answered)}) into their
    gold accuracy (beside their votes on gold-labelled messages, answer for answer) and,
    from ``GOLD_RESULTS_MIN`` answers on, cap their vote weights."""
    for user_id, (right, answered) in sorted(results.items()):
        if answered <= 0:
            continue
        row = people.get(user_id)
        if row is None:
            row = people[user_id] = AnnotatorStats(user_id=user_id)
        total = row.gold_vote_count + answered
        before = (row.gold_accuracy or 0.0) * row.gold_vote_count
        row.gold_accuracy = (before + right) / total
        row.gold_vote_count = total
        if answered >= GOLD_RESULTS_MIN:
            cap = float(np.clip(2.0 * right / answered - 1.0, 0.0, 1.0))
            row.weight = min(row.weight, cap)
            for info in row.labels.values():
                if "weight" in info:
                    info["weight"] = min(float(info["weight"]), cap)


def _dawid_skene_accuracy(
    fits: Sequence[FlagFit], person: Any, people: dict[int, AnnotatorStats]
) -> None:
    """Accuracy per flag and overall, and the weights of each person's votes.

    A flag's weight is 2r − 1 clipped to [0, 1], r being the person's Dawid–Skene
    accuracy on that flag shrunk toward the flag's mean accuracy (few votes say
    little): a coin flipper (r = 0.5) and anyone worse weigh 0, a perfect annotator 1.
    Per flag, because someone may flip one flag and answer the others well. The
    overall weight (for Likert scales, which have no Dawid–Skene model) is the
    vote-weighted mean of the flag weights.
    """
    correct: Counter[int] = Counter()
    judged: Counter[int] = Counter()
    weighted: Counter[int] = Counter()
    for fit in fits:
        counts = fit.user_vote_counts.astype(np.float64)
        total = float(counts.sum())
        prior = float(fit.accuracy @ counts) / total if total else 0.5
        shrunk = (fit.accuracy * counts + ACCURACY_PRIOR_VOTES * prior) / (
            counts + ACCURACY_PRIOR_VOTES
        )
        weights = np.round(np.clip(2.0 * shrunk - 1.0, 0.0, 1.0), STORED_DIGITS)
        for user, sensitivity, specificity, accuracy, count, weight in zip(
            fit.users.tolist(),
            fit.sensitivity.tolist(),
            fit.specificity.tolist(),
            fit.accuracy.tolist(),
            fit.user_vote_counts.tolist(),
            weights.tolist(),
            strict=True,
        ):
            person(user).labels[fit.label] = {
                "sensitivity": sensitivity,
                "specificity": specificity,
                "accuracy": accuracy,
                "votes": count,
                "method": fit.method,
                "weight": weight,
            }
            correct[user] += accuracy * count
            judged[user] += count
            weighted[user] += weight * count
    for user, count in judged.items():
        stats_row = people[user]
        stats_row.ds_accuracy = correct[user] / count
        stats_row.weight = weighted[user] / count


def _gold_accuracy(votes: LabelVotes, gold: Mapping[tuple[int, str], float], person: Any) -> None:
    if not gold:
        return
    gold_messages = np.asarray(sorted({message for message, _ in gold}), dtype=np.int64)
    on_gold = np.flatnonzero(np.isin(votes.message, gold_messages))
    agreement: dict[int, list[float]] = {}
    names = votes.label_names
    for message, user, label, value in zip(
        votes.message[on_gold].tolist(),
        votes.user[on_gold].tolist(),
        votes.label[on_gold].tolist(),
        votes.value[on_gold].tolist(),
        strict=True,
    ):
        known = gold.get((message, names[label]))
        if known is not None:
            agreement.setdefault(user, []).append(1.0 - abs(value - known))
    for user, scores in agreement.items():
        row = person(user)
        row.gold_vote_count = len(scores)
        row.gold_accuracy = sum(scores) / len(scores)


def _ranking_agreement(
    scored: ScoredRankings, person: Any, people: dict[int, AnnotatorStats]
) -> None:
    votes, result = scored.votes, scored.result
    if len(votes.user) == 0:
        return
    users, voter = np.unique(votes.user, return_inverse=True)
    group_of_ballot = np.repeat(np.arange(len(votes)), votes.ballots.group_count)
    size = result.size[group_of_ballot]
    for user, count in zip(users.tolist(), np.bincount(voter).tolist(), strict=True):
        person(user).ranking_count = count

    # Agreement with the others: τ against the leave-one-out consensus.
    compared = ~np.isnan(result.ballot_tau) & (size >= 2)
    tau = np.where(compared, result.ballot_tau, 0.0)
    # Under "rankings are random", τ against any fixed order has mean 0 and variance
    # 2(2k + 5) / (9k(k − 1)) for k candidates (Kendall 1938).
    null_variance = np.where(
        compared, 2.0 * (2 * size + 5) / (9.0 * size * np.maximum(size - 1, 1)), 0.0
    )
    tau_sum = np.bincount(voter, weights=tau, minlength=len(users))
    tau_count = np.bincount(voter, weights=compared, minlength=len(users))
    variance = np.bincount(voter, weights=null_variance, minlength=len(users))
    prior = float(tau.sum() / compared.sum()) if compared.any() else 0.0
    for index in np.flatnonzero(tau_count > 0).tolist():
        row = people[int(users[index])]
        total, count = float(tau_sum[index]), float(tau_count[index])
        row.tau_mean = total / count
        row.tau_shrunk = (total + TAU_PRIOR_RANKINGS * prior) / (count + TAU_PRIOR_RANKINGS)
        # One-sided: P(Z ≥ z) = Φ(−z).
        row.random_p_value = float(special.ndtr(-total / np.sqrt(variance[index])))
        row.is_random = count >= RANDOM_MIN_RANKINGS and row.random_p_value > RANDOM_P

    # Position bias: was the best pick the first (last) candidate shown?
    ranking, shown = votes.ballots.ranking, votes.shown
    if ranking.size == 0 or shown.size == 0:
        return
    width = max(ranking.shape[1], shown.shape[1])
    largest = np.iinfo(np.int64).max

    def candidate_sets(rows: np.ndarray) -> np.ndarray:
        padded = np.full((len(rows), width), largest, dtype=np.int64)
        padded[:, : rows.shape[1]] = np.where(rows >= 0, rows, largest)
        return np.sort(padded, axis=1)

    shown_length = (shown >= 0).sum(axis=1)
    known = (shown_length >= 2) & np.all(candidate_sets(ranking) == candidate_sets(shown), axis=1)
    best = ranking[:, 0]
    first_pick = known & (best == shown[:, 0])
    last_pick = known & (best == shown[np.arange(len(shown)), np.maximum(shown_length - 1, 0)])
    picks = np.bincount(voter, weights=known, minlength=len(users))
    firsts = np.bincount(voter, weights=first_pick, minlength=len(users))
    lasts = np.bincount(voter, weights=last_pick, minlength=len(users))
    # How many of each person's ballots showed k candidates, for each k.
    size_counts = np.zeros((len(users), width + 1), dtype=np.int64)
    np.add.at(size_counts, (voter[known], shown_length[known]), 1)
    for index in np.flatnonzero(picks > 0).tolist():
        row = people[int(users[index])]
        count = int(picks[index])
        row.first_pick_rate = float(firsts[index]) / count
        row.last_pick_rate = float(lasts[index]) / count
        sizes = {k: int(n) for k, n in enumerate(size_counts[index].tolist()) if n}
        p_value = min(_upper_tail(int(firsts[index]), sizes), _upper_tail(int(lasts[index]), sizes))
        row.position_bias_p_value = p_value
        row.is_position_biased = count >= POSITION_BIAS_MIN_RANKINGS and p_value < POSITION_BIAS_P


def _upper_tail(successes: int, sizes: Mapping[int, int]) -> float:
    """P(X ≥ successes) where X counts ballots whose best pick sat in one fixed place
    of the shown order, if the place did not matter: a sum of Bernoulli(1/k), with
    ``sizes[k]`` ballots of k candidates."""
    distribution = np.ones(1)
    for size, count in sorted(sizes.items()):
        outcomes = np.arange(count + 1)
        chance = 1.0 / size
        binomial = (
            special.comb(count, outcomes) * chance**outcomes * (1 - chance) ** (count - outcomes)
        )
        distribution = np.convolve(distribution, binomial)
    return float(min(1.0, distribution[successes:].sum()))
