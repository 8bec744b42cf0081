"""``allocate_reply_slots``: which parents of a growing tree get new reply slots. Pure."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from backend.assignments.policy import ParentCapacity, allocate_reply_slots

SETTINGS = {
    "max_depth": 3,
    "max_children": 3,
    "lonely_children_count": 2,
    "p_lonely_child_extension": 0.75,
}


def allocate(
    parents: list[ParentCapacity], capacity: int, seed: int = 0, **overrides
) -> dict[int, int]:
    return allocate_reply_slots(
        parents, capacity=capacity, rng=random.Random(seed), **{**SETTINGS, **overrides}
    )


def parent(message_id: int, depth: int = 0, children: int = 0) -> ParentCapacity:
    return ParentCapacity(message_id=message_id, depth=depth, children=children)


@pytest.mark.parametrize("seed", range(20))
def test_never_more_slots_than_capacity(seed: int):
    parents = [parent(1), parent(2, depth=1), parent(3, depth=1, children=1), parent(4, depth=2)]

    allocation = allocate(parents, capacity=4, seed=seed)

    assert sum(allocation.values()) == 4
    assert all(slots > 0 for slots in allocation.values())
    assert set(allocation) <= {1, 2, 3, 4}


@pytest.mark.parametrize("capacity", [0, -1, -5])
def test_no_capacity_no_slots(capacity: int):
    assert allocate([parent(1), parent(2)], capacity=capacity) == {}


def test_no_parents_no_slots():
    assert allocate([], capacity=10) == {}


@pytest.mark.parametrize("seed", range(20))
def test_capacity_beyond_the_room_fills_every_parent_exactly_to_max_children(seed: int):
    parents = [
        parent(1, children=0),
        parent(2, depth=1, children=1),
        parent(3, depth=2, children=3),
    ]

    allocation = allocate(parents, capacity=100, seed=seed)

    assert allocation == {1: 3, 2: 2}


def test_parents_at_or_below_max_depth_get_nothing():
    parents = [parent(1, depth=0), parent(2, depth=1), parent(3, depth=2), parent(4, depth=5)]

    for seed in range(30):
        allocation = allocate(parents, capacity=100, seed=seed, max_depth=2, max_children=2)
        assert allocation == {1: 2, 2: 2}


def test_max_depth_zero_parents_at_depth_zero_get_nothing():
    assert allocate([parent(1, depth=0)], capacity=5, max_depth=0) == {}


def test_a_parent_counts_its_open_slots_toward_max_children():
    # ``children`` includes slots already open or reserved under the parent.
    parents = [parent(1, children=3), parent(2, children=2)]

    for seed in range(30):
        assert allocate(parents, capacity=5, seed=seed, max_children=3) == {2: 1}


def test_a_parent_over_max_children_is_left_alone():
    # Settings may be lowered while trees are growing.
    assert allocate([parent(1, children=5)], capacity=5, max_children=3) == {}


@pytest.mark.parametrize("seed", range(50))
def test_with_p_one_a_lonely_parent_always_comes_first(seed: int):
    # 10 has one reply (lonely: fewer than two, more than none); 20 and 30 have none.
    parents = [parent(20), parent(10, children=1), parent(30)]

    assert allocate(parents, capacity=1, seed=seed, p_lonely_child_extension=1.0) == {10: 1}


@pytest.mark.parametrize("seed", range(20))
def test_with_p_one_lonely_parents_are_topped_up_to_the_lonely_count_first(seed: int):
    parents = [parent(10, children=1), parent(11, children=1), parent(20), parent(30)]

    allocation = allocate(
        parents, capacity=4, seed=seed, p_lonely_child_extension=1.0, lonely_children_count=3
    )

    # Each lonely parent needs two more to reach three; that takes all four slots.
    assert allocation == {10: 2, 11: 2}


def test_with_p_zero_the_lonely_parent_has_no_preference():
    parents = [parent(20), parent(10, children=1), parent(30)]

    chosen = Counter(
        next(iter(allocate(parents, capacity=1, seed=seed, p_lonely_child_extension=0.0)))
        for seed in range(900)
    )

    assert set(chosen) == {10, 20, 30}
    # A uniform draw among the three: about 300 each.
    for message_id in (10, 20, 30):
        assert 230 <= chosen[message_id] <= 370, chosen


def test_with_p_in_between_the_lonely_parent_is_preferred_in_proportion():
    parents = [parent(20), parent(10, children=1), parent(30)]

    chosen = Counter(
        next(iter(allocate(parents, capacity=1, seed=seed, p_lonely_child_extension=0.5)))
        for seed in range(1200)
    )

    # P(10) = 0.5 + 0.5 / 3 = 2/3.
    assert 0.61 <= chosen[10] / 1200 <= 0.72, chosen


def test_a_parent_without_replies_is_not_lonely():
    parents = [parent(10), parent(20)]

    chosen = Counter(
        next(iter(allocate(parents, capacity=1, seed=seed, p_lonely_child_extension=1.0)))
        for seed in range(200)
    )

    assert set(chosen) == {10, 20}


def test_a_parent_with_the_lonely_count_is_not_lonely():
    parents = [parent(10, children=2), parent(20), parent(30)]

    chosen = Counter(
        next(iter(allocate(parents, capacity=1, seed=seed, p_lonely_child_extension=1.0)))
        for seed in range(300)
    )

    assert set(chosen) == {10, 20, 30}


def test_the_same_seed_gives_the_same_allocation_whatever_the_input_order():
    parents = [parent(i, depth=i % 3, children=i % 2) for i in range(1, 12)]
    shuffled = parents[:]
    random.Random(99).shuffle(shuffled)

    for seed in range(20):
        first = allocate(parents, capacity=7, seed=seed)
        assert allocate(parents, capacity=7, seed=seed) == first
        assert allocate(shuffled, capacity=7, seed=seed) == first


def test_different_seeds_spread_the_slots():
    parents = [parent(i) for i in range(1, 6)]

    outcomes = {
        tuple(sorted(allocate(parents, capacity=2, seed=seed).items())) for seed in range(50)
    }

    assert len(outcomes) > 5


def test_the_input_is_not_changed():
    parents = [parent(1, children=1), parent(2)]
    copy = list(parents)

    allocate(parents, capacity=3)

    assert parents == copy
