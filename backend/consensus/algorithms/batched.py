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
    position_rows = [[ballot.index(candidate) for candidate in order] for ballot in restricted]
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
    ranked, place, counts = _local_ballots(groups, size)
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

    # Everything below per group at once, then converted to Python lists in one go.
    group_count = len(groups)
    order_local = np.argsort(consensus_place, axis=1, kind="stable")
    ordered_margins = np.take_along_axis(margins, order_local[:, :, None], axis=1)
    ordered_margins = np.take_along_axis(ordered_margins, order_local[:, None, :], axis=2)
    positive_minimum = np.where(ordered_margins > 0, ordered_margins, np.iinfo(np.int32).max).min(
        axis=(1, 2)
    )
    has_positive = np.any(ordered_margins > 0, axis=(1, 2))
    neighbours = ordered_margins[:, np.arange(size - 1), np.arange(1, size)]
    tie_resolved = np.any(neighbours <= 0, axis=1)
    ordered_scores = np.take_along_axis(strengths, order_local, axis=1)

    order_lists = order_local.tolist()
    margin_lists = ordered_margins.tolist()
    minimum_list = np.where(has_positive, positive_minimum, 0).tolist()
    tie_list = tie_resolved.tolist()
    score_lists = ordered_scores.tolist()
    concordance_list = [None if np.isnan(value) else value for value in concordance.tolist()]
    tau_list = [None if np.isnan(value) else value for value in taus.tolist()]
    start_list = starts.tolist()

    results: list[GroupRanking[C]] = []
    for group_index in range(group_count):
        ballots = groups[group_index]
        start = start_list[group_index]
        ballot_taus = tuple(tau_list[start : start + len(ballots)])
        if not acyclic[group_index]:
            # A cycle among the pairs: ranked pairs has to skip some, so run it. The
            # scores, W and τ do not depend on the order and stay vectorised.
            reference = ranked_pairs(ballots)
            strength_of = dict(zip(ballots[0], strengths[group_index].tolist(), strict=True))
            results.append(
                GroupRanking(
                    order=reference.order,
                    margins=tuple(
                        tuple(
                            0 if first == second else reference.margins[(first, second)]
                            for second in reference.order
                        )
                        for first in reference.order
                    ),
                    min_locked_margin=reference.min_locked_margin,
                    tie_resolved=reference.tie_resolved,
                    scores=tuple(strength_of[candidate] for candidate in reference.order),
                    kendalls_w=concordance_list[group_index],
                    ballot_taus=ballot_taus,
                )
            )
            continue
        first_ballot = ballots[0]
        results.append(
            GroupRanking(
                order=tuple(first_ballot[index] for index in order_lists[group_index]),
                margins=tuple(tuple(row) for row in margin_lists[group_index]),
                min_locked_margin=minimum_list[group_index],
                tie_resolved=tie_list[group_index],
                scores=tuple(score_lists[group_index]),
                kendalls_w=concordance_list[group_index],
                ballot_taus=ballot_taus,
            )
        )
    return results


def _local_ballots(
    groups: Sequence[Sequence[Sequence[C]]], size: int
) -> tuple[IndexArray, IndexArray, IndexArray]:
    """Ballots with candidates numbered by their place on the group's earliest ballot.

    That numbering is also the tie-breaking ranking of candidates: a lower number
    ranks higher. Returns ``ranked[n, r]`` (the candidate ballot n puts in place r),
    ``place[n, i]`` (where ballot n puts candidate i) and the ballots per group.
    """
    local_rows: list[list[int]] = []
    ballot_counts: list[int] = []
    for ballots in groups:
        number = {candidate: index for index, candidate in enumerate(ballots[0])}
        for ballot in ballots:
            local_rows.append([number[candidate] for candidate in ballot])
        ballot_counts.append(len(ballots))
    ranked = np.asarray(local_rows, dtype=np.intp).reshape(len(local_rows), size)
    place = np.argsort(ranked, axis=1).astype(np.intp)
    return ranked, place, np.asarray(ballot_counts, dtype=np.intp)


def ranking_pair_judgements(
    groups: Sequence[Sequence[Sequence[C]]],
) -> tuple[NDArray[np.int64], NDArray[np.int8], NDArray[np.intp]]:
    """Every ballot's verdict on every pair of its group's candidates, in long form.

    For Krippendorff's alpha "over sibling pairs": a unit is one pair of candidates
    of one group, and each ballot judges it 1 (the candidate listed first on the
    group's earliest ballot wins) or 0. Returns ``(units, values, group_of_unit)``,
    one entry of ``units``/``values`` per judgement. Candidates are restricted to
    those on every ballot of the group, as everywhere else.
    """
    unit_parts: list[NDArray[np.int64]] = []
    value_parts: list[NDArray[np.int8]] = []
    group_parts: list[NDArray[np.intp]] = []
    next_unit = 0
    by_size: dict[int, list[int]] = {}
    restricted_groups: list[list[list[C]]] = []
    for ballots in groups:
        common = set(ballots[0]).intersection(*ballots[1:])
        restricted_groups.append(
            [[candidate for candidate in ballot if candidate in common] for ballot in ballots]
        )
    for group_index, ballots in enumerate(restricted_groups):
        if len(ballots[0]) >= 2:
            by_size.setdefault(len(ballots[0]), []).append(group_index)
    for size, group_indices in sorted(by_size.items()):
        _, place, counts = _local_ballots(
            [restricted_groups[index] for index in group_indices], size
        )
        first, second = np.triu_indices(size, k=1)
        pair_count = len(first)
        verdicts = (place[:, first] < place[:, second]).astype(np.int8)
        group_units = next_unit + np.arange(len(group_indices), dtype=np.int64) * pair_count
        units = np.repeat(group_units, counts)[:, None] + np.arange(pair_count, dtype=np.int64)
        unit_parts.append(units.ravel())
        value_parts.append(verdicts.ravel())
        group_parts.append(np.repeat(np.asarray(group_indices, dtype=np.intp), pair_count))
        next_unit += len(group_indices) * pair_count
    if not unit_parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.intp)
    return np.concatenate(unit_parts), np.concatenate(value_parts), np.concatenate(group_parts)


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


