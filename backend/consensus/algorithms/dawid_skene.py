"""Binary Dawid–Skene: true labels and worker reliability from noisy votes.

The model (Dawid & Skene 1979, "Maximum likelihood estimation of observer
error-rates using the EM algorithm", Applied Statistics 28:20–28), for two
classes: each item has a hidden true label y ∈ {0, 1} with P(y = 1) = π (the
prevalence); each worker w votes 1 on an item whose label is 1 with
probability sensitivity_w and votes 0 on an item whose label is 0 with
probability specificity_w, independently of everything else. EM alternates

* E-step: posterior P(y_i = 1 | votes) for every item, by Bayes' rule;
* M-step: π, sensitivity_w, specificity_w re-estimated from those posteriors.

Choices made here, each explained where it is implemented:

* Beta(2, 2) priors on π and on every sensitivity and specificity (add one
  pseudo-vote of each kind), so that a worker with few votes or a perfect
  record never gets a probability of exactly 0 or 1, which would let a single
  vote veto all others. EM then maximises the posterior density rather than
  the likelihood; ``log_likelihood`` reports that objective.
* Gold items (known labels) keep their posterior pinned at the known label in
  every E-step, so they anchor the workers' estimates.
* Several starting points, keeping the best objective (see ``_starting_points``).
* The model cannot tell a labelling from its mirror image (every label
  flipped, every worker's sensitivity ↔ 1 − specificity): both explain the
  votes equally well. Without gold items we pick the orientation in which the
  typical worker is better than chance (see ``_orient``).
* With too little overlap between workers their error rates cannot be
  estimated, and we fall back to the share of votes for 1 (``"majority"``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

ItemId = TypeVar("ItemId", bound=Hashable)
WorkerId = TypeVar("WorkerId", bound=Hashable)

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

# One pseudo-vote of each kind: a Beta(2, 2) prior on every probability.
_PSEUDO_COUNT = 1.0
# Besides the majority vote, EM also starts from the votes of this many of
# the most active workers.
_WORKER_STARTS = 8
# Objectives closer than this are treated as equal when choosing a start, so
# that a start reached through rounding noise does not win by 1e-13.
_OBJECTIVE_TIE = 1e-7


@dataclass(frozen=True)
class WorkerReliability:
    """How well one worker's votes match the estimated true labels.

    Attributes:
        sensitivity: P(votes 1 | true label 1).
        specificity: P(votes 0 | true label 0).
        accuracy: expected share of the worker's votes that equal the true
            label, under the posteriors.
        vote_count: number of votes the worker cast.
    """

    sensitivity: float
    specificity: float
    accuracy: float
    vote_count: int


@dataclass(frozen=True)
class DawidSkeneResult(Generic[ItemId, WorkerId]):
    """Outcome of :func:`dawid_skene_binary`.

    Attributes:
        posteriors: P(true label = 1) per item (voted items and gold items);
            exactly 0.0 or 1.0 for gold items.
        workers: reliability per worker.
        prevalence: estimated share of items whose true label is 1.
        method: ``"dawid_skene"`` when EM was run, ``"majority"`` when the
            posteriors are the share of votes for 1 (too little overlap).
        iterations: EM iterations of the retained start (0 for majority).
        converged: whether the retained start met the tolerance before
            ``max_iterations`` (always True for majority).
        log_likelihood: log posterior density (log-likelihood plus the Beta
            priors' log densities) of the retained solution; None for majority.
    """

    posteriors: dict[ItemId, float]
    workers: dict[WorkerId, WorkerReliability]
    prevalence: float
    method: Literal["dawid_skene", "majority"]
    iterations: int
    converged: bool
    log_likelihood: float | None


@dataclass
class _Votes:
    """The votes as parallel arrays of item index, worker index and label."""

    item: IndexArray
    worker: IndexArray
    label: FloatArray
    item_count: int
    worker_count: int
    gold_items: IndexArray
    gold_labels: FloatArray


@dataclass
class _Solution:
    posteriors: FloatArray
    prevalence: float
    sensitivity: FloatArray
    specificity: FloatArray
    objective: float
    iterations: int
    converged: bool


def dawid_skene_binary(
    votes: Sequence[tuple[ItemId, WorkerId, int]],
    gold: Mapping[ItemId, int] | None = None,
    min_overlap: int = 20,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
) -> DawidSkeneResult[ItemId, WorkerId]:
    """Estimate true binary labels and worker error rates by Dawid–Skene EM.

    Args:
        votes: ``(item, worker, label)`` with label 0 or 1; at most one vote
            per worker and item.
        gold: known true labels for some items; their posteriors stay pinned.
        min_overlap: EM runs only when at least this many items have votes
            from two or more workers and there are at least two workers;
            otherwise the result is the majority fallback.
        max_iterations: EM iterations per starting point.
        tolerance: EM stops when no posterior moves by more than this.

    Returns:
        Posteriors, worker reliabilities and how they were obtained; see
        :class:`DawidSkeneResult`.

    Raises:
        ValueError: for a label or gold label other than 0 or 1, or a worker
            voting twice on the same item.
    """
    gold = {} if gold is None else gold
    item_index: dict[ItemId, int] = {}
    worker_index: dict[WorkerId, int] = {}
    seen_pairs: set[tuple[ItemId, WorkerId]] = set()
    for item, worker, label in votes:
        if label not in (0, 1):
            raise ValueError(f"vote label must be 0 or 1, got {label!r}")
        if (item, worker) in seen_pairs:
            raise ValueError(f"worker {worker!r} voted more than once on item {item!r}")
        seen_pairs.add((item, worker))
        item_index.setdefault(item, len(item_index))
        worker_index.setdefault(worker, len(worker_index))
    for item, label in gold.items():
        if label not in (0, 1):
            raise ValueError(f"gold label must be 0 or 1, got {label!r}")
        item_index.setdefault(item, len(item_index))

    data = _Votes(
        item=np.fromiter(
            (item_index[item] for item, _, _ in votes), dtype=np.intp, count=len(votes)
        ),
        worker=np.fromiter(
            (worker_index[worker] for _, worker, _ in votes), dtype=np.intp, count=len(votes)
        ),
        label=np.fromiter(
            (float(label) for _, _, label in votes), dtype=np.float64, count=len(votes)
        ),
        item_count=len(item_index),
        worker_count=len(worker_index),
        gold_items=np.fromiter((item_index[item] for item in gold), dtype=np.intp, count=len(gold)),
        gold_labels=np.fromiter(
            (float(label) for label in gold.values()), dtype=np.float64, count=len(gold)
        ),
    )

    workers_per_item = np.bincount(data.item, minlength=data.item_count)
    overlap = int(np.count_nonzero(workers_per_item >= 2))
    majority = _majority_posteriors(data)

    if overlap < min_overlap or data.worker_count < 2:
        prevalence, sensitivity, specificity = _maximisation(data, majority)
        return _result(
            data,
            item_index,
            worker_index,
            majority,
            prevalence,
            sensitivity,
            specificity,
            method="majority",
            iterations=0,
            converged=True,
            objective=None,
        )

    # Gold items that received votes tie the labels to their meaning; gold
    # items nobody voted on only nudge the prevalence.
    anchored_by_gold = bool(np.any(workers_per_item[data.gold_items] > 0))
    solutions = [
        _expectation_maximisation(data, start, max_iterations, tolerance)
        for start in _starting_points(data, majority, try_flipped_workers=anchored_by_gold)
    ]
    best = solutions[0]
    for solution in solutions[1:]:
        if solution.objective > best.objective + _OBJECTIVE_TIE:
            best = solution
    if not anchored_by_gold:
        best = _orient(data, best, majority, max_iterations, tolerance)

    return _result(
        data,
        item_index,
        worker_index,
        best.posteriors,
        best.prevalence,
        best.sensitivity,
        best.specificity,
        method="dawid_skene",
        iterations=best.iterations,
        converged=best.converged,
        objective=best.objective,
    )


def _majority_posteriors(data: _Votes) -> FloatArray:
    """Share of votes for 1 per item; 0.5 with no votes; gold pinned."""
    vote_counts = np.bincount(data.item, minlength=data.item_count).astype(np.float64)
    ones = np.bincount(data.item, weights=data.label, minlength=data.item_count)
    posteriors: FloatArray = np.full(data.item_count, 0.5)
    np.divide(ones, vote_counts, out=posteriors, where=vote_counts > 0)
    posteriors[data.gold_items] = data.gold_labels
    return posteriors


def _starting_points(
    data: _Votes, majority: FloatArray, *, try_flipped_workers: bool
) -> list[FloatArray]:
    """Initial posteriors for EM: the majority vote, then single workers.

    EM only climbs to the nearest fixed point. When the majority vote is
    about as often wrong as right (adversarial or systematically flipping
    workers, or a constant voter tipping close calls), its posteriors carry
    no signal: the first M-step then rates every worker near chance and EM
    stays at that useless fixed point. A worker who is informative, in
    either direction, gives a start correlated with the truth from which EM
    separates good from bad workers, so we also start from the votes of each
    of the most active workers (keeping the majority where they did not
    vote) and keep the solution with the best objective. With gold items the
    mirror-image solution is no longer equally good, so each worker's
    flipped votes are tried as well (``try_flipped_workers``).
    """
    starts = [majority]
    vote_counts = np.bincount(data.worker, minlength=data.worker_count)
    # Most active first; the stable sort keeps first-appearance order on ties.
    active_workers = np.argsort(-vote_counts, kind="stable")[:_WORKER_STARTS]
    for worker in active_workers:
        own_votes = data.worker == worker
        for flipped in (False, True) if try_flipped_workers else (False,):
            start = majority.copy()
            labels = data.label[own_votes]
            start[data.item[own_votes]] = 1.0 - labels if flipped else labels
            start[data.gold_items] = data.gold_labels
            starts.append(start)
    return starts


def _maximisation(data: _Votes, posteriors: FloatArray) -> tuple[float, FloatArray, FloatArray]:
    """Prevalence, sensitivities and specificities given posteriors (MAP)."""
    vote_posteriors = posteriors[data.item]
    positive_weight = np.bincount(data.worker, weights=vote_posteriors, minlength=data.worker_count)
    negative_weight = np.bincount(
        data.worker, weights=1.0 - vote_posteriors, minlength=data.worker_count
    )
    true_positives = np.bincount(
        data.worker, weights=vote_posteriors * data.label, minlength=data.worker_count
    )
    true_negatives = np.bincount(
        data.worker,
        weights=(1.0 - vote_posteriors) * (1.0 - data.label),
        minlength=data.worker_count,
    )
    sensitivity = (true_positives + _PSEUDO_COUNT) / (positive_weight + 2 * _PSEUDO_COUNT)
    specificity = (true_negatives + _PSEUDO_COUNT) / (negative_weight + 2 * _PSEUDO_COUNT)
    prevalence = float((posteriors.sum() + _PSEUDO_COUNT) / (data.item_count + 2 * _PSEUDO_COUNT))
    return prevalence, sensitivity, specificity


def _expectation(
    data: _Votes, prevalence: float, sensitivity: FloatArray, specificity: FloatArray
) -> tuple[FloatArray, float]:
    """Posteriors given parameters, and the log posterior density."""
    # Take logs once per worker, then look them up per vote.
    is_one = data.label == 1.0
    worker = data.worker
    log_if_one = np.where(is_one, np.log(sensitivity)[worker], np.log1p(-sensitivity)[worker])
    log_if_zero = np.where(is_one, np.log1p(-specificity)[worker], np.log(specificity)[worker])
    joint_one = np.log(prevalence) + np.bincount(
        data.item, weights=log_if_one, minlength=data.item_count
    )
    joint_zero = np.log1p(-prevalence) + np.bincount(
        data.item, weights=log_if_zero, minlength=data.item_count
    )
    evidence = np.logaddexp(joint_one, joint_zero)
    posteriors = np.exp(joint_one - evidence)
    # Gold items: the label is observed, so the likelihood is that of the
    # known class and the posterior is pinned.
    gold_joint = np.where(
        data.gold_labels == 1.0, joint_one[data.gold_items], joint_zero[data.gold_items]
    )
    evidence[data.gold_items] = gold_joint
    posteriors[data.gold_items] = data.gold_labels

    # Beta(2, 2) log densities up to a constant: log p + log(1 − p).
    log_prior = (
        np.log(prevalence)
        + np.log1p(-prevalence)
        + np.sum(np.log(sensitivity) + np.log1p(-sensitivity))
        + np.sum(np.log(specificity) + np.log1p(-specificity))
    )
    return posteriors, float(evidence.sum() + log_prior)


def _expectation_maximisation(
    data: _Votes, start: FloatArray, max_iterations: int, tolerance: float
) -> _Solution:
    posteriors = start
    prevalence, sensitivity, specificity = _maximisation(data, posteriors)
    objective = -np.inf
    iterations = 0
    converged = False
    while iterations < max_iterations:
        iterations += 1
        new_posteriors, objective = _expectation(data, prevalence, sensitivity, specificity)
        change = float(np.max(np.abs(new_posteriors - posteriors), initial=0.0))
        posteriors = new_posteriors
        prevalence, sensitivity, specificity = _maximisation(data, posteriors)
        if change <= tolerance:
            converged = True
            break
    # Report the objective of the parameters that go with the posteriors.
    posteriors, objective = _expectation(data, prevalence, sensitivity, specificity)
    return _Solution(
        posteriors, prevalence, sensitivity, specificity, objective, iterations, converged
    )


def _orient(
    data: _Votes,
    solution: _Solution,
    majority: FloatArray,
    max_iterations: int,
    tolerance: float,
) -> _Solution:
    """Choose between a solution and its mirror image (no voted gold items).

    Mirroring (posterior q → 1 − q, π → 1 − π, sensitivity ↔ 1 − specificity)
    leaves the objective unchanged, so the data cannot decide. We assume the
    typical vote comes from a worker better than chance: we keep the
    orientation in which the vote-weighted median of Youden's J
    (sensitivity + specificity − 1, positive for better than chance,
    negative for worse, 0 for a constant voter) is positive. A median rather
    than a mean, because a mean lets one always-wrong worker outweigh
    several good ones. If the median is 0, the vote-weighted mean of J
    decides, then closeness to the majority vote.
    """
    youden = solution.sensitivity + solution.specificity - 1.0
    weights = np.bincount(data.worker, minlength=data.worker_count).astype(np.float64)
    median = _weighted_median(youden, weights)
    if median == 0.0:
        median = float(np.average(youden, weights=weights))
    if median > 0.0:
        return solution
    if median == 0.0:
        distance = float(np.mean(np.abs(solution.posteriors - majority)))
        mirrored_distance = float(np.mean(np.abs(1.0 - solution.posteriors - majority)))
        if distance <= mirrored_distance:
            return solution
    if len(data.gold_items) == 0:
        return _Solution(
            posteriors=1.0 - solution.posteriors,
            prevalence=1.0 - solution.prevalence,
            sensitivity=1.0 - solution.specificity,
            specificity=1.0 - solution.sensitivity,
            objective=solution.objective,
            iterations=solution.iterations,
            converged=solution.converged,
        )
    # Gold items nobody voted on stay pinned, so the mirror image is not exact
    # (the prevalence shifts): let EM settle it from the mirrored posteriors.
    mirrored_posteriors = 1.0 - solution.posteriors
    mirrored_posteriors[data.gold_items] = data.gold_labels
    settled = _expectation_maximisation(data, mirrored_posteriors, max_iterations, tolerance)
    settled.iterations += solution.iterations
    return settled


def _weighted_median(values: FloatArray, weights: FloatArray) -> float:
    """Midpoint of the lower and upper weighted medians.

    The midpoint makes the median of −values exactly −median, which the
    mirror-image comparison relies on.
    """
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    cumulative = np.cumsum(weights[order])
    half = cumulative[-1] / 2.0
    lower = sorted_values[int(np.searchsorted(cumulative, half, side="left"))]
    upper = sorted_values[int(np.searchsorted(cumulative, half, side="right"))]
    return float((lower + upper) / 2.0)


def _result(
    data: _Votes,
    item_index: Mapping[ItemId, int],
    worker_index: Mapping[WorkerId, int],
    posteriors: FloatArray,
    prevalence: float,
    sensitivity: FloatArray,
    specificity: FloatArray,
    *,
    method: Literal["dawid_skene", "majority"],
    iterations: int,
    converged: bool,
    objective: float | None,
) -> DawidSkeneResult[ItemId, WorkerId]:
    vote_posteriors = posteriors[data.item]
    correct = data.label * vote_posteriors + (1.0 - data.label) * (1.0 - vote_posteriors)
    vote_counts = np.bincount(data.worker, minlength=data.worker_count)
    correct_sums = np.bincount(data.worker, weights=correct, minlength=data.worker_count)
    workers = {
        worker: WorkerReliability(
            sensitivity=float(sensitivity[index]),
            specificity=float(specificity[index]),
            accuracy=float(correct_sums[index] / vote_counts[index]),
            vote_count=int(vote_counts[index]),
        )
        for worker, index in worker_index.items()
    }
    return DawidSkeneResult(
        posteriors={item: float(posteriors[index]) for item, index in item_index.items()},
        workers=workers,
        prevalence=prevalence,
        method=method,
        iterations=iterations,
        converged=converged,
        log_likelihood=objective,
    )
