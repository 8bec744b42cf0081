"""Ranking consensus for many small sibling groups at once, vectorised with NumPy.

A project has hundreds of thousands of sibling groups of two to five replies, each
ranked by a handful of people. Calling :func:`ranked_pairs` and
:func:`bradley_terry_scores` once per group costs a fraction of a millisecond each
in Python overhead, minutes in all; here the groups are processed in arrays, one
bucket per group size, and give the same results (the tests compare every output
with the per-group reference functions on random data).

For each group, :func:`score_ranking_groups` returns:

* the ranked pairs order, margins, smallest locked margin and ``tie_resolved``,
  exactly as :func:`ranked_pairs` defines them;
* Plackett–Luce log-strengths, the minimiser of the objective of
  :func:`bradley_terry_scores` (same penalty, same Newton iteration and stopping
  rules, run for all groups of a bucket together: the problems are independent,
  so the Hessian is block diagonal);
* Kendall's W of the group's ballots (None with fewer than two voters);
* for every ballot, Kendall's τ between it and the ranked pairs consensus of the
  group's OTHER ballots (leave-one-out; None with fewer than two voters). Ballots
  are strict full rankings, so τ-b equals τ-a here.

Why the fast path gives the ranked pairs result: every unordered pair of candidates
is considered by ranked pairs in exactly one direction — toward the winner of its
margin, or toward the candidate ranked higher by the earliest ballot when the margin
is zero — so the considered pairs form a tournament. When that tournament has no
cycle (all out-degrees differ), no pair is ever skipped, every pair is locked, and
the result is the tournament's unique topological order: candidates sorted by
out-degree. Then ties among equal margins cannot conflict, so ``tie_resolved`` is
only whether some neighbours in the order are separated by a zero margin. Groups
whose tournament has a cycle (a Condorcet cycle, a few percent of groups) and groups
whose ballots do not all rank the same candidates go through :func:`ranked_pairs`
itself.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from backend.consensus.algorithms.agreement import kendalls_w
from backend.consensus.algorithms.bradley_terry import bradley_terry_scores
from backend.consensus.algorithms.ranked_pairs import ranked_pairs

C = TypeVar("C", bound=Hashable)

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

# The stopping rules of ``bradley_terry._minimise_convex``, kept identical so that
# both give the same scores.
_GRADIENT_TOLERANCE = 1e-9
_MAXIMUM_ITERATIONS = 200
_FULL_STEP_DECREMENT = 1e-8
_CONVERGED_DECREMENT = 1e-24


@dataclass(frozen=True)
class GroupRanking(Generic[C]):
    """The consensus of one sibling group.

    Attributes:
        order: the ranked pairs order, best first (the candidates on every ballot).
        margins: ``margins[a][b]``: voters preferring ``order[a]`` to ``order[b]``
            minus voters preferring ``order[b]`` to ``order[a]``.
        min_locked_margin: as :class:`RankedPairsResult` (None for one candidate).
        tie_resolved: as :class:`RankedPairsResult`.
        scores: Plackett–Luce log-strength of each candidate of ``order``, in that
            order; zero-centred within the group.
        kendalls_w: Kendall's W of the ballots; None with fewer than two voters.
        ballot_taus: per ballot, in the order given, Kendall's τ against the
            ranked pairs order of the other ballots; None with one voter.
    """

    order: tuple[C, ...]
    margins: tuple[tuple[int, ...], ...]
    min_locked_margin: int | None
    tie_resolved: bool
    scores: tuple[float, ...]
    kendalls_w: float | None
    ballot_taus: tuple[float | None, ...]


def score_ranking_groups(
    groups: Sequence[Sequence[Sequence[C]]], regularization: float = 0.01
) -> list[GroupRanking[C]]:
    """Score every group; ``groups[g]`` is that group's ballots, earliest first.

    Each ballot is a ranking, best first. The candidates of a group are those on
    every one of its ballots (as in :func:`ranked_pairs`); ballots are restricted to
    them for every output.

    Raises:
        ValueError: for a group without ballots, a ballot naming a candidate twice,
            or a non-positive regularization.
    """
    if not (regularization > 0 and np.isfinite(regularization)):
        raise ValueError("regularization must be positive and finite to keep scores finite")
    results: list[GroupRanking[C] | None] = [None] * len(groups)
    buckets: dict[int, list[int]] = {}
    for group_index, ballots in enumerate(groups):
        if len(ballots) == 0:
            raise ValueError(f"group {group_index} has no ballots")
        first = ballots[0]
        candidates = set(first)
        size = len(first)
        uniform = (
            size >= 2
            and len(candidates) == size
            and all(len(ballot) == size and set(ballot) == candidates for ballot in ballots)
        )
        if uniform:
            buckets.setdefault(size, []).append(group_index)
        else:
            results[group_index] = _score_group_reference(ballots, regularization)
    for size, group_indices in sorted(buckets.items()):
        for group_index, result in zip(
            group_indices,
            _score_bucket([groups[index] for index in group_indices], size, regularization),
            strict=True,
        ):
            results[group_index] = result
    return [result for result in results if result is not None]


# --- The reference path: one group at a time ------------------------------------------


def _score_group_reference(
    ballots: Sequence[Sequence[C]], regularization: float
) -> GroupRanking[C]:
    for ballot_index, ballot in enumerate(ballots):
        if len(set(ballot)) != len(ballot):
            raise ValueError(f"ballot {ballot_index} names a candidate more than once")
    result = ranked_pairs(ballots)
    order = result.order
    common = set(order)
    restricted = [[candidate for candidate in ballot if candidate in common] for ballot in ballots]
    margins = tuple(
        tuple(0 if first == second else result.margins[(first, second)] for second in order)
        for first in order
    )
    if len(order) < 2:
        scores = tuple(0.0 for _ in order)
        return GroupRanking(
            order=order,
            margins=margins,
            min_locked_margin=result.min_locked_margin,
            tie_resolved=result.tie_resolved,
            scores=scores,
            kendalls_w=None,
            ballot_taus=tuple(None for _ in ballots),
        )
    strengths = bradley_terry_scores(restricted, regularization=regularization)
    position_rows = [
        [ballot.index(candidate) for candidate in order] for ballot in restricted
    ]
    taus: list[float | None] = []
    for left_out, ballot in enumerate(restricted):
        others = restricted[:left_out] + restricted[left_out + 1 :]
        if not others:
            taus.append(None)
            continue
        consensus = ranked_pairs(others).order
        taus.append(_tau(ballot, consensus))
    return GroupRanking(
        order=order,
        margins=margins,
        min_locked_margin=result.min_locked_margin,
        tie_resolved=result.tie_resolved,
        scores=tuple(strengths[candidate] for candidate in order),
        kendalls_w=kendalls_w(position_rows) if len(ballots) >= 2 else None,
        ballot_taus=tuple(taus),
    )


def _tau(ballot: Sequence[C], consensus: Sequence[C]) -> float:
    """Kendall's τ between two strict rankings of the same candidates."""
    position = {candidate: index for index, candidate in enumerate(consensus)}
    ranks = [position[candidate] for candidate in ballot]
    pairs = len(ranks) * (len(ranks) - 1) // 2
    concordant = sum(
        1 if ranks[first] < ranks[second] else -1
        for first in range(len(ranks))
        for second in range(first + 1, len(ranks))
    )
    return concordant / pairs


