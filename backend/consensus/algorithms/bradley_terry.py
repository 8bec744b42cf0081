"""Bradley–Terry / Plackett–Luce strength scores from rankings.

The model (Luce 1959; Plackett 1975; Bradley & Terry 1952 for two items):
each candidate i has a log-strength θ_i, and a ranking c_1 > c_2 > … > c_k is
produced by repeatedly picking the best of the remaining candidates with
probability proportional to exp(θ):

    P(c_1 > … > c_k) = Π_{j<k} exp(θ_{c_j}) / Σ_{l≥j} exp(θ_{c_l})

A ranking of two candidates is exactly one Bradley–Terry comparison, so
pairwise preferences can be passed as two-element rankings.

We return the maximum a-posteriori estimate under the penalty
``regularization · Σ θ_i²`` (an isotropic Gaussian prior centred on zero),
that is the minimiser of

    regularization · Σ_i θ_i² − log P(rankings | θ).

This is the objective of choix's ``opt_rankings`` (Maystre & Grossglauser,
"Fast and accurate inference of Plackett–Luce models", NeurIPS 2015), and the
tests check that both give the same scores. We do not call choix here because
its objective, gradient and Hessian loop over the data in Python: 1,000
five-candidate rankings took over a minute, too slow for a request or a
periodic job, while the vectorised version below takes milliseconds. (choix's
fast ``ilsr_rankings`` regularises differently, by adding a constant rate to
its Markov chain, which has no clean likelihood reading.)

Without the penalty the maximum-likelihood estimate does not exist when a
candidate never wins (its strength runs off to minus infinity) or when the
comparison graph is disconnected; with it the objective is strictly convex,
the optimum is unique and every score finite. At the optimum Σ θ_i = 0 (the
likelihood's gradient sums to zero, so the penalty's must too); we subtract
the mean anyway so the scores are zero-centred to rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

C = TypeVar("C", bound=Hashable)

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

# Newton's method stops when every gradient component is below this. The
# Hessian's eigenvalues are at least 2·regularization, so the distance to the
# optimum is then below 1e-9 / (2·0.01) = 5e-8 at the default: far finer than
# any difference between candidates we would show.
_GRADIENT_TOLERANCE = 1e-9
# Damped Newton on a smooth strictly convex function needs a few dozen steps
# at most; the cap only turns a numerical pathology into an error.
_MAXIMUM_ITERATIONS = 200
# Below this Newton decrement (gᵀ H⁻¹ g, twice the predicted decrease) we are
# in the quadratically convergent region and take full steps: the objective's
# rounding noise would otherwise make the line search reject good steps.
_FULL_STEP_DECREMENT = 1e-8
_CONVERGED_DECREMENT = 1e-24


def bradley_terry_scores(
    rankings: Sequence[Sequence[C]], regularization: float = 0.01
) -> dict[C, float]:
    """Zero-centred Plackett–Luce log-strengths, one per candidate.

    Args:
        rankings: rankings, best first. They may cover different subsets of
            candidates; every candidate that appears anywhere gets a score. A
            two-element ranking is one pairwise comparison.
        regularization: weight of the ``Σ θ²`` penalty; must be positive so
            that scores stay finite for a candidate that never wins.

    Returns:
        ``{candidate: log-strength}`` in order of first appearance; the values
        sum to zero. exp(θ_a − θ_b) estimates the odds that a beats b. An
        empty input gives ``{}``; candidates never ranked against another
        candidate get 0.0 (the prior's centre).

    Raises:
        ValueError: when ``regularization`` is not positive or finite, or a
            ranking names a candidate more than once.
    """
    if not (regularization > 0 and np.isfinite(regularization)):
        raise ValueError("regularization must be positive and finite to keep scores finite")

    index_of: dict[C, int] = {}
    rankings_by_length: dict[int, list[list[int]]] = {}
    for ranking_number, ranking in enumerate(rankings):
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"ranking {ranking_number} names a candidate more than once")
        for candidate in ranking:
            index_of.setdefault(candidate, len(index_of))
        # A ranking of one candidate says nothing about relative strength.
        if len(ranking) >= 2:
            rankings_by_length.setdefault(len(ranking), []).append(
                [index_of[candidate] for candidate in ranking]
            )

    if not index_of:
        return {}
    if not rankings_by_length:
        return dict.fromkeys(index_of, 0.0)

    blocks = [np.asarray(block, dtype=np.intp) for block in rankings_by_length.values()]
    candidate_count = len(index_of)

    def objective_and_gradient(log_strengths: FloatArray) -> tuple[float, FloatArray]:
        value = float(regularization * np.dot(log_strengths, log_strengths))
        gradient = 2.0 * regularization * log_strengths
        for block in blocks:
            block_value, block_gradient = _negative_log_likelihood(
                log_strengths, block, candidate_count
            )
            value += block_value
            gradient += block_gradient
        return value, gradient

    def hessian(log_strengths: FloatArray) -> FloatArray:
        matrix = 2.0 * regularization * np.identity(candidate_count)
        for block in blocks:
            matrix += _negative_log_likelihood_hessian(log_strengths, block, candidate_count)
        return matrix

    parameters = _minimise_convex(objective_and_gradient, hessian, candidate_count)
    centred = parameters - parameters.mean()
    return {candidate: float(centred[index]) for candidate, index in index_of.items()}


def _negative_log_likelihood(
    log_strengths: FloatArray, rankings: IndexArray, candidate_count: int
) -> tuple[float, FloatArray]:
    """−log P and its gradient for equally long rankings (one row each).

    Stage j of a ranking picks column j out of columns j..k−1, so with
    L_j = log Σ_{l≥j} exp(θ_l) the ranking contributes Σ_{j<k−1} (L_j − θ_j).
    The derivative for the candidate in column l is
    Σ_{j ≤ min(l, k−2)} exp(θ_l − L_j), minus one if l < k−1 (it won stage l).
    Everything is computed in log space so large strengths cannot overflow.
    """
    length = rankings.shape[1]
    strengths = log_strengths[rankings]  # rows × length
    # L_j for every column: a log-sum-exp accumulated from the right.
    tail_log_sums = np.logaddexp.accumulate(strengths[:, ::-1], axis=1)[:, ::-1]
    stage_log_sums = tail_log_sums[:, : length - 1]  # the last column is no stage
    value = float(np.sum(stage_log_sums) - np.sum(strengths[:, : length - 1]))

    # log Σ_{j ≤ min(l, k−2)} exp(−L_j), for every column l.
    cumulative = np.logaddexp.accumulate(-stage_log_sums, axis=1)
    cumulative = np.concatenate([cumulative, cumulative[:, -1:]], axis=1)
    column_gradient = np.exp(strengths + cumulative)
    column_gradient[:, : length - 1] -= 1.0

    gradient = np.bincount(
        rankings.ravel(), weights=column_gradient.ravel(), minlength=candidate_count
    ).astype(np.float64)
    return value, gradient


def _negative_log_likelihood_hessian(
    log_strengths: FloatArray, rankings: IndexArray, candidate_count: int
) -> FloatArray:
    """Hessian of :func:`_negative_log_likelihood` for equally long rankings.

    Each stage with choice probabilities p adds diag(p) − p pᵀ. Summed over
    the stages of one ranking, the entry for columns l and m is
    [l = m] Σ_{j ≤ min(l, k−2)} exp(θ_l − L_j)
    − Σ_{j ≤ min(l, m, k−2)} exp(θ_l + θ_m − 2 L_j).
    """
    length = rankings.shape[1]
    strengths = log_strengths[rankings]
    tail_log_sums = np.logaddexp.accumulate(strengths[:, ::-1], axis=1)[:, ::-1]
    stage_log_sums = tail_log_sums[:, : length - 1]

    cumulative = np.logaddexp.accumulate(-stage_log_sums, axis=1)
    cumulative = np.concatenate([cumulative, cumulative[:, -1:]], axis=1)
    squared_cumulative = np.logaddexp.accumulate(-2.0 * stage_log_sums, axis=1)
    squared_cumulative = np.concatenate([squared_cumulative, squared_cumulative[:, -1:]], axis=1)

    columns = np.arange(length)
    earlier_column = np.minimum.outer(columns, columns)  # min(l, m)
    # rows × length × length: the p pᵀ part, then the diagonal part.
    entries = -np.exp(
        strengths[:, :, None] + strengths[:, None, :] + squared_cumulative[:, earlier_column]
    )
    entries[:, columns, columns] += np.exp(strengths + cumulative)

    row_candidates = np.broadcast_to(rankings[:, :, None], entries.shape)
    column_candidates = np.broadcast_to(rankings[:, None, :], entries.shape)
    flat_positions = (row_candidates * candidate_count + column_candidates).ravel()
    matrix = np.bincount(
        flat_positions, weights=entries.ravel(), minlength=candidate_count * candidate_count
    )
    return matrix.reshape(candidate_count, candidate_count).astype(np.float64)


def _minimise_convex(
    objective_and_gradient: Callable[[FloatArray], tuple[float, FloatArray]],
    hessian: Callable[[FloatArray], FloatArray],
    dimension: int,
) -> FloatArray:
    """Damped Newton's method with backtracking (Boyd & Vandenberghe, §9.5).

    Written out rather than taken from scipy.optimize: with an objective in
    the thousands, scipy's L-BFGS and trust-region methods stop early when
    the predicted decrease falls below the objective's rounding error, while
    the gradient can still be driven to zero here.
    """
    point = np.zeros(dimension)
    for _ in range(_MAXIMUM_ITERATIONS):
        value, gradient = objective_and_gradient(point)
        if np.max(np.abs(gradient)) <= _GRADIENT_TOLERANCE:
            return point
        step = np.linalg.solve(hessian(point), gradient)
        decrement = float(gradient @ step)
        if decrement <= _CONVERGED_DECREMENT:
            # The remaining predicted improvement is below rounding: this is
            # Boyd & Vandenberghe's stopping rule, for data so large that the
            # gradient's own rounding noise exceeds the tolerance above.
            return point
        scale = 1.0
        if decrement > _FULL_STEP_DECREMENT:
            # Armijo backtracking with the textbook constants 1/4 and 1/2.
            while (
                objective_and_gradient(point - scale * step)[0] > value - 0.25 * scale * decrement
                and scale > 1e-12
            ):
                scale *= 0.5
        point = point - scale * step
        if not np.all(np.isfinite(point)):
            break
    raise RuntimeError("Plackett–Luce estimation did not converge")
