"""Undo my last submission: within ``UNDO_SECONDS`` a person may take back a review or
a ranking while nothing depends on it yet — its work item is still open, so the
message's review is not decided and the ranking group is not scored. The votes go, the
item's completion is given back, and the assignment is open again for a new answer.

Prompts and replies are not undone here: others may already build on a message at
once (it is offered for review), and the author has their own edits for a typo
(docs/community.md). A gold item in the stream is undone by its substitute.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from backend.accounts.models import User
from backend.assignments.gates import is_substituted, substituted_undo
from backend.assignments.kinds import get_kind
from backend.assignments.models import (
    Assignment,
    AssignmentState,
    LabelVote,
    RankingVote,
    WorkItem,
    WorkItemState,
)
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import Conflict, NotFound
from backend.common.events import AssignmentUndone, emit
from backend.trees.models import Tree

UNDO_SECONDS = 30
UNDOABLE_FIELDS = ("labels", "ranking")


def _refuse(detail: str) -> Conflict:
    return Conflict("undo_not_possible", detail)


def assignment_undo(*, user: User, assignment_id: int) -> Assignment:
    """Take back the person's submission of ``assignment_id`` (see the module)."""
    now = timezone.now()
    with transaction.atomic():
        # Lock order: tree → assignment → work item.
        item_row = (
            Assignment.objects.filter(pk=assignment_id, user=user)
            .values_list("work_item__tree_id", flat=True)
            .first()
        )
        if item_row is not None:
            Tree.objects.select_for_update(no_key=True).filter(pk=item_row).first()
        assignment = (
            Assignment.objects.select_for_update(no_key=True)
            .filter(pk=assignment_id, user=user)
            .first()
        )
        if assignment is None:
            raise NotFound("assignment_not_found", "No such assignment of yours.")
        if assignment.state != AssignmentState.SUBMITTED:
            raise Conflict(
                "assignment_not_submitted",
                f"This assignment is {assignment.state}.",
                assignment_state=assignment.state,
            )
        if assignment.finished_at is None or now - assignment.finished_at > timedelta(
            seconds=UNDO_SECONDS
        ):
            raise _refuse(f"A submission can be undone within {UNDO_SECONDS} seconds.")
        spec = get_kind(assignment.kind)
        if spec is None or spec.payload_field not in UNDOABLE_FIELDS:
            raise _refuse("Only reviews and rankings can be undone; edit your message instead.")
        message_id: int | None = None
        ranking_vote_id: int | None = None
        substituted = is_substituted(assignment)
        if substituted:
            substituted_undo(assignment)
        else:
            item = (
                WorkItem.objects.select_for_update(no_key=True)
                .filter(pk=assignment.work_item_id or 0)
                .first()
            )
            if item is None:
                raise _refuse("This work is no longer needed.")
            if item.state != WorkItemState.OPEN:
                raise _refuse("Others already build on this answer; it cannot be undone.")
            if spec.payload_field == "labels":
                message_id = item.target_id
                LabelVote.objects.filter(assignment=assignment).delete()
                with connection.cursor() as cursor:
                    cursor.execute(
                        "UPDATE trees_message SET review_count = review_count - 1"
                        " WHERE id = %s AND review_count > 0",
                        [item.target_id],
                    )
            else:
                ranking_vote_id = (
                    RankingVote.objects.filter(assignment=assignment)
                    .values_list("pk", flat=True)
                    .first()
                )
                RankingVote.objects.filter(assignment=assignment).delete()
            # The completion goes back; the assignment, open again, holds its slot.
            WorkItem.objects.filter(pk=item.pk, completed_count__gt=0).update(
                completed_count=item.completed_count - 1
            )
        assignment.state = AssignmentState.ACTIVE
        assignment.finished_at = None
        assignment.expires_at = max(
            assignment.expires_at, now + timedelta(minutes=assignment.project.reservation_minutes)
        )
        assignment.save(update_fields=["state", "finished_at", "expires_at"])
        audit_record(
            action=AuditAction.ASSIGNMENT_UNDONE,
            target_type="assignment",
            target_id=assignment.pk,
            actor_id=user.pk,
            project_id=assignment.project_id,
            after={"kind": assignment.kind},
        )
        emit(
            AssignmentUndone(
                assignment_id=assignment.pk,
                user_id=user.pk,
                project_id=assignment.project_id,
                kind=assignment.kind,
                message_id=message_id,
                ranking_vote_id=ranking_vote_id,
                is_substitute=substituted,
            )
        )
    return assignment
