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
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.special import expit

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
    """The votes as parallel arrays of item index, worker index and label.

    ``incidence`` is the items × (2 · workers) 0/1 matrix with a one at (item,
    2·worker + label) for every vote: one sparse product with it sums, per
    item, a per-(worker, label) quantity over the item's votes (the E-step),
    and its transpose sums a per-item quantity per worker and label (the
    M-step). This is the same arithmetic as gathering per vote and summing
    with ``bincount``, a few times faster on large data.
    """

    item: IndexArray
    worker: IndexArray
    label: FloatArray
    item_count: int
    worker_count: int
    gold_items: IndexArray
    gold_labels: FloatArray
    incidence: sparse.csr_matrix = field(init=False)
    incidence_transposed: sparse.csr_matrix = field(init=False)
    votes_per_worker: FloatArray = field(init=False)
    zero_votes_per_worker: FloatArray = field(init=False)

    def __post_init__(self) -> None:
        columns = 2 * self.worker + self.label.astype(np.intp)
        self.incidence = sparse.csr_matrix(
            (np.ones(len(self.item)), (self.item, columns)),
            shape=(self.item_count, 2 * self.worker_count),
        )
        self.incidence_transposed = self.incidence.T.tocsr()
        self.votes_per_worker = np.bincount(self.worker, minlength=self.worker_count).astype(
            np.float64
        )
        self.zero_votes_per_worker = np.bincount(
            self.worker, weights=1.0 - self.label, minlength=self.worker_count
        ).astype(np.float64)


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

    fit = dawid_skene_binary_indexed(
        items=np.fromiter(
            (item_index[item] for item, _, _ in votes), dtype=np.intp, count=len(votes)
        ),
        workers=np.fromiter(
            (worker_index[worker] for _, worker, _ in votes), dtype=np.intp, count=len(votes)
        ),
        labels=np.fromiter((int(label) for _, _, label in votes), dtype=np.intp, count=len(votes)),
        item_count=len(item_index),
        worker_count=len(worker_index),
        gold_items=np.fromiter((item_index[item] for item in gold), dtype=np.intp, count=len(gold)),
        gold_labels=np.fromiter(
            (int(label) for label in gold.values()), dtype=np.intp, count=len(gold)
        ),
        min_overlap=min_overlap,
        max_iterations=max_iterations,
        tolerance=tolerance,
    )
    workers = {
        worker: WorkerReliability(
            sensitivity=float(fit.sensitivity[index]),
            specificity=float(fit.specificity[index]),
            accuracy=float(fit.accuracy[index]),
            vote_count=int(fit.vote_counts[index]),
        )
        for worker, index in worker_index.items()
    }
    return DawidSkeneResult(
        posteriors={item: float(fit.posteriors[index]) for item, index in item_index.items()},
        workers=workers,
        prevalence=fit.prevalence,
        method=fit.method,
        iterations=fit.iterations,
        converged=fit.converged,
        log_likelihood=fit.log_likelihood,
    )


@dataclass(frozen=True)
class IndexedDawidSkeneResult:
    """Outcome of :func:`dawid_skene_binary_indexed`, as arrays by index.

    The same quantities as :class:`DawidSkeneResult`; ``posteriors`` is
    indexed by item, the worker arrays by worker, ``vote_counts`` counts each
    worker's votes.
    """

    posteriors: FloatArray
    sensitivity: FloatArray
    specificity: FloatArray
    accuracy: FloatArray
    vote_counts: IndexArray
    prevalence: float
    method: Literal["dawid_skene", "majority"]
    iterations: int
    converged: bool
    log_likelihood: float | None


