from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from backend.accounts.models import User
from backend.assignments.models import Assignment, AssignmentState, Kind, WorkItem, WorkItemState
from backend.projects.models import SIMPLE_LABELS, LabellingMode, Project
from backend.trees.models import Message

# Labels about solving the task only make sense for assistant replies.
ASSISTANT_ONLY_LABELS = {"fails_task", "helpfulness"}


def label_specs_for(project: Project, kind: str) -> list[dict[str, Any]]:
    """The labels an assignment of ``kind`` asks, in schema order; ``spam`` always."""
    specs = []
    for spec in project.label_schema:
        name = spec["name"]
        if project.labelling_mode == LabellingMode.SIMPLE and name not in SIMPLE_LABELS:
            continue
        if name in ASSISTANT_ONLY_LABELS and kind != Kind.LABEL_ASSISTANT_REPLY:
            continue
        specs.append({**spec, "mandatory": bool(spec.get("mandatory")) or name == "spam"})
    if not any(spec["name"] == "spam" for spec in specs):
        specs.insert(0, {"name": "spam", "kind": "flag", "mandatory": True})
    return specs


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


def assignment_context(assignment: Assignment) -> dict[str, Any]:
    """What a person needs to do the assignment: conversation, candidates, labels."""
    conversation: list[Message] = []
    candidates: list[Message] = []
    tree_id = None
    item: WorkItem | None = assignment.work_item
    if item is not None:
        tree_id = item.tree_id
        conversation = conversation_for(item.target)
        if assignment.candidate_ids:
            by_id = {
                message.pk: message
                for message in Message.objects.filter(pk__in=assignment.candidate_ids)
            }
            candidates = [by_id[pk] for pk in assignment.candidate_ids if pk in by_id]
    labels = (
        label_specs_for(assignment.project, assignment.kind)
        if assignment.kind
        in ("label_initial_prompt", "label_prompter_reply", "label_assistant_reply")
        else []
    )
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
    counts = {kind: 0 for kind in Kind.values if kind != Kind.INITIAL_PROMPT}
    for row in rows:
        counts[row["kind"]] = row["slots"]
    return counts
