from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from backend.accounts.models import User
from backend.assignments.gates import is_substituted, substituted_shown
from backend.assignments.kinds import all_kinds, get_kind
from backend.assignments.models import (
    Assignment,
    AssignmentState,
    LabelVote,
    WorkItem,
    WorkItemState,
)
from backend.projects.models import Project
from backend.trees.models import Message


def assignments_open_for(*, user: User) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(
            user=user, state=AssignmentState.ACTIVE, expires_at__gt=timezone.now()
        )
        .select_related("project", "work_item")
        .order_by("expires_at", "pk")
    )


def conversation_for(message: Message) -> list[Message]:
    """Root → message, following parents (a tree is at most a few dozen deep)."""
    path = [message]
    while path[-1].parent_id is not None:
        parent = Message.objects.get(pk=path[-1].parent_id)
        path.append(parent)
    return list(reversed(path))


@dataclass(frozen=True)
class _ShownMessage:
    pk: int
    role: str
    text: str


def assignment_context(assignment: Assignment) -> dict[str, Any]:
    """What a person needs to do the assignment: conversation, candidates, labels."""
    conversation: list[Any] = []
    candidates: list[Any] = []  # messages, or a kind's own candidates (turns)
    tree_id = None
    item: WorkItem | None = assignment.work_item
    if item is None and is_substituted(assignment):
        # A gold item: drawn like the messages of real work (``pk``, ``role``, ``text``).
        shown_conversation, shown_candidates = substituted_shown(assignment)
        conversation = [_ShownMessage(turn.id, turn.role, turn.text) for turn in shown_conversation]
        candidates = [_ShownMessage(turn.id, turn.role, turn.text) for turn in shown_candidates]
    elif item is not None:
        tree_id = item.tree_id
        conversation = conversation_for(item.target)
        if assignment.candidate_ids:
            by_id = {
                message.pk: message
                for message in Message.objects.filter(pk__in=assignment.candidate_ids)
            }
            candidates = [by_id[pk] for pk in assignment.candidate_ids if pk in by_id]
    spec = get_kind(assignment.kind)
    if spec is not None and spec.has_own_candidates and item is not None:
        candidates = list(spec.own_candidates(work_item_id=item.pk))
    labels = spec.labels(assignment.project) if spec is not None else []
    return {
        "tree_id": tree_id,
        "conversation": conversation,
        "candidates": candidates,
        "labels": labels,
    }


def work_available_counts(*, project: Project, lang: str) -> dict[str, int]:
    """Open slots per kind (not per person): what the dashboard and stats show."""
    from django.db.models import Sum

    rows = (
        WorkItem.objects.filter(
            project=project, lang=lang, state=WorkItemState.OPEN, open_slots__gt=0
        )
        .values("kind")
        .annotate(slots=Sum("open_slots"))
    )
    counts = {spec.name: 0 for spec in all_kinds() if spec.uses_work_item}
    for row in rows:
        counts[row["kind"]] = row["slots"]
    return counts


def labels_with_votes(project: Project, names: set[str]) -> set[str]:
    """Which of ``names`` somebody has voted on in the project (one indexed probe each)."""
    return {
        name
        for name in names
        if LabelVote.objects.filter(label=name, message__tree__project=project).exists()
    }


def work_available_for(*, user: User, project: Project, lang: str) -> dict[str, int]:
    """Per kind, how many items ``user`` could claim now: the claim's own rules (the
    same ``claimable`` query: open items with a free slot in this language, not their
    own message or ranking group, nothing they already hold, did or skipped), and
    none at all while the person is banned or at the project's open-assignment limit
    (a claim would be refused). Two queries, however many kinds and items."""
    from django.db.models import Count, Q

    from backend.assignments.claims import claimable

    names = [spec.name for spec in all_kinds() if spec.uses_work_item]
    counts = dict.fromkeys(names, 0)
    limits = Assignment.objects.filter(user=user).aggregate(
        open_count=Count(
            "pk", filter=Q(state=AssignmentState.ACTIVE, expires_at__gt=timezone.now())
        ),
    )
    if user.is_banned or limits["open_count"] >= project.max_open_assignments:
        return counts
    rows = (
        claimable(user_id=user.pk, project_id=project.pk, lang=lang, kinds=names)
        .order_by()
        .values("kind")
        .annotate(items=Count("pk"))
    )
    for row in rows:
        counts[row["kind"]] = row["items"]
    return counts
