"""A scripted history, played through the real services, with known points."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backend.accounts.models import User
from backend.projects.models import Project
from backend.trees.models import Message, Tree
from tests.factories import (
    SPAM_LABELS,
    committed,
    growing_tree,
    people,
    rank,
    review,
    small_project,
    write_reply,
)


@dataclass
class History:
    project: Project
    tree: Tree
    prompter: User  # prompt accepted
    reviewer: User  # reviewed every message
    best: User  # reply ranked 0 of 3
    middle: User  # reply ranked 1 of 3
    last: User  # reply ranked 2 of 3
    spammer: User  # reply rejected as spam
    agreeing: tuple[User, User]  # rankings identical to the consensus
    partly: User  # a ranking with one pair swapped (τ = 1/3)
    root: Message
    replies: dict[str, Message]


# Points each person ends with; see docs/community.md for the rules.
EXPECTED_POINTS = {
    "prompter": 4 + 4,  # prompt written + accepted
    "reviewer": 5 * 1,  # five reviews
    "best": 4 + 2 + 10,  # written + accepted + rank 0 of 3
    "middle": 4 + 2 + 5,  # rank 1 of 3: floor(10 * 1 / 2)
    "last": 4 + 2 + 0,  # rank 2 of 3
    "spammer": 4 - 10,  # written, rejected
    "agreeing": 2 + 5,  # ranking + τ = 1
    "partly": 2 + 1,  # ranking + floor(5 * 1/3)
}


def play_history(
    *, project: Project | None = None, after_step: Callable[[str], None] | None = None
) -> History:
    """``after_step(name)`` runs after each step (e.g. a ledger pass)."""

    def step(name: str) -> None:
        if after_step is not None:
            after_step(name)

    project = project or small_project(
        goal_tree_size=4, max_children=3, num_required_rankings=3, lonely_children_count=0
    )
    prompter, reviewer, best, middle, last, spammer, first, second, partly = people(9)
    tree, root = growing_tree(project, prompter, [reviewer])
    step("prompt accepted")
    replies = {"best": write_reply(root, best), "spam": write_reply(root, spammer)}
    step("replies written")
    review(replies["best"], [reviewer])
    review(replies["spam"], [reviewer], [SPAM_LABELS])
    step("replies reviewed")
    replies["middle"] = write_reply(root, middle)
    replies["last"] = write_reply(root, last)
    review(replies["middle"], [reviewer])
    review(replies["last"], [reviewer])
    step("tree grown")
    order = [replies["best"], replies["middle"], replies["last"]]
    rank(root, first, order)
    rank(root, second, order)
    with committed():
        rank(root, partly, [replies["best"], replies["last"], replies["middle"]])
    step("tree scored")
    tree.refresh_from_db()
    return History(
        project=project,
        tree=tree,
        prompter=prompter,
        reviewer=reviewer,
        best=best,
        middle=middle,
        last=last,
        spammer=spammer,
        agreeing=(first, second),
        partly=partly,
        root=root,
        replies=replies,
    )
