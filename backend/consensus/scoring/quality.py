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
from backend.consensus.scoring.rankings import ScoredGroup

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
    groups: Sequence[ScoredGroup],
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


def _dawid_skene_accuracy(
    fits: Sequence[FlagFit], person: Any, people: dict[int, AnnotatorStats]
) -> None:
    correct: Counter[int] = Counter()
    judged: Counter[int] = Counter()
    for fit in fits:
        for user, sensitivity, specificity, accuracy, count in zip(
            fit.users.tolist(),
            fit.sensitivity.tolist(),
            fit.specificity.tolist(),
            fit.accuracy.tolist(),
            fit.user_vote_counts.tolist(),
            strict=True,
        ):
            person(user).labels[fit.label] = {
                "sensitivity": sensitivity,
                "specificity": specificity,
                "accuracy": accuracy,
                "votes": count,
                "method": fit.method,
            }
            correct[user] += accuracy * count
            judged[user] += count
    total_judged = sum(judged.values())
    prior = sum(correct.values()) / total_judged if total_judged else 0.5
    for user, count in judged.items():
        stats_row = people[user]
        stats_row.ds_accuracy = correct[user] / count
        # Few votes say little: shrink toward the project's mean accuracy. A coin
        # flipper (accuracy 0.5) and anyone worse get weight 0, a perfect one 1.
        shrunk = (correct[user] + ACCURACY_PRIOR_VOTES * prior) / (count + ACCURACY_PRIOR_VOTES)
        stats_row.weight = float(np.clip(2.0 * shrunk - 1.0, 0.0, 1.0))


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
    groups: Sequence[ScoredGroup], person: Any, people: dict[int, AnnotatorStats]
) -> None:
    taus: dict[int, list[tuple[float, int]]] = {}
    picks: dict[int, list[tuple[bool, bool, int]]] = {}
    ranking_counts: Counter[int] = Counter()
    for group in groups:
        size = len(group.ranking.order)
        for user, ballot, shown, tau in zip(
            group.votes.user_ids,
            group.votes.ballots,
            group.votes.shown,
            group.ranking.ballot_taus,
            strict=True,
        ):
            ranking_counts[user] += 1
            if tau is not None and size >= 2:
                taus.setdefault(user, []).append((tau, size))
            if shown and len(shown) >= 2 and ballot and set(shown) == set(ballot):
                picks.setdefault(user, []).append(
                    (ballot[0] == shown[0], ballot[0] == shown[-1], len(shown))
                )
    for user, count in ranking_counts.items():
        person(user).ranking_count = count

    every_tau = [tau for values in taus.values() for tau, _ in values]
    prior = sum(every_tau) / len(every_tau) if every_tau else 0.0
    for user, values in taus.items():
        row = people[user]
        total = sum(tau for tau, _ in values)
        row.tau_mean = total / len(values)
        row.tau_shrunk = (total + TAU_PRIOR_RANKINGS * prior) / (len(values) + TAU_PRIOR_RANKINGS)
        # Under "rankings are random", τ against any fixed order has mean 0 and
        # variance 2(2k + 5) / (9k(k − 1)) for k candidates (Kendall 1938).
        variance = sum(2.0 * (2 * size + 5) / (9.0 * size * (size - 1)) for _, size in values)
        # One-sided: P(Z ≥ z) = Φ(−z).
        row.random_p_value = float(special.ndtr(-total / np.sqrt(variance)))
        row.is_random = len(values) >= RANDOM_MIN_RANKINGS and row.random_p_value > RANDOM_P

    for user, user_picks in picks.items():
        row = people[user]
        sizes = [size for _, _, size in user_picks]
        first = sum(1 for is_first, _, _ in user_picks if is_first)
        last = sum(1 for _, is_last, _ in user_picks if is_last)
        row.first_pick_rate = first / len(user_picks)
        row.last_pick_rate = last / len(user_picks)
        p_value = min(_upper_tail(first, sizes), _upper_tail(last, sizes))
        row.position_bias_p_value = p_value
        row.is_position_biased = (
            len(user_picks) >= POSITION_BIAS_MIN_RANKINGS and p_value < POSITION_BIAS_P
        )


def _upper_tail(successes: int, sizes: Sequence[int]) -> float:
    """P(X ≥ successes) where X counts ballots whose best pick sat in one fixed place
    of the shown order, if the place did not matter: a sum of Bernoulli(1/k)."""
    distribution = np.ones(1)
    for size, count in sorted(Counter(sizes).items()):
        outcomes = np.arange(count + 1)
        chance = 1.0 / size
        binomial = (
            special.comb(count, outcomes) * chance**outcomes * (1 - chance) ** (count - outcomes)
        )
        distribution = np.convolve(distribution, binomial)
    return float(min(1.0, distribution[successes:].sum()))