# --- The vectorised path: all groups of one size ----------------------------------------


def _score_bucket(
    groups: Sequence[Sequence[Sequence[C]]], size: int, regularization: float
) -> list[GroupRanking[C]]:
    """Groups whose ballots all rank the same ``size`` candidates."""
    # Candidates are numbered by their place on the group's earliest ballot, which
    # is also the tie-breaking ranking of candidates: a lower number ranks higher.
    local_rows: list[list[int]] = []
    ballot_counts: list[int] = []
    for ballots in groups:
        number = {candidate: index for index, candidate in enumerate(ballots[0])}
        for ballot in ballots:
            local_rows.append([number[candidate] for candidate in ballot])
        ballot_counts.append(len(ballots))
    # ranked[n, r]: the candidate ballot n puts in place r; place[n, i]: where it
    # puts candidate i.
    ranked = np.asarray(local_rows, dtype=np.intp).reshape(len(local_rows), size)
    place = np.argsort(ranked, axis=1).astype(np.intp)
    counts = np.asarray(ballot_counts, dtype=np.intp)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    group_of_ballot = np.repeat(np.arange(len(groups)), counts)

    # preference[n, i, j] = +1 when ballot n puts i above j, −1 below, 0 for i = j.
    preference = np.sign(place[:, None, :] - place[:, :, None]).astype(np.int32)
    margins = np.add.reduceat(preference, starts, axis=0)

    identity_ranking = np.broadcast_to(np.arange(size), (len(groups), size))
    consensus_place, acyclic = _tournament_places(margins, identity_ranking)

    strengths = _plackett_luce(ranked, place, starts, len(groups), size, regularization)
    concordance = _kendalls_w(place, starts, counts, size)
    taus = _leave_one_out_taus(
        ranked, place, preference, margins, starts, counts, group_of_ballot, size
    )

    results: list[GroupRanking[C]] = []
    for group_index, ballots in enumerate(groups):
        if not acyclic[group_index]:
            # A cycle among the pairs: ranked pairs has to skip some, so run it.
            results.append(_score_group_reference(ballots, regularization))
            continue
        order_local = np.argsort(consensus_place[group_index], kind="stable")
        group_margins = margins[group_index][np.ix_(order_local, order_local)]
        positive = group_margins[group_margins > 0]
        neighbours = group_margins[np.arange(size - 1), np.arange(1, size)]
        first_ballot = ballots[0]
        start = int(starts[group_index])
        results.append(
            GroupRanking(
                order=tuple(first_ballot[int(index)] for index in order_local),
                margins=tuple(tuple(int(value) for value in row) for row in group_margins),
                min_locked_margin=int(positive.min()) if positive.size else 0,
                tie_resolved=bool(np.any(neighbours <= 0)),
                scores=tuple(float(strengths[group_index, index]) for index in order_local),
                kendalls_w=(
                    None if np.isnan(concordance[group_index]) else float(concordance[group_index])
                ),
                ballot_taus=tuple(
                    None if np.isnan(value) else float(value)
                    for value in taus[start : start + len(ballots)]
                ),
            )
        )
    return results