def dawid_skene_binary_indexed(
    *,
    items: NDArray[np.integer],
    workers: NDArray[np.integer],
    labels: NDArray[np.integer],
    item_count: int,
    worker_count: int,
    gold_items: NDArray[np.integer] | None = None,
    gold_labels: NDArray[np.integer] | None = None,
    min_overlap: int = 20,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
) -> IndexedDawidSkeneResult:
    """:func:`dawid_skene_binary` for votes already numbered 0…n−1.

    For large data (hundreds of thousands of votes) this skips building
    dictionaries of ids. ``items``, ``workers`` and ``labels`` are parallel
    arrays, one entry per vote; items and workers are indices below
    ``item_count`` and ``worker_count``. Where the data does not decide (equal
    vote counts among the most active workers, see ``_starting_points``),
    lower worker indices come first, so number workers in a canonical order
    (e.g. by id) for a result that does not depend on the order of the votes.

    Raises:
        ValueError: for a label or gold label other than 0 or 1, an index out
            of range, or a worker voting twice on the same item.
    """
    item_array = np.asarray(items, dtype=np.intp)
    worker_array = np.asarray(workers, dtype=np.intp)
    label_array = np.asarray(labels)
    gold_item_array = np.asarray([] if gold_items is None else gold_items, dtype=np.intp)
    gold_label_array = np.asarray([] if gold_labels is None else gold_labels)
    if not (len(item_array) == len(worker_array) == len(label_array)):
        raise ValueError("items, workers and labels must have one entry per vote")
    if len(gold_item_array) != len(gold_label_array):
        raise ValueError("gold_items and gold_labels must have the same length")
    if np.any((label_array != 0) & (label_array != 1)):
        raise ValueError("vote labels must be 0 or 1")
    if np.any((gold_label_array != 0) & (gold_label_array != 1)):
        raise ValueError("gold labels must be 0 or 1")
    if len(item_array) and (
        item_array.min() < 0
        or item_array.max() >= item_count
        or worker_array.min() < 0
        or worker_array.max() >= worker_count
    ):
        raise ValueError("an item or worker index is out of range")
    if len(gold_item_array) and (gold_item_array.min() < 0 or gold_item_array.max() >= item_count):
        raise ValueError("a gold item index is out of range")
    pair_codes = item_array.astype(np.int64) * max(worker_count, 1) + worker_array
    if len(np.unique(pair_codes)) != len(pair_codes):
        raise ValueError("a worker voted more than once on the same item")

    data = _Votes(
        item=item_array,
        worker=worker_array,
        label=label_array.astype(np.float64),
        item_count=item_count,
        worker_count=worker_count,
        gold_items=gold_item_array,
        gold_labels=gold_label_array.astype(np.float64),
    )

    workers_per_item = np.bincount(data.item, minlength=data.item_count)
    overlap = int(np.count_nonzero(workers_per_item >= 2))
    majority = _majority_posteriors(data)

    if overlap < min_overlap or data.worker_count < 2:
        prevalence, sensitivity, specificity = _maximisation(data, majority)
        return _result(
            data,
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
    # Per worker and label, the sum of the posteriors of the items voted on.
    sums = (data.incidence_transposed @ posteriors).reshape(data.worker_count, 2)
    positive_weight = sums[:, 0] + sums[:, 1]
    negative_weight = data.votes_per_worker - positive_weight
    true_positives = sums[:, 1]
    true_negatives = data.zero_votes_per_worker - sums[:, 0]
    sensitivity = (true_positives + _PSEUDO_COUNT) / (positive_weight + 2 * _PSEUDO_COUNT)
    specificity = (true_negatives + _PSEUDO_COUNT) / (negative_weight + 2 * _PSEUDO_COUNT)
    prevalence = float((posteriors.sum() + _PSEUDO_COUNT) / (data.item_count + 2 * _PSEUDO_COUNT))
    return prevalence, sensitivity, specificity


def _expectation(
    data: _Votes, prevalence: float, sensitivity: FloatArray, specificity: FloatArray
) -> tuple[FloatArray, float]:
    """Posteriors given parameters, and the log posterior density."""
    # log P(vote | true label) per worker and vote label, summed per item.
    log_if_one = np.column_stack([np.log1p(-sensitivity), np.log(sensitivity)]).ravel()
    log_if_zero = np.column_stack([np.log(specificity), np.log1p(-specificity)]).ravel()
    joint_one = np.log(prevalence) + data.incidence @ log_if_one
    joint_zero = np.log1p(-prevalence) + data.incidence @ log_if_zero
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


def _posteriors(
    data: _Votes, prevalence: float, sensitivity: FloatArray, specificity: FloatArray
) -> FloatArray:
    """The posteriors of :func:`_expectation` without its objective.

    EM's inner loop needs only these: P(y = 1 | votes) is the logistic function
    of the log-odds, which one sparse product gives, so this skips the second
    product and the log-sum-exp that the objective needs.
    """
    log_odds_per_vote = np.column_stack(
        [
            np.log1p(-sensitivity) - np.log(specificity),
            np.log(sensitivity) - np.log1p(-specificity),
        ]
    ).ravel()
    log_odds = np.log(prevalence) - np.log1p(-prevalence) + data.incidence @ log_odds_per_vote
    posteriors: FloatArray = expit(log_odds)
    posteriors[data.gold_items] = data.gold_labels
    return posteriors


def _expectation_maximisation(
    data: _Votes, start: FloatArray, max_iterations: int, tolerance: float
) -> _Solution:
    posteriors = start
    prevalence, sensitivity, specificity = _maximisation(data, posteriors)
    iterations = 0
    converged = False
    while iterations < max_iterations:
        iterations += 1
        new_posteriors = _posteriors(data, prevalence, sensitivity, specificity)
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
    posteriors: FloatArray,
    prevalence: float,
    sensitivity: FloatArray,
    specificity: FloatArray,
    *,
    method: Literal["dawid_skene", "majority"],
    iterations: int,
    converged: bool,
    objective: float | None,
) -> IndexedDawidSkeneResult:
    # A vote is correct with probability q for a 1 and 1 − q for a 0.
    sums = (data.incidence_transposed @ posteriors).reshape(data.worker_count, 2)
    correct_sums = sums[:, 1] + (data.zero_votes_per_worker - sums[:, 0])
    vote_counts = np.bincount(data.worker, minlength=data.worker_count)
    accuracy = np.divide(
        correct_sums,
        vote_counts,
        out=np.zeros(data.worker_count),
        where=vote_counts > 0,
    )
    return IndexedDawidSkeneResult(
        posteriors=posteriors,
        sensitivity=sensitivity,
        specificity=specificity,
        accuracy=accuracy,
        vote_counts=vote_counts,
        prevalence=prevalence,
        method=method,
        iterations=iterations,
        converged=converged,
        log_likelihood=objective,
    )
