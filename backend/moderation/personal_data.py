"""What moderation holds about a person, and what deleting their account does to
their contributions (registered in ``ModerationConfig.ready``; see
``backend.accounts.selfservice`` and docs/accounts.md)."""

from __future__ import annotations

from typing import Any

from django.db.models import F
from django.utils import timezone

from backend.assignments.models import Assignment, AssignmentState, WorkItem
from backend.moderation.curation import message_delete
from backend.moderation.models import EditSuggestion, EditSuggestionState, Report, UserNote
from backend.projects.models import AccountDeletionPolicy
from backend.trees.models import Message, MessageRevision

DELETION_REASON = "its author deleted their account"


def reports_of_person(user_id: int) -> list[dict[str, Any]]:
    return [
        {"message_id": message_id, "reason": reason, "text": text, "created_at": created_at}
        for message_id, reason, text, created_at in Report.objects.filter(reporter_id=user_id)
        .order_by("created_at", "pk")
        .values_list("message_id", "reason", "text", "created_at")
    ]


def edit_suggestions_of_person(user_id: int) -> list[dict[str, Any]]:
    fields = ("message_id", "text", "reason", "state", "created_at", "decided_at")
    mine = EditSuggestion.objects.filter(author_id=user_id).order_by("created_at", "pk")
    return list(mine.values(*fields))


def _assignments_cancel(user_id: int) -> int:
    """Open assignments go back to the pool (their slots reopen), as for a ban."""
    cancelled = list(
        Assignment.objects.select_for_update(no_key=True)
        .filter(user_id=user_id, state=AssignmentState.ACTIVE)
        .order_by("pk")
        .values_list("pk", "work_item_id")
    )
    Assignment.objects.filter(pk__in=[pk for pk, _ in cancelled]).update(
        state=AssignmentState.CANCELLED, finished_at=timezone.now()
    )
    for _, work_item_id in cancelled:
        if work_item_id is not None:
            WorkItem.objects.filter(pk=work_item_id).update(open_slots=F("open_slots") + 1)
    return len(cancelled)


def account_contributions_settle(user_id: int) -> dict[str, int]:
    """Apply each project's ``on_account_deletion`` policy to the person's messages.

    ``remove``: each message is deleted as a moderator deletes it (its replies with it,
    the tree regrows or, for a prompt, is aborted), shallowest first so a subtree is
    deleted once. Then, under either policy, the messages and the versions the person
    wrote lose their author: exports give them no author id, and nothing links them
    to the emptied account. Votes stay (consensus needs them) on the emptied account.
    """
    removed = 0
    to_remove = list(
        Message.objects.filter(
            author_id=user_id,
            is_deleted=False,
            tree__project__on_account_deletion=AccountDeletionPolicy.REMOVE,
        )
        .order_by("depth", "pk")
        .values_list("pk", flat=True)
    )
    for message_id in to_remove:
        if Message.objects.filter(pk=message_id, is_deleted=False).exists():
            message_delete(message_id=message_id, actor_id=user_id, reason=DELETION_REASON)
            removed += 1
    anonymised = Message.objects.filter(author_id=user_id).update(author=None)
    MessageRevision.objects.filter(editor_id=user_id).update(editor=None)
    pending = EditSuggestion.objects.filter(author_id=user_id, state=EditSuggestionState.PENDING)
    withdrawn = pending.update(state=EditSuggestionState.DECLINED, decided_at=timezone.now())
    notes, _ = UserNote.objects.filter(user_id=user_id).delete()
    return {
        "messages_removed": removed,
        "messages_without_author": anonymised,
        "assignments_cancelled": _assignments_cancel(user_id),
        "suggestions_withdrawn": withdrawn,
        "moderator_notes_removed": notes,
    }