def _tournament_places(
    margins: NDArray[np.int32], tie_breaking_place: NDArray[np.intp]
) -> tuple[IndexArray, NDArray[np.bool_]]:
    """Consensus place of every candidate, and whether the tournament is acyclic.

    i beats j when its margin over j is positive, or zero and i ranks higher on the
    tie-breaking ballot (``tie_breaking_place[g, i] < tie_breaking_place[g, j]``).
    In an acyclic tournament a candidate's place is the number of candidates that
    beat it.
    """
    size = margins.shape[-1]
    tie_break = tie_breaking_place[:, :, None] < tie_breaking_place[:, None, :]
    beats = (margins > 0) | ((margins == 0) & tie_break)
    beats[:, np.arange(size), np.arange(size)] = False
    out_degree = beats.sum(axis=2)
    acyclic = np.all(np.sort(out_degree, axis=1) == np.arange(size), axis=1)
    return (size - 1 - out_degree).astype(np.intp), acyclic


def _kendalls_w(place: IndexArray, starts: IndexArray, counts: IndexArray, size: int) -> FloatArray:
    """Kendall's W per group (no ties on strict rankings); NaN with one voter."""
    rank_sums = np.add.reduceat(place + 1, starts, axis=0).astype(np.float64)
    voters = counts.astype(np.float64)
    deviations = rank_sums - (voters * (size + 1) / 2.0)[:, None]
    spread = np.sum(deviations**2, axis=1)
    concordance = 12.0 * spread / (voters**2 * (size**3 - size))
    concordance[counts < 2] = np.nan
    return concordance


