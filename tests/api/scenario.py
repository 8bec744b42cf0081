"""Build trees in a known state through the public API, and snapshot the database.

A ``World`` is a small project (goal size 3, depth 1, two replies under the prompt, one
review per message, one ranking) with four volunteers:

- ``prompt_review``: alice wrote the prompt; its review item is open.
- ``growing``: bob accepted the prompt; the tree grows; two assistant reply slots.
- ``replies_in_review``: bob and carol wrote one reply each; both await review.
- ``ranking``: alice accepted both replies; the ranking item is open (bob and carol,
  the authors, are excluded; alice and dave may rank).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rest_framework.test import APIClient

from backend.accounts.models import User
from backend.assignments.lottery import trees_activate_waiting
from backend.assignments.models import (
    Assignment,
    IdempotencyRecord,
    LabelVote,
    RankingVote,
    WorkItem,
)
from backend.audit.models import AuditEvent
from backend.projects.models import Project
from backend.trees.models import Message, Reaction, Tree
from tests.helpers import GOOD_LABELS, claim, submit

SMALL_TREE = {
    "goal_tree_size": 3,
    "max_depth": 1,
    "max_children": 2,
    "num_reviews_initial_prompt": 1,
    "num_reviews_reply": 1,
    "num_required_rankings": 1,
    "requests_per_minute": 1000,
    "replies_per_minute": 1000,
}
STAGES = ("empty", "prompt_review", "growing", "replies_in_review", "ranking")
PROMPT_TEXT = "Which tree species grows the tallest, and why?"
REPLY_TEXTS = (
    "Coast redwoods: fog supplies water to their crowns.",
    "Mountain ash in Australia comes close, thanks to fast growth.",
)


def iso(value: datetime) -> str:
    """How DRF renders a UTC datetime."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def claim_ok(client: APIClient, project: str, kind: str = "any") -> dict[str, Any]:
    response = claim(client, project, kind)
    assert response.status_code == 201, response.content
    return response.json()


def submit_ok(client: APIClient, assignment_id: int, body: dict[str, Any]) -> dict[str, Any]:
    response = submit(client, assignment_id, body)
    assert response.status_code == 200, response.content
    return response.json()


@dataclass
class World:
    project: Project
    alice: User
    bob: User
    carol: User
    dave: User
    clients: dict[int, APIClient] = field(default_factory=dict)
    tree: Tree | None = None
    root: Message | None = None
    replies: list[Message] = field(default_factory=list)

    def client(self, user: User) -> APIClient:
        return self.clients[user.pk]

    def refresh(self) -> None:
        if self.tree is not None:
            self.tree.refresh_from_db()
        if self.root is not None:
            self.root.refresh_from_db()
        for reply in self.replies:
            reply.refresh_from_db()


def build_world(
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
    client_for: Callable[[User | None], APIClient],
    stage: str = "ranking",
    **overrides: Any,
) -> World:
    assert stage in STAGES, stage
    project = make_project(**{**SMALL_TREE, **overrides})
    users = [
        make_user(username=f"{name}-{project.slug}") for name in ("alice", "bob", "carol", "dave")
    ]
    world = World(project, *users)
    world.clients = {user.pk: client_for(user) for user in users}
    if STAGES.index(stage) < STAGES.index("prompt_review"):
        return world

    slug = project.slug
    assignment = claim_ok(world.client(world.alice), slug, "initial_prompt")
    written = submit_ok(world.client(world.alice), assignment["id"], {"text": PROMPT_TEXT})
    world.root = Message.objects.get(pk=written["message"]["id"])
    world.tree = Tree.objects.get(pk=written["message"]["tree_id"])
    if STAGES.index(stage) < STAGES.index("growing"):
        return world

    review = claim_ok(world.client(world.bob), slug, "label_initial_prompt")
    submit_ok(world.client(world.bob), review["id"], {"labels": GOOD_LABELS})
    # The prompt lottery runs on commit (Celery); tests inside one transaction run it here.
    trees_activate_waiting(project_id=project.pk, lang="en")
    if STAGES.index(stage) < STAGES.index("replies_in_review"):
        world.refresh()
        return world

    for author, text in zip((world.bob, world.carol), REPLY_TEXTS, strict=True):
        reply = claim_ok(world.client(author), slug, "assistant_reply")
        written = submit_ok(world.client(author), reply["id"], {"text": text})
        world.replies.append(Message.objects.get(pk=written["message"]["id"]))
    if STAGES.index(stage) < STAGES.index("ranking"):
        world.refresh()
        return world

    for _ in world.replies:
        review = claim_ok(world.client(world.alice), slug, "label_assistant_reply")
        submit_ok(world.client(world.alice), review["id"], {"labels": GOOD_LABELS})
    world.refresh()
    return world


def db_snapshot() -> dict[str, Any]:
    """Everything an API call could change; equal before and after a refused call."""
    return {
        "assignments": list(
            Assignment.objects.order_by("pk").values_list(
                "pk", "state", "finished_at", "result_message_id", "expires_at", "skip_reason"
            )
        ),
        "work_items": list(
            WorkItem.objects.order_by("pk").values_list(
                "pk", "state", "required", "open_slots", "completed_count"
            )
        ),
        "trees": list(Tree.objects.order_by("pk").values_list("pk", "state")),
        "messages": list(
            Message.objects.order_by("pk").values_list(
                "pk", "text", "review_count", "review_result", "rank", "is_deleted"
            )
        ),
        "label_votes": list(LabelVote.objects.order_by("pk").values_list("pk", "label", "value")),
        "ranking_votes": list(RankingVote.objects.order_by("pk").values_list("pk", "ranking")),
        "idempotency_records": list(IdempotencyRecord.objects.order_by("pk").values_list("pk")),
        "reactions": list(Reaction.objects.order_by("pk").values_list("pk", "emoji")),
        "audit_events": AuditEvent.objects.count(),
        "users": list(User.objects.order_by("pk").values_list("pk", "is_banned", "is_active")),
        "projects": list(Project.objects.order_by("pk").values_list("pk", "is_active")),
    }
