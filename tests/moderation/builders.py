"""Trees in known states for the moderation tests.

The trees are built through the real services (the factories' volunteer drivers);
the moderation actions under test then go through the HTTP API.

- ``flat_tree(stage)``: goal 3, depth 1, two replies under the prompt, one review per
  message and one ranking (``tests.factories.SMALL_TREE``).
- ``deep_tree()``: goal 7, depth 2, two children everywhere — a prompt with replies
  A and B, A with replies A1 and A2, B with B1 and B2: three sibling groups, ranked,
  scored and ``ready_for_export``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from backend.accounts.models import User
from backend.assignments.models import WorkItem
from backend.assignments.needs import LIVE_ITEM_STATES
from backend.projects.models import Project
from backend.trees.models import Message, Tree
from tests.factories import (
    UserFactory,
    committed,
    growing_tree,
    people,
    rank,
    review,
    small_project,
    tree_state,
    write_prompt,
    write_reply,
)

FLAT_STAGES = (
    "prompt_review",
    "backlog",
    "growing",
    "one_reply",
    "ranking",
    "scoring",
    "ready_for_export",
)
DEEP_TREE = {"goal_tree_size": 7, "max_depth": 2, "max_children": 2}


def with_role(role: str, **fields: Any) -> User:
    """A user of a role (``admin`` is a staff superuser without groups)."""
    user = UserFactory(**fields)
    if role == "admin":
        user.is_staff = True
        user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
        user.groups.clear()
    elif role != "volunteer":
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
    return user


def api(user: User | None) -> APIClient:
    """A client signed in as ``user``, loaded afresh as a real request would (so a ban
    made since the object was read applies)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(User.objects.get(pk=user.pk))
    return client


def post(user: User | None, url: str, body: dict[str, Any] | None = None) -> Any:
    return api(user).post(url, body or {}, format="json")


def get(user: User | None, url: str, **params: Any) -> Any:
    return api(user).get(url, params)


@dataclass
class Built:
    project: Project
    tree: Tree
    root: Message
    author: User
    reviewer: User
    writers: list[User]
    voter: User
    replies: dict[str, Message] = field(default_factory=dict)

    def refresh(self) -> None:
        self.tree.refresh_from_db()
        self.root.refresh_from_db()
        for reply in self.replies.values():
            reply.refresh_from_db()


def flat_tree(stage: str, **overrides: Any) -> Built:
    """A goal-3 tree at ``stage``; ``one_reply`` is growing with reply A accepted.

    ``replies`` holds A and B (as far as they exist). Only ``ready_for_export`` commits
    (scoring runs on commit); ``backlog`` and ``scoring`` wait for a commit that never
    comes, as the lottery and scoring are on-commit work.
    """
    assert stage in FLAT_STAGES, stage
    project = small_project(**overrides)
    author, reviewer, writer_a, writer_b, voter = people(5)
    if stage in ("prompt_review", "backlog"):
        root = write_prompt(project, author)
        if stage == "backlog":
            review(root, [reviewer])
        built = Built(project, root.tree, root, author, reviewer, [writer_a, writer_b], voter)
        built.refresh()
        assert built.tree.state == stage
        return built
    tree, root = growing_tree(project, author, [reviewer])
    built = Built(project, tree, root, author, reviewer, [writer_a, writer_b], voter)
    if stage == "growing":
        return built
    built.replies["a"] = write_reply(root, writer_a)
    review(built.replies["a"], [reviewer])
    if stage == "one_reply":
        built.refresh()
        return built
    built.replies["b"] = write_reply(root, writer_b)
    review(built.replies["b"], [reviewer])
    if stage == "ranking":
        built.refresh()
        return built
    if stage == "scoring":
        rank(root, voter, [built.replies["a"], built.replies["b"]])
    else:
        with committed():
            rank(root, voter, [built.replies["a"], built.replies["b"]])
    built.refresh()
    assert built.tree.state == stage, built.tree.state
    return built


def deep_tree(**overrides: Any) -> Built:
    """Three ranked sibling groups (root: A > B, A: A1 > A2, B: B1 > B2), ready for
    export. Writers are, in order, the authors of A, B, A1, A2, B1, B2."""
    project = small_project(**{**DEEP_TREE, **overrides})
    author, reviewer, voter, *writers = people(3 + 6)
    tree, root = growing_tree(project, author, [reviewer])
    built = Built(project, tree, root, author, reviewer, writers, voter)
    names = iter(writers)
    for parent_name, names_below in (
        ("root", ("a", "b")),
        ("a", ("a1", "a2")),
        ("b", ("b1", "b2")),
    ):
        parent = root if parent_name == "root" else built.replies[parent_name]
        for name in names_below:
            built.replies[name] = write_reply(parent, next(names))
        for name in names_below:
            review(built.replies[name], [reviewer])
    assert tree_state(tree) == "ranking"
    with committed():
        for parent_name, best, worst in (("root", "a", "b"), ("a", "a1", "a2"), ("b", "b1", "b2")):
            parent = root if parent_name == "root" else built.replies[parent_name]
            rank(parent, voter, [built.replies[best], built.replies[worst]])
    built.refresh()
    assert built.tree.state == "ready_for_export"
    return built


# --- Looking at a tree's needs ----------------------------------------------------------


def needs(tree: Tree) -> list[tuple[str, int, int, int, int]]:
    """The tree's live work items: (kind, target id, required, completed, open slots)."""
    return [
        (item.kind, item.target_id, item.required, item.completed_count, item.open_slots)
        for item in WorkItem.objects.filter(tree=tree, state__in=LIVE_ITEM_STATES).order_by("pk")
    ]


def needs_by_state(tree: Tree) -> list[tuple[str, int, str]]:
    """Every work item of the tree: (kind, target id, state), oldest first."""
    return list(
        WorkItem.objects.filter(tree=tree).order_by("pk").values_list("kind", "target_id", "state")
    )


def counts(tree: Tree) -> dict[str, int]:
    """How many messages the tree has: all, counting (neither deleted nor rejected), deleted."""
    messages = list(Message.objects.filter(tree=tree))
    return {
        "messages": len(messages),
        "counting": sum(1 for message in messages if message.counts_toward_tree),
        "deleted": sum(1 for message in messages if message.is_deleted),
    }


def deleted_ids(tree: Tree) -> list[int]:
    return list(
        Message.objects.filter(tree=tree, is_deleted=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def everything() -> dict[str, Any]:
    """What a refused moderation call must leave untouched: the API contract tests'
    snapshot plus the moderation tables and message revisions."""
    from backend.moderation.models import QueueItem, Report, UserNote
    from backend.trees.models import MessageRevision
    from tests.api.scenario import db_snapshot

    return {
        **db_snapshot(),
        "trees_returning": list(Tree.objects.order_by("pk").values_list("pk", "halted_from_state")),
        "queue": list(
            QueueItem.objects.order_by("pk").values_list(
                "pk", "reason", "state", "occurrences", "claimed_by_id", "resolution", "note"
            )
        ),
        "reports": list(Report.objects.order_by("pk").values_list("pk", "reason")),
        "notes": list(UserNote.objects.order_by("pk").values_list("pk", "text")),
        "revisions": list(MessageRevision.objects.order_by("pk").values_list("pk", "text")),
        "deletion_events": list(
            Message.objects.order_by("pk").values_list("pk", "deletion_event_id")
        ),
    }