def _leave_one_out_taus(
    ranked: IndexArray,
    place: IndexArray,
    preference: NDArray[np.int32],
    margins: NDArray[np.int32],
    starts: IndexArray,
    counts: IndexArray,
    group_of_ballot: IndexArray,
    size: int,
) -> FloatArray:
    """τ of each ballot against the ranked pairs order of its group's other ballots."""
    ballot_count = len(ranked)
    taus = np.full(ballot_count, np.nan)
    shared = counts[group_of_ballot] >= 2
    if not np.any(shared):
        return taus
    others_margins = margins[group_of_ballot] - preference
    # The earliest remaining ballot breaks ties: the group's first ballot, unless
    # it is the one left out, then the second.
    is_first = np.zeros(ballot_count, dtype=bool)
    is_first[starts] = True
    tie_breaking_place = np.broadcast_to(np.arange(size), (ballot_count, size)).copy()
    replaced = np.flatnonzero(is_first & shared)
    tie_breaking_place[replaced] = place[replaced + 1]
    consensus_place, acyclic = _tournament_places(others_margins, tie_breaking_place)

    for ballot_index in np.flatnonzero(shared & ~acyclic):
        group_index = int(group_of_ballot[ballot_index])
        start = int(starts[group_index])
        others = [
            list(ranked[other])
            for other in range(start, start + int(counts[group_index]))
            if other != ballot_index
        ]
        order = ranked_pairs(others).order
        consensus_place[ballot_index, list(order)] = np.arange(size)

    ballot_sign = np.sign(place[:, :, None] - place[:, None, :])
    consensus_sign = np.sign(consensus_place[:, :, None] - consensus_place[:, None, :])
    agreement = np.sum(ballot_sign * consensus_sign, axis=(1, 2)) / (size * (size - 1))
    taus[shared] = agreement[shared]
    return taus


def _plackett_luce(
    ranked: IndexArray,
    place: IndexArray,
    starts: IndexArray,
    group_count: int,
    size: int,
    regularization: float,
) -> FloatArray:
    """Zero-centred MAP log-strengths per group (rows) and local candidate (columns).

    Damped Newton with Armijo backtracking, per group exactly as in
    ``bradley_terry._minimise_convex``: a group stops when its gradient or Newton
    decrement is small enough, and the step length is chosen per group.
    """
    parameters = np.zeros((group_count, size))
    active = np.ones(group_count, dtype=bool)
    group_of_ballot = np.repeat(np.arange(group_count), np.diff(np.append(starts, len(ranked))))
    identity = np.identity(size)
    for _ in range(_MAXIMUM_ITERATIONS):
        value, gradient = _objective(parameters, ranked, place, starts, group_of_ballot, regularization)
        converged = np.max(np.abs(gradient), axis=1) <= _GRADIENT_TOLERANCE
        active &= ~converged
        if not np.any(active):
            break
        hessian = _hessian(parameters, ranked, place, starts, group_of_ballot) + (
            2.0 * regularization * identity
        )
        step = np.zeros_like(parameters)
        step[active] = np.linalg.solve(hessian[active], gradient[active][:, :, None])[:, :, 0]
        decrement = np.einsum("gi,gi->g", gradient, step)
        active &= decrement > _CONVERGED_DECREMENT
        if not np.any(active):
            break
        scale = np.where(active, 1.0, 0.0)
        searching = active & (decrement > _FULL_STEP_DECREMENT)
        while np.any(searching):
            trial_value, _ = _objective(
                parameters - scale[:, None] * step,
                ranked,
                place,
                starts,
                group_of_ballot,
                regularization,
            )
            too_long = (
                searching
                & (trial_value > value - 0.25 * scale * decrement)
                & (scale > 1e-12)
            )
            scale[too_long] *= 0.5
            searching = too_long
        parameters = parameters - scale[:, None] * step
        if not np.all(np.isfinite(parameters)):
            raise RuntimeError("Plackett–Luce estimation did not converge")
    else:
        if np.any(active):
            raise RuntimeError("Plackett–Luce estimation did not converge")
    return parameters - parameters.mean(axis=1, keepdims=True)


