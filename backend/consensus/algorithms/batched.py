"""Ranking consensus for many small sibling groups at once, vectorised with NumPy.

A project has hundreds of thousands of sibling groups of two to five replies, each
ranked by a handful of people. Calling :func:`ranked_pairs` and
:func:`bradley_terry_scores` once per group costs a fraction of a millisecond each
in Python overhead, minutes in all; here the groups are processed in arrays, one
bucket per group size, and give the same results (the tests compare every output
with the per-group reference functions on random data).

The input is :class:`BallotArrays` — every ballot a row of candidate ids, the ballots
of a group consecutive and earliest first — and for each group
:func:`score_ballot_arrays` returns (:class:`GroupScores`):

* the ranked pairs order, margins, smallest locked margin and ``tie_resolved``,
  exactly as :func:`ranked_pairs` defines them;
* Plackett–Luce log-strengths, the minimiser of the objective of
  :func:`bradley_terry_scores` (same penalty, same Newton iteration and stopping
  rules, run for all groups of a bucket together: the problems are independent,
  so the Hessian is block diagonal);
* Kendall's W of the group's ballots (NaN with fewer than two voters);
* for every ballot, Kendall's τ between it and the ranked pairs consensus of the
  group's OTHER ballots (leave-one-out; NaN with fewer than two voters). Ballots
  are strict full rankings, so τ-b equals τ-a here;
* every ballot's verdict on every pair of its group's candidates, the data of
  Krippendorff's alpha over sibling pairs.

Why the fast path gives the ranked pairs result: every unordered pair of candidates
is considered by ranked pairs in exactly one direction — toward the winner of its
margin, or toward the candidate ranked higher by the earliest ballot when the margin
is zero — so the considered pairs form a tournament. When that tournament has no
cycle (all out-degrees differ), no pair is ever skipped, every pair is locked, and
the result is the tournament's unique topological order: candidates sorted by
out-degree. Then ties among equal margins cannot conflict, so ``tie_resolved`` is
only whether some neighbours in the order are separated by a zero margin. Groups
whose tournament has a cycle (a Condorcet cycle, a few percent of groups) take their
order from :func:`ranked_pairs` itself, and groups whose ballots do not all rank the
same candidates go through the per-group reference functions entirely.
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
IdArray = NDArray[np.int64]

# The stopping rules of ``bradley_terry._minimise_convex``, kept identical so that
# both give the same scores.
_GRADIENT_TOLERANCE = 1e-9
_MAXIMUM_ITERATIONS = 200
_FULL_STEP_DECREMENT = 1e-8
_CONVERGED_DECREMENT = 1e-24

PAD = -1  # fills rows shorter than the widest ballot; candidate ids are ≥ 0


@dataclass(frozen=True)
class BallotArrays:
    """The ballots of many groups.

    ``ranking[n]`` is ballot n's candidate ids, best first, padded with ``PAD``; the
    ballots of group g are rows ``group_start[g]`` … ``+ group_count[g] − 1``,
    earliest first (the earliest breaks ties).
    """

    group_start: IndexArray
    group_count: IndexArray
    ranking: IdArray

    @staticmethod
    def from_lists(groups: Sequence[Sequence[Sequence[int]]]) -> BallotArrays:
        counts = np.asarray([len(ballots) for ballots in groups], dtype=np.intp)
        width = max((len(ballot) for ballots in groups for ballot in ballots), default=0)
        ranking = np.full((int(counts.sum()), width), PAD, dtype=np.int64)
        row = 0
        for ballots in groups:
            for ballot in ballots:
                ranking[row, : len(ballot)] = ballot
                row += 1
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
        return BallotArrays(group_start=starts, group_count=counts, ranking=ranking)

    def ballots_of(self, group: int) -> list[list[int]]:
        rows = self.ranking[
            self.group_start[group] : self.group_start[group] + self.group_count[group]
        ]
        return [[int(candidate) for candidate in row if candidate != PAD] for row in rows]


@dataclass
class GroupScores:
    """Per group (first axis G) and per ballot (first axis N) results.

    ``order[g, :size[g]]`` is the ranked pairs order (candidate ids, best first);
    ``margins[g, a, b]`` the margin of ``order[g, a]`` over ``order[g, b]``;
    ``scores[g, a]`` the Plackett–Luce log-strength of ``order[g, a]``;
    ``min_locked_margin[g]`` is −1 where undefined (fewer than two candidates);
    ``kendalls_w`` and ``ballot_tau`` are NaN where undefined. ``pair_units`` /
    ``pair_values`` are the pair verdicts (a unit is a pair of candidates of one
    group, ``pair_unit_group`` its group).
    """

    size: IndexArray
    order: IdArray
    margins: NDArray[np.int64]
    min_locked_margin: NDArray[np.int64]
    tie_resolved: NDArray[np.bool_]
    scores: FloatArray
    kendalls_w: FloatArray
    ballot_tau: FloatArray
    pair_units: NDArray[np.int64]
    pair_values: NDArray[np.int8]
    pair_unit_group: IndexArray


@dataclass(frozen=True)
class GroupRanking(Generic[C]):
    """One group's results as Python values (see :func:`score_ranking_groups`)."""

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
    """:func:`score_ballot_arrays` for ballots given as lists of any hashable ids."""
    number: dict[C, int] = {}
    for ballots in groups:
        if len(ballots) == 0:
            raise ValueError("every group needs at least one ballot")
        for ballot in ballots:
            for candidate in ballot:
                number.setdefault(candidate, len(number))
    name = list(number)
    arrays = BallotArrays.from_lists(
        [[[number[candidate] for candidate in ballot] for ballot in ballots] for ballots in groups]
    )
    result = score_ballot_arrays(arrays, regularization)
    rankings = []
    for group in range(len(groups)):
        size = int(result.size[group])
        start, count = int(arrays.group_start[group]), int(arrays.group_count[group])
        minimum = int(result.min_locked_margin[group])
        concordance = float(result.kendalls_w[group])
        rankings.append(
            GroupRanking(
                order=tuple(name[int(index)] for index in result.order[group, :size]),
                margins=tuple(
                    tuple(int(value) for value in row[:size])
                    for row in result.margins[group, :size]
                ),
                min_locked_margin=None if minimum < 0 else minimum,
                tie_resolved=bool(result.tie_resolved[group]),
                scores=tuple(float(value) for value in result.scores[group, :size]),
                kendalls_w=None if np.isnan(concordance) else concordance,
                ballot_taus=tuple(
                    None if np.isnan(value) else float(value)
                    for value in result.ballot_tau[start : start + count]
                ),
            )
        )
    return rankings


