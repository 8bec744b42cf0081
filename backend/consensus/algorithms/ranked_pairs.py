"""Tideman's ranked pairs with the Zavist–Tideman tie-breaking rule.

The rule (Tideman 1987, "Independence of clones as a criterion for voting
rules", Social Choice and Welfare 4:185–206):

1. For every ordered pair of distinct candidates (a, b) compute the margin:
   the number of voters ranking a above b minus the number ranking b above a.
2. Consider the pairs with a positive margin from the largest margin to the
   smallest. Lock each pair in (draw an edge a → b) unless doing so would
   create a directed cycle with the pairs already locked; otherwise skip it.
3. The locked graph is acyclic; its order is the collective ranking.

Ties are broken as in Zavist & Tideman 1989, "Complete independence of clones
in the ranked pairs rule", Social Choice and Welfare 6:167–173:

* The tie-breaking ranking of candidates (TBRC) is the ranking of a ballot
  chosen at random, with later random ballots used only to order candidates
  the first one left tied. Our ballots are strict full rankings, so one ballot
  orders everything; instead of a random ballot we take the EARLIEST ballot in
  submission order, which makes the result reproducible and auditable.
* The tie-breaking ranking of pairs (TBRP) orders pairs of equal margin by the
  TBRC position of the pair's winner: (a, b) is considered before (c, d) when
  a is ranked above c in the TBRC. The order among pairs with the same
  winner cannot change any decision: locking an edge out of
  a creates no new path into a, so whether (a, b) closes a cycle does not
  depend on whether (a, d) was locked just before it. For a reproducible
  ``locked`` sequence we consider first the pair whose loser is ranked LOWER
  in the TBRC (b below d). pref_voting's ``ranked_pairs_zt`` orders them the
  other way round and therefore makes the same lock decisions.
* A pair with a zero margin is treated as a victory of the candidate ranked
  higher in the TBRC, considered after every pair with a positive margin, in
  TBRP order. Every unordered pair of candidates is therefore considered in
  exactly one direction, and a skipped pair is always implied in reverse by
  a path of locked pairs, so the locked graph orders all candidates: the
  final order is the unique linear order consistent with it.

Nothing here ever compares or sorts candidate ids: every ordering decision is
derived from margins and from positions in the TBRC, so renaming the ids
consistently in all ballots renames the result and changes nothing else.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

C = TypeVar("C", bound=Hashable)


@dataclass(frozen=True)
class RankedPairsResult(Generic[C]):
    """Outcome of :func:`ranked_pairs`.

    Attributes:
        order: the collective ranking, best first.
        margins: ``margins[(a, b)]`` is the number of voters preferring a over
            b minus the number preferring b over a, for every ordered pair of
            distinct candidates (so ``margins[(b, a)] == -margins[(a, b)]``).
        locked: pairs locked in, in the order they were considered. Pairs with
            a zero margin appear here too (as a victory of the candidate
            ranked higher by the tie-breaking ballot) when they were needed.
        skipped: pairs skipped because locking them would have created a
            cycle, in the order they were considered.
        min_locked_margin: the smallest positive margin among the locked pairs,
            a confidence in the order; 0 when no locked pair has a positive
            margin (every pairwise contest was a tie); None when there are
            fewer than two candidates.
        tie_resolved: True when the tie-breaking rule decided anything: either
            pairs of equal positive margin conflicted (considering them in
            another order would lock a different set), or some pair of
            candidates was left unordered by the positive-margin pairs and
            the tie-breaking ballot ordered it.
    """

    order: tuple[C, ...]
    margins: dict[tuple[C, C], int]
    locked: tuple[tuple[C, C], ...]
    skipped: tuple[tuple[C, C], ...]
    min_locked_margin: int | None
    tie_resolved: bool


def ranked_pairs(ballots: Sequence[Sequence[C]]) -> RankedPairsResult[C]:
    """Rank candidates by Tideman's ranked pairs (margins), Zavist–Tideman ties.

    Args:
        ballots: full rankings, best first, in submission order (earliest
            first). The candidates are those present on every ballot; each
            ballot is restricted to them, keeping its order.

    Returns:
        The ranking and an account of how it was reached; see
        :class:`RankedPairsResult` and the module docstring for the rule.

    Raises:
        ValueError: when ``ballots`` is empty or a ballot names a candidate
            twice.
    """
    if len(ballots) == 0:
        raise ValueError("ranked_pairs needs at least one ballot")
    for ballot_index, ballot in enumerate(ballots):
        if len(set(ballot)) != len(ballot):
            raise ValueError(f"ballot {ballot_index} names a candidate more than once")

    common_candidates: set[C] = set(ballots[0])
    for ballot in ballots[1:]:
        common_candidates &= set(ballot)

    # The tie-breaking ranking of candidates is the earliest ballot restricted
    # to the common candidates. Candidates are identified internally by their
    # position in it, so no decision below depends on the ids themselves.
    tie_breaking_ranking: tuple[C, ...] = tuple(
        candidate for candidate in ballots[0] if candidate in common_candidates
    )
    candidate_count = len(tie_breaking_ranking)
    position = {candidate: index for index, candidate in enumerate(tie_breaking_ranking)}

    # wins[i][j] = number of voters ranking candidate i above candidate j.
    wins = [[0] * candidate_count for _ in range(candidate_count)]
    for ballot in ballots:
        restricted = [position[candidate] for candidate in ballot if candidate in position]
        for higher_rank, winner in enumerate(restricted):
            for loser in restricted[higher_rank + 1 :]:
                wins[winner][loser] += 1

    margin_matrix = [
        [wins[row][column] - wins[column][row] for column in range(candidate_count)]
        for row in range(candidate_count)
    ]
    margins: dict[tuple[C, C], int] = {
        (tie_breaking_ranking[row], tie_breaking_ranking[column]): margin_matrix[row][column]
        for row in range(candidate_count)
        for column in range(candidate_count)
        if row != column
    }

    # Each unordered pair is considered once, in the direction of its winner;
    # a zero margin counts as a win for the candidate higher in the TBRC
    # (the lower index, since indices are TBRC positions).
    considered_pairs: list[tuple[int, int, int]] = []  # (margin, winner, loser)
    for first in range(candidate_count):
        for second in range(first + 1, candidate_count):
            margin = margin_matrix[first][second]
            if margin >= 0:
                considered_pairs.append((margin, first, second))
            else:
                considered_pairs.append((-margin, second, first))
    # Largest margin first; among equal margins the TBRP: winner higher in the
    # TBRC first, then loser lower in the TBRC first.
    considered_pairs.sort(key=lambda pair: (-pair[0], pair[1], -pair[2]))

    successors: list[set[int]] = [set() for _ in range(candidate_count)]
    locked: list[tuple[int, int]] = []
    skipped: list[tuple[int, int]] = []
    equal_margins_conflicted = False

    group_start = 0
    while group_start < len(considered_pairs):
        margin = considered_pairs[group_start][0]
        group_end = group_start
        while group_end < len(considered_pairs) and considered_pairs[group_end][0] == margin:
            group_end += 1
        group = [(winner, loser) for _, winner, loser in considered_pairs[group_start:group_end]]

        if margin > 0 and len(group) > 1 and _order_within_group_matters(successors, group):
            equal_margins_conflicted = True

        for winner, loser in group:
            if _reaches(successors, loser, winner):
                skipped.append((winner, loser))
            else:
                successors[winner].add(loser)
                locked.append((winner, loser))
        group_start = group_end

    positive_locked = [
        (winner, loser) for winner, loser in locked if margin_matrix[winner][loser] > 0
    ]
    order_indices = _topological_order(successors, candidate_count)
    # The positive-margin locked pairs order everyone exactly when each
    # candidate is directly locked above the next one in the final order
    # (in a topological order, a path between neighbours must be an edge).
    positive_edges = set(positive_locked)
    positive_pairs_order_everyone = all(
        (order_indices[index], order_indices[index + 1]) in positive_edges
        for index in range(candidate_count - 1)
    )

    min_locked_margin: int | None
    if candidate_count < 2:
        min_locked_margin = None
    elif positive_locked:
        min_locked_margin = min(margin_matrix[winner][loser] for winner, loser in positive_locked)
    else:
        min_locked_margin = 0

    def named(pair: tuple[int, int]) -> tuple[C, C]:
        return (tie_breaking_ranking[pair[0]], tie_breaking_ranking[pair[1]])

    return RankedPairsResult(
        order=tuple(tie_breaking_ranking[index] for index in order_indices),
        margins=margins,
        locked=tuple(named(pair) for pair in locked),
        skipped=tuple(named(pair) for pair in skipped),
        min_locked_margin=min_locked_margin,
        tie_resolved=equal_margins_conflicted or not positive_pairs_order_everyone,
    )


def _reaches(successors: Sequence[set[int]], start: int, target: int) -> bool:
    """Whether a directed path leads from ``start`` to ``target``."""
    if start == target:
        return True
    seen = {start}
    stack = [start]
    while stack:
        node = stack.pop()
        for successor in successors[node]:
            if successor == target:
                return True
            if successor not in seen:
                seen.add(successor)
                stack.append(successor)
    return False


def _order_within_group_matters(
    successors: Sequence[set[int]], group: Sequence[tuple[int, int]]
) -> bool:
    """Whether the order of equal-margin pairs changes what gets locked.

    A pair that already closes a cycle with the graph locked so far is skipped
    whatever the order. The others are each lockable on their own; if they can
    all be locked together without a cycle, every order locks them all and
    the tie-breaking order decided nothing. If they cannot, whichever of the
    cycle's pairs comes last is skipped, so the order decides.
    """
    trial = [set(node_successors) for node_successors in successors]
    for winner, loser in group:
        if not _reaches(successors, loser, winner):
            trial[winner].add(loser)
    return not _is_acyclic(trial)


def _is_acyclic(successors: Sequence[set[int]]) -> bool:
    return len(_kahn_order(successors)) == len(successors)


def _kahn_order(successors: Sequence[set[int]]) -> list[int]:
    """Topological order preferring the lowest index (highest TBRC rank).

    Returns fewer nodes than the graph has when the graph has a cycle.
    """
    in_degree = [0] * len(successors)
    for node_successors in successors:
        for successor in node_successors:
            in_degree[successor] += 1
    ready = sorted(node for node in range(len(successors)) if in_degree[node] == 0)
    order: list[int] = []
    while ready:
        # The locked graph is complete when this is used for the final order,
        # so ``ready`` then never holds more than one node; the preference is
        # only there to keep the function total.
        node = ready.pop(0)
        order.append(node)
        for successor in successors[node]:
            in_degree[successor] -= 1
            if in_degree[successor] == 0:
                ready.append(successor)
        ready.sort()
    return order


def _topological_order(successors: Sequence[set[int]], candidate_count: int) -> list[int]:
    order = _kahn_order(successors)
    # Locking never creates a cycle, so this cannot fail; checked because a
    # silently truncated ranking would be far worse than an exception.
    if len(order) != candidate_count:
        raise RuntimeError("ranked pairs locked a cycle")
    return order
