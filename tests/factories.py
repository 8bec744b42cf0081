"""Factories and service-level drivers for the lifecycle and assignment-rule tests.

The drivers act the way volunteers do, through the real services
(``assignment_claim_next``, ``assignment_submit``); only ``reserve`` short-cuts the
claim so that a test can point at one particular work item (it takes the slot with
the same conditional update a claim uses, so every counter stays consistent).

On-commit work (scoring, the prompt lottery, websocket events) only runs when a test
says so: wrap a step in ``committed()`` (Celery is eager without ``REDIS_URL``, so the
tasks run inline when the callbacks do). Never nest ``committed()`` blocks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import factory
from django.contrib.auth.models import Group
from django.db.models import F
from django.test import TestCase
from django.utils import timezone

from backend.accounts.models import User
from backend.assignments.lottery import trees_activate_waiting
from backend.assignments.models import (
    LABEL_KINDS,
    RANK_KINDS,
    REPLY_KINDS,
    Assignment,
    IdempotencyRecord,
    LabelVote,
    RankingVote,
    WorkItem,
    WorkItemState,
)
from backend.assignments.needs import LIVE_ITEM_STATES
from backend.assignments.services import assignment_claim_next, assignment_submit
from backend.audit.models import AuditEvent
from backend.projects.models import Project
from backend.projects.services import project_create
from backend.trees.models import Message, Tree

_texts = itertools.count()
_slugs = itertools.count()

# Small trees with one review per message and one ranking per group, and limits high
# enough that only the tests about limits ever meet them.
SMALL_TREE: dict[str, Any] = {
    "goal_tree_size": 3,
    "max_depth": 1,
    "max_children": 2,
    "num_reviews_initial_prompt": 1,
    "num_reviews_reply": 1,
    "num_required_rankings": 1,
    "max_active_trees": 10,
    "requests_per_minute": 1000,
    "replies_per_minute": 1000,
    "max_open_assignments": 100,
}

GOOD_LABELS = {"spam": 0, "lang_mismatch": 0}
SPAM_LABELS = {"spam": 1, "lang_mismatch": 0}


class UserFactory(factory.django.DjangoModelFactory):
    """A volunteer. The password is unusable, which skips the slow hasher."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    password = "!unusable"

    @factory.post_generation
    def volunteer_group(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            group, _ = Group.objects.get_or_create(name="volunteer")
            self.groups.add(group)


def people(count: int) -> list[User]:
    return UserFactory.create_batch(count)


def small_project(**overrides: Any) -> Project:
    languages = overrides.pop("languages", None)
    return project_create(
        slug=f"lifecycle-{next(_slugs)}",
        languages=languages,
        settings={**SMALL_TREE, **overrides},
    )


def unique_text(prefix: str = "message") -> str:
    return f"{prefix} number {next(_texts)}: something worth reading."


def committed() -> AbstractContextManager[list[Any]]:
    """Run the on-commit callbacks registered inside the block when it ends (as a
    commit would), including callbacks registered while those run."""
    return TestCase.captureOnCommitCallbacks(execute=True)


# --- Looking things up ----------------------------------------------------------------


def tree_state(tree: Tree) -> str:
    return Tree.objects.values_list("state", flat=True).get(pk=tree.pk)


def live_item(target: Message, kinds: Iterable[str]) -> WorkItem:
    return WorkItem.objects.get(target=target, kind__in=list(kinds), state__in=LIVE_ITEM_STATES)


def live_items(tree: Tree) -> list[WorkItem]:
    return list(WorkItem.objects.filter(tree=tree, state__in=LIVE_ITEM_STATES).order_by("pk"))


def tree_audit(tree: Tree) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """The tree's state-change audit trail: (action, before, after), oldest first."""
    return [
        (event.action, event.before, event.after)
        for event in AuditEvent.objects.filter(target_type="tree", target_id=str(tree.pk)).order_by(
            "pk"
        )
    ]


def snapshot() -> dict[str, Any]:
    """Everything a refused action must leave untouched."""
    return {
        "messages": list(
            Message.objects.order_by("pk").values_list(
                "pk", "text", "review_count", "review_result", "rank", "is_deleted"
            )
        ),
        "trees": list(Tree.objects.order_by("pk").values_list("pk", "state", "halted_from_state")),
        "items": list(
            WorkItem.objects.order_by("pk").values_list(
                "pk", "state", "required", "open_slots", "completed_count"
            )
        ),
        "assignments": list(
            Assignment.objects.order_by("pk").values_list("pk", "state", "result_message_id")
        ),
        "label_votes": LabelVote.objects.count(),
        "ranking_votes": RankingVote.objects.count(),
        "audit_events": AuditEvent.objects.count(),
        "idempotency_records": IdempotencyRecord.objects.count(),
    }


# --- Acting like volunteers -----------------------------------------------------------


def claim(user: User, project: Project, kind: str = "any", lang: str = "en") -> Assignment | None:
    return assignment_claim_next(user=user, project=project, lang=lang, kind=kind)


def reserve(user: User, item: WorkItem) -> Assignment:
    """Reserve this very item for ``user`` the way a claim does."""
    taken = WorkItem.objects.filter(pk=item.pk, state=WorkItemState.OPEN, open_slots__gt=0).update(
        open_slots=F("open_slots") - 1
    )
    assert taken, f"{item} has no open slot"
    return Assignment.objects.create(
        project_id=item.project_id,
        user=user,
        work_item=item,
        kind=item.kind,
        lang=item.lang,
        expires_at=timezone.now() + timedelta(minutes=60),
        candidate_ids=list(item.candidate_ids),
    )


def submit(user: User, assignment: Assignment, payload: dict[str, Any]) -> Message | None:
    return assignment_submit(user=user, assignment_id=assignment.pk, payload=payload).message


def write_prompt(
    project: Project, author: User, text: str | None = None, lang: str = "en"
) -> Message:
    assignment = claim(author, project, "initial_prompt", lang)
    assert assignment is not None
    message = submit(author, assignment, {"text": text or unique_text("prompt")})
    assert message is not None
    return message


def review(
    message: Message, reviewers: Sequence[User], votes: Sequence[dict[str, Any]] | None = None
) -> None:
    """Each reviewer answers the review of ``message`` (good labels unless ``votes``)."""
    votes = votes or [GOOD_LABELS] * len(reviewers)
    assert len(votes) == len(reviewers)
    for reviewer, labels in zip(reviewers, votes, strict=True):
        assignment = reserve(reviewer, live_item(message, LABEL_KINDS))
        submit(reviewer, assignment, {"labels": dict(labels)})


def write_reply(parent: Message, author: User, text: str | None = None) -> Message:
    assignment = reserve(author, live_item(parent, REPLY_KINDS))
    message = submit(author, assignment, {"text": text or unique_text("reply")})
    assert message is not None
    return message


def rank(parent: Message, voter: User, order: Sequence[Message]) -> None:
    assignment = reserve(voter, live_item(parent, RANK_KINDS))
    submit(voter, assignment, {"ranking": [message.pk for message in order]})


def growing_tree(project: Project, author: User, reviewers: Sequence[User]) -> tuple[Tree, Message]:
    """A tree whose prompt was accepted and drawn in the lottery."""
    root = write_prompt(project, author)
    review(root, reviewers[: project.num_reviews_initial_prompt])
    trees_activate_waiting(project_id=project.pk, lang=root.lang)
    tree = root.tree
    tree.refresh_from_db()
    assert tree.state == "growing", tree.state
    return tree, root