def score_ballot_arrays(ballots: BallotArrays, regularization: float = 0.01) -> GroupScores:
    """Score every group (see the module docstring).

    The candidates of a group are those on every one of its ballots (as in
    :func:`ranked_pairs`); ballots are restricted to them for every output.

    Raises:
        ValueError: for a group without ballots, a ballot naming a candidate twice,
            or a non-positive regularization.
    """
    if not (regularization > 0 and np.isfinite(regularization)):
        raise ValueError("regularization must be positive and finite to keep scores finite")
    group_count = len(ballots.group_count)
    if np.any(ballots.group_count < 1):
        raise ValueError("every group needs at least one ballot")
    if group_count == 0:
        return GroupScores(
            size=np.zeros(0, np.intp),
            order=np.zeros((0, 0), np.int64),
            margins=np.zeros((0, 0, 0), np.int64),
            min_locked_margin=np.zeros(0, np.int64),
            tie_resolved=np.zeros(0, bool),
            scores=np.zeros((0, 0)),
            kendalls_w=np.zeros(0),
            ballot_tau=np.zeros(0),
            pair_units=np.zeros(0, np.int64),
            pair_values=np.zeros(0, np.int8),
            pair_unit_group=np.zeros(0, np.intp),
        )
    ranking = ballots.ranking
    ballot_total, width = ranking.shape
    present = ranking != PAD
    length = present.sum(axis=1)
    # Candidates in increasing order, padding last: equal rows hold equal sets.
    ordered = np.sort(np.where(present, ranking, np.iinfo(np.int64).max), axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] != np.iinfo(np.int64).max)
    if np.any(repeated):
        culprit = int(np.flatnonzero(repeated.any(axis=1))[0])
        raise ValueError(f"ballot {culprit} names a candidate more than once")
    group_of_ballot = np.repeat(np.arange(group_count), ballots.group_count)
    first_row = ballots.group_start[group_of_ballot]
    same_set = (
        np.all(ordered == ordered[first_row], axis=1) if width else np.ones(ballot_total, bool)
    )
    uniform = np.minimum.reduceat(same_set.astype(np.int8), ballots.group_start) == 1
    sizes = length[ballots.group_start]

    result = GroupScores(
        size=np.zeros(group_count, dtype=np.intp),
        order=np.full((group_count, width), PAD, dtype=np.int64),
        margins=np.zeros((group_count, width, width), dtype=np.int64),
        min_locked_margin=np.full(group_count, -1, dtype=np.int64),
        tie_resolved=np.zeros(group_count, dtype=bool),
        scores=np.full((group_count, width), np.nan),
        kendalls_w=np.full(group_count, np.nan),
        ballot_tau=np.full(ballot_total, np.nan),
        pair_units=np.zeros(0, np.int64),
        pair_values=np.zeros(0, np.int8),
        pair_unit_group=np.zeros(0, np.intp),
    )
    unit_parts: list[NDArray[np.int64]] = []
    value_parts: list[NDArray[np.int8]] = []
    group_parts: list[IndexArray] = []
    next_unit = 0
    for size in np.unique(sizes[uniform & (sizes >= 2)]).tolist():
        members = np.flatnonzero(uniform & (sizes == size))
        next_unit = _score_bucket(
            ballots, members, int(size), group_of_ballot, regularization, result,
            (unit_parts, value_parts, group_parts), next_unit,
        )  # fmt: skip
    for group in np.flatnonzero(~(uniform & (sizes >= 2))).tolist():
        next_unit = _score_group_reference(
            ballots, int(group), regularization, result, (unit_parts, value_parts, group_parts),
            next_unit,
        )  # fmt: skip
    if unit_parts:
        result.pair_units = np.concatenate(unit_parts)
        result.pair_values = np.concatenate(value_parts)
        result.pair_unit_group = np.concatenate(group_parts)
    return result


