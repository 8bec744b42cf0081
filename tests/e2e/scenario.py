"""Data for the browser tests: one project with work of every kind waiting, made by
other volunteers through the real services (tests/factories.py drivers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.assignments.models import REPLY_KINDS, WorkItem
from backend.assignments.needs import LIVE_ITEM_STATES
from backend.projects.models import Project
from backend.projects.services import project_create
from backend.trees.models import Message, Tree
from tests.factories import SMALL_TREE, growing_tree, people, review, write_prompt, write_reply

# Trees of five: a prompt, two assistant replies, two user replies under one of them
# (lonely-children preference 1.0 puts both user replies under the same parent, so both
# kinds of ranking groups exist).
E2E_SETTINGS: dict[str, Any] = {
    **SMALL_TREE,
    "goal_tree_size": 5,
    "max_depth": 2,
    "max_children": 2,
    "lonely_children_count": 2,
    "p_lonely_child_extension": 1.0,
}


@dataclass
class EveryKind:
    project: Project
    ranking_tree: Tree
    reply_tree: Tree


def _parent_with_reply_slots(candidates: list[Message]) -> Message:
    item = WorkItem.objects.filter(
        target__in=candidates, kind__in=REPLY_KINDS, state__in=LIVE_ITEM_STATES
    ).first()
    assert item is not None, "no reply slot under the assistant replies"
    return item.target


def every_kind_project(slug: str = "e2e", **overrides: Any) -> EveryKind:
    project = project_create(
        slug=slug,
        name="End-to-end project",
        settings={**E2E_SETTINGS, **overrides},
        languages=["en", "de"],
        guidelines="# Be kind\n\nWrite `code` like this:\n\n```python\nprint('hello')\n```",
    )
    author, reviewer, writer, helper = people(4)
    # Review a prompt: one waits for its review.
    write_prompt(project, author, "How do tides work? Explain it to a ten-year-old.")
    # Reply as the assistant: a growing tree with two assistant slots under its prompt.
    growing_tree(project, author, [reviewer])
    # Review an assistant reply: one waits for its review.
    _, root = growing_tree(project, author, [reviewer])
    write_reply(root, writer, "Tides come from the Moon's pull on the oceans.")
    # Reply as the user + review a user reply: two accepted assistant replies, one user
    # reply under review and one user slot open.
    reply_tree, root = growing_tree(project, author, [reviewer])
    first = write_reply(
        root, writer, "Sure! Here is a **short** answer with a list:\n\n- one\n- two"
    )
    second = write_reply(root, helper, "Here is another answer with code:\n\n```\nx = 1\n```")
    review(first, [reviewer])
    review(second, [reviewer])
    write_reply(_parent_with_reply_slots([first, second]), author, "Why is that, though?")
    # Rank both kinds: a tree of five, every message accepted, now in ranking.
    ranking_tree, root = growing_tree(project, author, [reviewer])
    first = write_reply(root, writer, "Answer A: plants need light, water and warmth.")
    second = write_reply(root, helper, "Answer B: keep it near a sunny window and water weekly.")
    review(first, [reviewer])
    review(second, [reviewer])
    parent = _parent_with_reply_slots([first, second])
    follow_ups = [
        write_reply(parent, author, "Follow-up one: what about winter?"),
        write_reply(parent, reviewer, "Follow-up two: and in a dark flat?"),
    ]
    for message in follow_ups:
        review(message, [helper])
    ranking_tree.refresh_from_db()
    assert ranking_tree.state == "ranking", ranking_tree.state
    return EveryKind(project=project, ranking_tree=ranking_tree, reply_tree=reply_tree)
