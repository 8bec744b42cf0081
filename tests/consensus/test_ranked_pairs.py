"""Known-answer and reference tests for Tideman's ranked pairs."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence

import pytest

from backend.consensus.algorithms.ranked_pairs import RankedPairsResult, ranked_pairs


def repeated(count: int, ballot: str) -> list[list[str]]:
    return [list(ballot) for _ in range(count)]


def test_textbook_cycle_locks_strongest_pairs_and_skips_weakest() -> None:
    ballots = repeated(4, "ABC") + repeated(3, "BCA") + repeated(2, "CAB")

    result = ranked_pairs(ballots)

    assert result.order == ("A", "B", "C")
    assert result.margins == {
        ("A", "B"): 3,
        ("B", "A"): -3,
        ("B", "C"): 5,
        ("C", "B"): -5,
        ("A", "C"): -1,
        ("C", "A"): 1,
    }
    assert result.locked == (("B", "C"), ("A", "B"))
    assert result.skipped == (("C", "A"),)
    assert result.min_locked_margin == 3
    assert result.tie_resolved is False


def test_tennessee_capital() -> None:
    memphis, nashville, chattanooga, knoxville = "Memphis", "Nashville", "Chattanooga", "Knoxville"
    ballots = (
        [[memphis, nashville, chattanooga, knoxville]] * 42
        + [[nashville, chattanooga, knoxville, memphis]] * 26
        + [[chattanooga, knoxville, nashville, memphis]] * 15
        + [[knoxville, chattanooga, nashville, memphis]] * 17
    )

    result = ranked_pairs(ballots)

    assert result.order == (nashville, chattanooga, knoxville, memphis)
    assert result.margins[(chattanooga, knoxville)] == 66
    assert result.margins[(nashville, chattanooga)] == 36
    assert result.margins[(nashville, knoxville)] == 36
    assert result.margins[(nashville, memphis)] == 16
    assert result.margins[(chattanooga, memphis)] == 16
    assert result.margins[(knoxville, memphis)] == 16
    assert result.skipped == ()
    assert set(result.locked) == {
        (chattanooga, knoxville),
        (nashville, chattanooga),
        (nashville, knoxville),
        (nashville, memphis),
        (chattanooga, memphis),
        (knoxville, memphis),
    }
    assert result.locked[0] == (chattanooga, knoxville)
    assert result.min_locked_margin == 16
    # Equal margins exist (36, 36 and 16, 16, 16) but never conflict.
    assert result.tie_resolved is False


def test_perfect_cycle_is_decided_by_the_earliest_ballot() -> None:
    result = ranked_pairs([list("ABC"), list("BCA"), list("CAB")])

    assert result.order == ("A", "B", "C")
    assert result.locked == (("A", "B"), ("B", "C"))
    assert result.skipped == (("C", "A"),)
    assert result.min_locked_margin == 1
    assert result.tie_resolved is True


def test_perfect_cycle_started_by_another_ballot() -> None:
    result = ranked_pairs([list("BCA"), list("CAB"), list("ABC")])

    assert result.order == ("B", "C", "A")
    assert result.skipped == (("A", "B"),)
    assert result.tie_resolved is True


def test_renaming_ids_renames_the_result() -> None:
    # The new ids sort in the opposite order to the old ones, and ints replace
    # strings, so any accidental use of id order would show.
    renaming = {"A": 30, "B": 20, "C": 10}
    ballots = [list("ABC"), list("BCA"), list("CAB")]
    renamed_ballots = [[renaming[candidate] for candidate in ballot] for ballot in ballots]

    original = ranked_pairs(ballots)
    renamed = ranked_pairs(renamed_ballots)

    assert renamed.order == (30, 20, 10)
    assert renamed.order == tuple(renaming[candidate] for candidate in original.order)
    assert renamed.locked == tuple((renaming[a], renaming[b]) for a, b in original.locked)
    assert renamed.skipped == tuple((renaming[a], renaming[b]) for a, b in original.skipped)
    assert renamed.margins == {
        (renaming[a], renaming[b]): m for (a, b), m in original.margins.items()
    }
    assert renamed.tie_resolved is original.tie_resolved is True


def test_renaming_ids_renames_the_result_on_random_profiles() -> None:
    generator = random.Random(20240611)
    for _ in range(200):
        candidate_count = generator.randint(2, 5)
        candidates = list(range(candidate_count))
        ballots = [
            generator.sample(candidates, candidate_count) for _ in range(generator.randint(1, 8))
        ]
        shuffled_ids = generator.sample(range(100, 200), candidate_count)
        renaming = dict(zip(candidates, shuffled_ids, strict=True))
        renamed_ballots = [[renaming[c] for c in ballot] for ballot in ballots]

        original = ranked_pairs(ballots)
        renamed = ranked_pairs(renamed_ballots)

        assert renamed.order == tuple(renaming[c] for c in original.order)
        assert renamed.locked == tuple((renaming[a], renaming[b]) for a, b in original.locked)
        assert renamed.tie_resolved is original.tie_resolved


def test_unanimous() -> None:
    result = ranked_pairs([list("DBAC")] * 5)

    assert result.order == ("D", "B", "A", "C")
    assert result.skipped == ()
    assert result.min_locked_margin == 5
    assert result.tie_resolved is False
    assert all(abs(margin) == 5 for margin in result.margins.values())


def test_single_ballot_is_returned_as_is() -> None:
    result = ranked_pairs([[3, 1, 2]])

    assert result.order == (3, 1, 2)
    assert result.min_locked_margin == 1
    assert result.tie_resolved is False


def test_condorcet_winner_wins_even_when_not_the_plurality_winner() -> None:
    # B is nobody's first choice on most ballots yet beats A and C head to head.
    ballots = repeated(3, "ABC") + repeated(2, "CBA") + repeated(2, "BCA")

    result = ranked_pairs(ballots)

    assert result.margins[("B", "A")] == 1
    assert result.margins[("B", "C")] == 3
    assert result.order[0] == "B"
    assert result.order == ("B", "C", "A")
    assert result.tie_resolved is False


def test_candidates_are_the_intersection_of_all_ballots() -> None:
    ballots = [["A", "X", "B", "C"], ["C", "B", "A"], ["B", "A", "Y", "C"]]

    result = ranked_pairs(ballots)

    assert set(result.order) == {"A", "B", "C"}
    assert set(result.margins) == {(a, b) for a in "ABC" for b in "ABC" if a != b}
    # Restricted ballots: ABC, CBA, BAC. A>B 1-2, B>C 2-1, A>C 2-1.
    assert result.margins[("B", "A")] == 1
    assert result.margins[("B", "C")] == 1
    assert result.margins[("A", "C")] == 1
    assert result.order == ("B", "A", "C")


def test_disjoint_ballots_leave_no_candidates() -> None:
    result = ranked_pairs([["A", "B"], ["C", "D"]])

    assert result == RankedPairsResult(
        order=(), margins={}, locked=(), skipped=(), min_locked_margin=None, tie_resolved=False
    )


def test_one_candidate() -> None:
    result = ranked_pairs([["A"], ["A"]])

    assert result.order == ("A",)
    assert result.margins == {}
    assert result.min_locked_margin is None
    assert result.tie_resolved is False


def test_two_candidates_one_vote_each_way_is_decided_by_the_earliest_ballot() -> None:
    first_b = ranked_pairs([["B", "A"], ["A", "B"]])
    first_a = ranked_pairs([["A", "B"], ["B", "A"]])

    assert first_b.order == ("B", "A")
    assert first_a.order == ("A", "B")
    assert first_b.margins == {("A", "B"): 0, ("B", "A"): 0}
    assert first_b.locked == (("B", "A"),)
    assert first_b.min_locked_margin == 0
    assert first_b.tie_resolved is True


def test_zero_margin_implied_by_transitivity_needs_no_tie_break() -> None:
    # A>B by 2 and B>C by 2 while A and C tie: the locked A>B>C already orders
    # A above C, so the tie-breaking ballot decides nothing.
    ballots = [list("CAB"), list("ABC"), list("ABC"), list("BCA")]

    result = ranked_pairs(ballots)

    assert result.margins[("A", "B")] == 2
    assert result.margins[("B", "C")] == 2
    assert result.margins[("A", "C")] == 0
    assert result.order == ("A", "B", "C")
    # The zero pair is considered as a win for C (higher on the earliest
    # ballot) and skipped because A>B>C is locked.
    assert result.skipped == (("C", "A"),)
    assert result.min_locked_margin == 2
    assert result.tie_resolved is False


def test_zero_margin_between_unrelated_candidates_uses_tie_breaking_ballot() -> None:
    # Two voters reverse each other exactly: every margin is zero, so the
    # order is the earliest ballot's.
    result = ranked_pairs([list("CADB"), list("BDAC")])

    assert result.order == ("C", "A", "D", "B")
    assert set(result.margins.values()) == {0}
    assert result.skipped == ()
    assert result.min_locked_margin == 0
    assert result.tie_resolved is True


def test_zero_margins_are_locked_after_positive_ones_in_tie_breaking_order() -> None:
    # Margins: C>A by 2, every other pair ties. The earliest ballot is ABC.
    # Zavist–Tideman lock C>A first, then the ties as wins for the higher
    # candidate on ABC: A>B locks, B>C would close C>A>B>C and is skipped.
    ballots = [list("ABC"), list("CBA"), list("CAB"), list("BCA")]

    result = ranked_pairs(ballots)

    assert result.margins[("C", "A")] == 2
    assert result.margins[("A", "B")] == 0
    assert result.margins[("B", "C")] == 0
    assert result.locked == (("C", "A"), ("A", "B"))
    assert result.skipped == (("B", "C"),)
    assert result.order == ("C", "A", "B")
    assert result.min_locked_margin == 2
    assert result.tie_resolved is True


def test_equal_margins_that_do_not_conflict_are_not_reported_as_tie_breaks() -> None:
    # A beats everyone by the same margin; no cycle is possible.
    ballots = [list("ABCD"), list("ADCB"), list("ACBD")]

    result = ranked_pairs(ballots)

    assert result.order[0] == "A"
    assert result.tie_resolved is False


def test_empty_ballot_list_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least one ballot"):
        ranked_pairs([])


def test_repeated_candidate_is_rejected() -> None:
    with pytest.raises(ValueError, match="ballot 1"):
        ranked_pairs([["A", "B"], ["A", "B", "A"]])


def test_result_is_frozen() -> None:
    result = ranked_pairs([["A", "B"]])

    with pytest.raises(AttributeError):
        result.order = ("B", "A")  # type: ignore[misc]


def _brute_force_ranked_pairs_orders(
    ballots: Sequence[Sequence[int]],
) -> set[tuple[int, ...]] | None:
    """Every order ranked pairs can produce under some ordering of equal margins.

    Independent of the implementation under test: it tries every permutation
    of every group of equal-margin pairs (zero margins in both directions).
    Returns None when that would take more than a thousand runs.
    """
    candidates = list(ballots[0])

    def margin(a: int, b: int) -> int:
        return sum(1 if ballot.index(a) < ballot.index(b) else -1 for ballot in ballots)

    edges = [
        (a, b, margin(a, b)) for a in candidates for b in candidates if a != b and margin(a, b) >= 0
    ]
    strengths = sorted({strength for _, _, strength in edges}, reverse=True)
    groups = [[(a, b) for a, b, strength in edges if strength == level] for level in strengths]
    if math.prod(math.factorial(len(group)) for group in groups) > 1000:
        return None
    orders: set[tuple[int, ...]] = set()
    for choice in itertools.product(*(itertools.permutations(group) for group in groups)):
        locked: set[tuple[int, int]] = set()
        for group in choice:
            for a, b in group:
                if not _path_exists(locked, b, a):
                    locked.add((a, b))
        orders.add(
            tuple(
                sorted(
                    candidates,
                    key=lambda c: (
                        -sum(1 for d in candidates if _path_exists(locked, c, d) and c != d)
                    ),
                )
            )
        )
    return orders


def _path_exists(edges: set[tuple[int, int]], start: int, target: int) -> bool:
    frontier = [start]
    seen = {start}
    while frontier:
        node = frontier.pop()
        if node == target:
            return True
        for a, b in edges:
            if a == node and b not in seen:
                seen.add(b)
                frontier.append(b)
    return False


def test_tie_resolved_matches_brute_force_on_random_profiles() -> None:
    # tie_resolved must be False exactly when every ordering of tied pairs
    # gives the same ranking.
    generator = random.Random(7)
    checked_profiles = 0
    checked_ties = 0
    while checked_profiles < 150:
        candidate_count = generator.randint(2, 4)
        ballots = [
            generator.sample(range(candidate_count), candidate_count)
            for _ in range(generator.randint(1, 6))
        ]
        possible_orders = _brute_force_ranked_pairs_orders(ballots)
        if possible_orders is None:
            continue
        checked_profiles += 1

        result = ranked_pairs(ballots)

        assert result.order in possible_orders
        assert result.tie_resolved is (len(possible_orders) > 1)
        checked_ties += result.tie_resolved
    # The sample really exercises both outcomes.
    assert 10 < checked_ties < 140


def _random_profile(
    generator: random.Random, candidate_count: int, voter_count: int
) -> list[list[int]]:
    return [generator.sample(range(candidate_count), candidate_count) for _ in range(voter_count)]


def _margins_distinct(result: RankedPairsResult[int]) -> bool:
    nonzero = [margin for margin in result.margins.values() if margin > 0]
    return len(nonzero) == len(set(nonzero))


def test_matches_pref_voting_on_random_profiles_with_distinct_margins() -> None:
    margin_based_methods = pytest.importorskip("pref_voting.margin_based_methods")
    profiles = pytest.importorskip("pref_voting.profiles")
    networkx = pytest.importorskip("networkx")

    generator = random.Random(1989)
    compared = 0
    while compared < 300:
        candidate_count = generator.randint(3, 5)
        # An odd number of voters rules out zero margins, so with distinct
        # margins the locking sequence is unique and needs no tie-breaking
        # (pref_voting enumerates every order of tied pairs, which is slow).
        voter_count = generator.choice([5, 7, 9, 11, 13, 15])
        ballots = _random_profile(generator, candidate_count, voter_count)
        result = ranked_pairs(ballots)
        if not _margins_distinct(result):
            continue
        profile = profiles.Profile(ballots)

        assert margin_based_methods.ranked_pairs(profile) == [result.order[0]]
        (defeat_graph,) = margin_based_methods.ranked_pairs_defeats(profile)
        assert tuple(networkx.topological_sort(defeat_graph)) == result.order
        assert result.tie_resolved is False
        compared += 1


def test_matches_pref_voting_zavist_tideman_winner_including_ties() -> None:
    margin_based_methods = pytest.importorskip("pref_voting.margin_based_methods")
    profiles = pytest.importorskip("pref_voting.profiles")

    generator = random.Random(167)
    for _ in range(300):
        candidate_count = generator.randint(3, 5)
        # Even voter counts and few voters make zero and equal margins common.
        ballots = _random_profile(generator, candidate_count, generator.choice([2, 4, 6, 3, 5]))
        profile = profiles.Profile(ballots)

        result = ranked_pairs(ballots)

        assert margin_based_methods.ranked_pairs_zt(profile) == [result.order[0]]