_Parts = tuple[list[NDArray[np.int64]], list[NDArray[np.int8]], list[IndexArray]]


# --- The reference path: one group at a time ------------------------------------------


def _score_group_reference(
    ballots: BallotArrays,
    group: int,
    regularization: float,
    result: GroupScores,
    parts: _Parts,
    next_unit: int,
) -> int:
    """A group whose ballots do not all rank the same candidates (or rank fewer than
    two): the per-group reference functions on the ballots restricted to the
    candidates on every ballot."""
    lists = ballots.ballots_of(group)
    common = set(lists[0]).intersection(*lists[1:])
    restricted = [[candidate for candidate in ballot if candidate in common] for ballot in lists]
    reference = ranked_pairs(restricted)
    order = list(reference.order)
    size = len(order)
    result.size[group] = size
    result.order[group, :size] = order
    for a, first in enumerate(order):
        for b, second in enumerate(order):
            if a != b:
                result.margins[group, a, b] = reference.margins[(first, second)]
    result.tie_resolved[group] = reference.tie_resolved
    start = int(ballots.group_start[group])
    if size < 2:
        result.scores[group, :size] = 0.0
        return next_unit
    result.min_locked_margin[group] = reference.min_locked_margin or 0
    strengths = bradley_terry_scores(restricted, regularization=regularization)
    result.scores[group, :size] = [strengths[candidate] for candidate in order]
    if len(restricted) >= 2:
        result.kendalls_w[group] = kendalls_w(
            [[ballot.index(candidate) for candidate in order] for ballot in restricted]
        )
        for left_out, ballot in enumerate(restricted):
            others = restricted[:left_out] + restricted[left_out + 1 :]
            result.ballot_tau[start + left_out] = _tau(ballot, ranked_pairs(others).order)
    # Pair verdicts, candidates numbered by the earliest ballot as in the fast path.
    pairs = [
        (first, second)
        for index, first in enumerate(restricted[0])
        for second in restricted[0][index + 1 :]
    ]
    units, values = [], []
    for ballot in restricted:
        position = {candidate: index for index, candidate in enumerate(ballot)}
        for pair_index, (first, second) in enumerate(pairs):
            units.append(next_unit + pair_index)
            values.append(1 if position[first] < position[second] else 0)
    parts[0].append(np.asarray(units, dtype=np.int64))
    parts[1].append(np.asarray(values, dtype=np.int8))
    parts[2].append(np.full(len(pairs), group, dtype=np.intp))
    return next_unit + len(pairs)


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
    ballots: BallotArrays,
    members: IndexArray,
    size: int,
    group_of_ballot: IndexArray,
    regularization: float,
    result: GroupScores,
    parts: _Parts,
    next_unit: int,
) -> int:
    """Groups whose ballots all rank the same ``size`` candidates."""
    counts = ballots.group_count[members].astype(np.intp)
    rows = np.flatnonzero(np.isin(group_of_ballot, members))
    ids = ballots.ranking[rows, :size]
    # Candidates are numbered by their place on the group's earliest ballot, which is
    # also the tie-breaking ranking of candidates: a lower number ranks higher.
    firsts = ballots.ranking[ballots.group_start[members], :size]
    first_of_row = np.repeat(firsts, counts, axis=0)
    # ranked[n, r]: the candidate ballot n puts in place r; place[n, i]: where it
    # puts candidate i.
    ranked = np.argmax(ids[:, :, None] == first_of_row[:, None, :], axis=2).astype(np.intp)
    place = np.argsort(ranked, axis=1).astype(np.intp)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    local_group = np.repeat(np.arange(len(members)), counts)

    # preference[n, i, j] = +1 when ballot n puts i above j, −1 below, 0 for i = j.
    preference = np.sign(place[:, None, :] - place[:, :, None]).astype(np.int32)
    margins = np.add.reduceat(preference, starts, axis=0)
    identity_ranking = np.broadcast_to(np.arange(size), (len(members), size))
    consensus_place, acyclic = _tournament_places(margins, identity_ranking)

    strengths = _plackett_luce(ranked, place, starts, len(members), size, regularization)
    result.kendalls_w[members] = _kendalls_w(place, starts, counts, size)
    result.ballot_tau[rows] = _leave_one_out_taus(
        ranked, place, preference, margins, starts, counts, local_group, size
    )

    order_local = np.argsort(consensus_place, axis=1, kind="stable")
    ordered_margins = np.take_along_axis(margins, order_local[:, :, None], axis=1)
    ordered_margins = np.take_along_axis(ordered_margins, order_local[:, None, :], axis=2)
    positive = ordered_margins > 0
    smallest = np.where(positive, ordered_margins, np.iinfo(np.int32).max).min(axis=(1, 2))
    neighbours = ordered_margins[:, np.arange(size - 1), np.arange(1, size)]
    result.size[members] = size
    result.order[members, :size] = np.take_along_axis(firsts, order_local, axis=1)
    result.margins[members, :size, :size] = ordered_margins
    result.min_locked_margin[members] = np.where(positive.any(axis=(1, 2)), smallest, 0)
    result.tie_resolved[members] = np.any(neighbours <= 0, axis=1)
    result.scores[members, :size] = np.take_along_axis(strengths, order_local, axis=1)

    for local in np.flatnonzero(~acyclic).tolist():
        # A cycle among the pairs: ranked pairs has to skip some, so run it. The
        # scores, W and τ do not depend on the order and stay vectorised.
        group = int(members[local])
        reference = ranked_pairs(ballots.ballots_of(group))
        order = list(reference.order)
        strength_of = dict(zip(firsts[local].tolist(), strengths[local].tolist(), strict=True))
        result.order[group, :size] = order
        result.margins[group, :size, :size] = [
            [0 if first == second else reference.margins[(first, second)] for second in order]
            for first in order
        ]
        result.min_locked_margin[group] = reference.min_locked_margin or 0
        result.tie_resolved[group] = reference.tie_resolved
        result.scores[group, :size] = [strength_of[candidate] for candidate in order]

    # Pair verdicts: unit = (group, pair of local candidates), value 1 when the
    # candidate listed first on the earliest ballot wins.
    first, second = np.triu_indices(size, k=1)
    pair_count = len(first)
    verdicts = (place[:, first] < place[:, second]).astype(np.int8)
    group_units = next_unit + np.arange(len(members), dtype=np.int64) * pair_count
    units = np.repeat(group_units, counts)[:, None] + np.arange(pair_count, dtype=np.int64)
    parts[0].append(units.ravel())
    parts[1].append(verdicts.ravel())
    parts[2].append(np.repeat(members.astype(np.intp), pair_count))
    return next_unit + len(members) * pair_count


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
    tail_log_sums = _log_cumulative(strengths, from_the_right=True)
    stage_log_sums = tail_log_sums[:, : size - 1]
    ballot_values = np.sum(stage_log_sums, axis=1) - np.sum(strengths[:, : size - 1], axis=1)
    cumulative = _log_cumulative(-stage_log_sums)
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
    tail_log_sums = _log_cumulative(strengths, from_the_right=True)
    stage_log_sums = tail_log_sums[:, : size - 1]
    cumulative = _log_cumulative(-stage_log_sums)
    cumulative = np.concatenate([cumulative, cumulative[:, -1:]], axis=1)
    squared_cumulative = _log_cumulative(-2.0 * stage_log_sums)
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


def _log_cumulative(values: FloatArray, *, from_the_right: bool = False) -> FloatArray:
    """``np.logaddexp.accumulate`` along rows (optionally from the right): the same
    operations in the same order, so bit-for-bit the same result, but one vector
    operation per column instead of a loop per row, which is faster for the few
    columns a sibling group has."""
    result = np.empty_like(values)
    columns = values.shape[1]
    order = range(columns - 1, -1, -1) if from_the_right else range(columns)
    previous = None
    for column in order:
        if previous is None:
            result[:, column] = values[:, column]
        else:
            result[:, column] = np.logaddexp(result[:, previous], values[:, column])
        previous = column
    return result