@dataclass(frozen=True)
class _Ballots:
    """Ballots of equal length grouped contiguously: ``ranked``/``place`` as in
    ``_score_bucket``, ``starts`` the first row of each group."""

    ranked: IndexArray
    place: IndexArray
    starts: IndexArray
    group_of_ballot: IndexArray

    @staticmethod
    def of(ranked: IndexArray, place: IndexArray, counts: IndexArray) -> _Ballots:
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
        return _Ballots(ranked, place, starts, np.repeat(np.arange(len(counts)), counts))

    def subset(self, groups: IndexArray, counts: IndexArray) -> _Ballots:
        """The ballots of ``groups`` (sorted indices), renumbered 0…len(groups)−1."""
        rows = np.isin(self.group_of_ballot, groups)
        return _Ballots.of(self.ranked[rows], self.place[rows], counts[groups])


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
    decrement is small enough, and the step length is chosen per group. Each
    iteration only touches the ballots of the groups still iterating.
    """
    counts = np.diff(np.append(starts, len(ranked))).astype(np.intp)
    every_ballot = _Ballots.of(ranked, place, counts)
    parameters = np.zeros((group_count, size))
    identity = np.identity(size)
    active = np.arange(group_count)
    ballots = every_ballot
    for _ in range(_MAXIMUM_ITERATIONS):
        point = parameters[active]
        value, gradient = _objective(point, ballots, regularization)
        keep = np.max(np.abs(gradient), axis=1) > _GRADIENT_TOLERANCE
        hessian = _hessian(point, ballots) + 2.0 * regularization * identity
        step = np.zeros_like(point)
        if np.any(keep):
            step[keep] = np.linalg.solve(hessian[keep], gradient[keep][:, :, None])[:, :, 0]
        decrement = np.einsum("gi,gi->g", gradient, step)
        keep &= decrement > _CONVERGED_DECREMENT
        if not np.any(keep):
            active = active[:0]
            break
        if not np.all(keep):
            active, point, value, step, decrement = (
                active[keep],
                point[keep],
                value[keep],
                step[keep],
                decrement[keep],
            )
            ballots = every_ballot.subset(active, counts)
        scale = np.ones(len(active))
        searching = np.flatnonzero(decrement > _FULL_STEP_DECREMENT)
        while len(searching):
            trial_value, _ = _objective(
                point[searching] - scale[searching, None] * step[searching],
                ballots.subset(searching, np.diff(np.append(ballots.starts, len(ballots.ranked)))),
                regularization,
            )
            too_long = (
                trial_value > value[searching] - 0.25 * scale[searching] * decrement[searching]
            ) & (scale[searching] > 1e-12)
            searching = searching[too_long]
            scale[searching] *= 0.5
        parameters[active] = point - scale[:, None] * step
        if not np.all(np.isfinite(parameters[active])):
            raise RuntimeError("Plackett–Luce estimation did not converge")
    if len(active):
        raise RuntimeError("Plackett–Luce estimation did not converge")
    return parameters - parameters.mean(axis=1, keepdims=True)


def _objective(
    parameters: FloatArray, ballots: _Ballots, regularization: float
) -> tuple[FloatArray, FloatArray]:
    """Per group: the penalised negative log-likelihood and its gradient.

    The formulas of ``bradley_terry._negative_log_likelihood``, one ballot per row.
    """
    ranked, place, starts, group_of_ballot = (
        ballots.ranked,
        ballots.place,
        ballots.starts,
        ballots.group_of_ballot,
    )
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
    value = np.add.reduceat(ballot_values, starts) + regularization * np.sum(parameters**2, axis=1)
    gradient = np.add.reduceat(ballot_gradient, starts, axis=0) + 2.0 * regularization * parameters
    return value, gradient


def _hessian(parameters: FloatArray, ballots: _Ballots) -> FloatArray:
    """Per group: the Hessian of the negative log-likelihood (penalty not included).

    The formulas of ``bradley_terry._negative_log_likelihood_hessian``.
    """
    ranked, place, starts, group_of_ballot = (
        ballots.ranked,
        ballots.place,
        ballots.starts,
        ballots.group_of_ballot,
    )
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
