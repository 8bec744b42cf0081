"""Which parents of a growing tree get new reply slots. Pure: no ORM.

A tree may hold at most ``goal_tree_size`` messages that count (not rejected, not
deleted). Slots are handed out only up to that goal, so a tree never overshoots it
whatever the concurrency: every open or reserved slot is already counted.

Lonely-children preference (Open-Assistant's ``lonely_children_count`` /
``p_lonely_child_extension``): a parent with some but fewer than
``lonely_children_count`` replies cannot be ranked yet, so with probability
``p_lonely_child_extension`` the next slot goes to such a parent first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class ParentCapacity:
    message_id: int
    depth: int
    children: int  # replies that count plus slots already open or reserved under it


def allocate_reply_slots(
    parents: list[ParentCapacity],
    *,
    capacity: int,
    max_depth: int,
    max_children: int,
    lonely_children_count: int,
    p_lonely_child_extension: float,
    rng: random.Random,
) -> dict[int, int]:
    """Hand out up to ``capacity`` new slots, one at a time; returns {parent id: slots}."""
    children = {parent.message_id: parent.children for parent in parents}
    eligible = sorted(
        parent.message_id
        for parent in parents
        if parent.depth < max_depth and parent.children < max_children
    )
    allocated: dict[int, int] = {}
    while capacity > 0:
        open_parents = [pid for pid in eligible if children[pid] < max_children]
        if not open_parents:
            break
        lonely = [pid for pid in open_parents if 0 < children[pid] < lonely_children_count]
        pool = lonely if lonely and rng.random() < p_lonely_child_extension else open_parents
        chosen = rng.choice(pool)
        children[chosen] += 1
        allocated[chosen] = allocated.get(chosen, 0) + 1
        capacity -= 1
    return allocated