def _objective(
    parameters: FloatArray,
    ranked: IndexArray,
    place: IndexArray,
    starts: IndexArray,
    group_of_ballot: IndexArray,
    regularization: float,
) -> tuple[FloatArray, FloatArray]:
    """Per group: the penalised negative log-likelihood and its gradient.

    The formulas of ``bradley_terry._negative_log_likelihood``, one ballot per row.
    """
    size = ranked.shape[1]
    strengths = np.take_along_axis(parameters[group_of_ballot], ranked, axis=1)
    tail_log_sums = np.logaddexp.accumulate(strengths[:, ::-1], axis=1)[:, ::-1]
    stage_log_sums = tail_log_sums[:, : size - 1]
    ballot_values = np.sum(stage_log_sums, axis=1) - np.sum(strengths[:, : size - 1], axis=1)
    cumulative = np.logaddexp.accumulate(-stage_log_sums, axis=1)
    cumulative = np.concatenate([cumulative, cumulative[:, -1:]], axis=1)
    column_gradient = np.exp(strengths + cumulative)
    column_gradient[:, : size - 1] -= 1.0
    # Back from places to candidates: candidate i sits in column place[n, i].
    ballot_gradient = np.take_along_axis(column_gradient, place, axis=1)
    value = np.add.reduceat(ballot_values, starts) + regularization * np.sum(
        parameters**2, axis=1
    )
    gradient = np.add.reduceat(ballot_gradient, starts, axis=0) + 2.0 * regularization * parameters
    return value, gradient


def _hessian(
    parameters: FloatArray,
    ranked: IndexArray,
    place: IndexArray,
    starts: IndexArray,
    group_of_ballot: IndexArray,
) -> FloatArray:
    """Per group: the Hessian of the negative log-likelihood (penalty not included).

    The formulas of ``bradley_terry._negative_log_likelihood_hessian``.
    """
    size = ranked.shape[1]
    strengths = np.take_along_axis(parameters[group_of_ballot], ranked, axis=1)
    tail_log_sums = np.logaddexp.accumulate(strengths[:, ::-1], axis=1)[:, ::-1]
    stage_log_sums = tail_log_sums[:, : size - 1]
    cumulative = np.logaddexp.accumulate(-stage_log_sums, axis=1)
    cumulative = np.concatenate([cumulative, cumulative[:, -1:]], axis=1)
    squared_cumulative = np.logaddexp.accumulate(-2.0 * stage_log_sums, axis=1)
    squared_cumulative = np.concatenate([squared_cumulative, squared_cumulative[:, -1:]], axis=1)
    columns = np.arange(size)
    earlier_column = np.minimum.outer(columns, columns)
    entries = -np.exp(
        strengths[:, :, None] + strengths[:, None, :] + squared_cumulative[:, earlier_column]
    )
    entries[:, columns, columns] += np.exp(strengths + cumulative)
    # entries are indexed by places; candidate (i, j) is at (place[n, i], place[n, j]).
    by_candidate = np.take_along_axis(entries, place[:, :, None], axis=1)
    by_candidate = np.take_along_axis(by_candidate, place[:, None, :], axis=2)
    return np.add.reduceat(by_candidate, starts, axis=0)
