"""Authors' changes to their own messages: own edits, and suggested edits.

A volunteer may change their own message's text while nobody has reviewed it (no
label or ranking vote, no review counted) or within the project's
``own_edit_window_minutes`` of writing it. Later, the change is a **suggestion** that
a moderator accepts (the text is applied as a revision credited to the author) or
declines. Both go through ``backend.trees.services.message_text_revise``, the core
moderators' edits use, so every version is kept and ``MessageEdited`` is emitted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from backend.assignments.models import LabelVote, RankingVote
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.moderation.models import EditSuggestion, EditSuggestionState, QueueReason
from backend.moderation.services import queue_item_raise
from backend.trees.lifecycle import tree_lock
from backend.trees.models import Message, Tree
from backend.trees.services import message_text_clean, message_text_revise

REASON_MAX_LENGTH = 2000


def _message_locked(message_id: int) -> tuple[Tree, Message]:
    tree_id = Message.objects.filter(pk=message_id).values_list("tree_id", flat=True).first()
    if tree_id is None:
        raise NotFound("message_not_found", "No such message.")
    # The tree lock orders this edit with reviews, rankings and moderation of the tree.
    tree = tree_lock(tree_id)
    message = Message.objects.get(pk=message_id)
    message.tree = tree
    return tree, message


def message_is_reviewed(message: Message) -> bool:
    """Someone has judged this message: a review counted, a label or ranking vote."""
    if message.review_count or message.review_result is not None or message.rank is not None:
        return True
    if LabelVote.objects.filter(message_id=message.pk).exists():
        return True
    if message.parent_id is None:
        return False
    rankings = RankingVote.objects.filter(parent_id=message.parent_id).values_list(
        "ranking", flat=True
    )
    return any(message.pk in (ranking or []) for ranking in rankings)


def own_edit_deadline(message: Message) -> datetime:
    return message.created_at + timedelta(minutes=message.tree.project.own_edit_window_minutes)


def message_is_editable_by_author(message: Message, *, now: datetime | None = None) -> bool:
    """The author may still change the text themselves (``message.tree.project`` loaded)."""
    if message.is_deleted:
        return False
    now = now or timezone.now()
    return now < own_edit_deadline(message) or not message_is_reviewed(message)


def _require_author(message: Message, user_id: int) -> None:
    if message.author_id is None or message.author_id != user_id:
        raise Forbidden("not_author", "Only the author of a message may do this.")
    if message.is_deleted:
        raise Conflict("message_deleted", "This message is deleted.")


def message_edit_own(*, message_id: int, user_id: int, text: object) -> tuple[Message, bool]:
    """The author changes their message's text; returns (message, changed).

    Sending the current text again changes nothing and is not an error, so a retried
    request is harmless. Once the message has been reviewed and the window has passed,
    409 ``edit_window_closed`` points to suggesting the edit instead.
    """
    with transaction.atomic():
        tree, message = _message_locked(message_id)
        _require_author(message, user_id)
        cleaned = message_text_clean(text=text, max_length=tree.project.max_message_length)
        if cleaned == message.text:
            return message, False
        if not message_is_editable_by_author(message):
            raise Conflict(
                "edit_window_closed",
                "This message has been reviewed and the time to edit it has passed; "
                "suggest the edit to the moderators instead.",
                hint="suggest_edit",
                suggest_url=f"/api/v1/messages/{message.pk}/suggestions",
            )
        before = message_text_revise(
            message=message, text=cleaned, editor_id=user_id, reason="edited by its author"
        )
        audit_record(
            action=AuditAction.MESSAGE_EDITED,
            target_type="message",
            target_id=message.pk,
            actor_id=user_id,
            project_id=tree.project_id,
            before={"text": before},
            after={"text": cleaned, "by_author": True},
            reason="edited by its author",
        )
        return message, True


def edit_suggestion_create(
    *, message_id: int, user_id: int, text: object, reason: object = ""
) -> tuple[EditSuggestion, bool]:
    """The author proposes a new text; returns (suggestion, created).

    One pending suggestion per message and author (a database constraint): sending
    the same text again returns it; a different text while one is pending is 409
    ``suggestion_pending``. The suggestion raises a moderation queue item.
    """
    reason = reason.strip() if isinstance(reason, str) else ""
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationFailed("reason", "too_long", f"At most {REASON_MAX_LENGTH} characters.")
    with transaction.atomic():
        tree, message = _message_locked(message_id)
        _require_author(message, user_id)
        cleaned = message_text_clean(text=text, max_length=tree.project.max_message_length)
        if cleaned == message.text:
            raise ValidationFailed("text", "unchanged", "The text is the same as now.")
        pending = (
            EditSuggestion.objects.select_for_update()
            .filter(message=message, author_id=user_id, state=EditSuggestionState.PENDING)
            .first()
        )
        if pending is not None:
            if pending.text == cleaned:
                return pending, False
            raise Conflict(
                "suggestion_pending",
                "You have a suggestion for this message waiting for a moderator.",
                suggestion_id=pending.pk,
            )
        suggestion = EditSuggestion.objects.create(
            message=message, author_id=user_id, text=cleaned, reason=reason
        )
        audit_record(
            action=AuditAction.EDIT_SUGGESTED,
            target_type="edit_suggestion",
            target_id=suggestion.pk,
            actor_id=user_id,
            project_id=tree.project_id,
            after={"message": message.pk, "text": cleaned},
            reason=reason,
        )
        queue_item_raise(
            reason=QueueReason.EDIT_SUGGESTION,
            tree=tree,
            message=message,
            details={"suggestion_id": suggestion.pk},
        )
        return suggestion, True


def _suggestion_locked(message_id: int, suggestion_id: int) -> tuple[Tree, Message, EditSuggestion]:
    tree, message = _message_locked(message_id)
    suggestion = (
        EditSuggestion.objects.select_for_update()
        .filter(pk=suggestion_id, message_id=message_id)
        .first()
    )
    if suggestion is None:
        raise NotFound("suggestion_not_found", "No such suggestion for this message.")
    if suggestion.state != EditSuggestionState.PENDING:
        raise Conflict(
            "suggestion_decided",
            f"This suggestion is already {suggestion.state}.",
            state=suggestion.state,
        )
    return tree, message, suggestion


def _decide(suggestion: EditSuggestion, state: EditSuggestionState, moderator_id: int) -> None:
    suggestion.state = state
    suggestion.decided_by_id = moderator_id
    suggestion.decided_at = timezone.now()
    suggestion.save(update_fields=["state", "decided_by", "decided_at"])


def edit_suggestion_accept(
    *, message_id: int, suggestion_id: int, moderator_id: int, note: str = ""
) -> EditSuggestion:
    """Apply a pending suggestion: a new revision credited to the author, audited."""
    with transaction.atomic():
        tree, message, suggestion = _suggestion_locked(message_id, suggestion_id)
        if message.is_deleted:
            raise Conflict("message_deleted", "This message is deleted.")
        reason = f"edit suggestion {suggestion.pk} accepted"
        before = message.text
        if suggestion.text != message.text:
            message_text_revise(
                message=message, text=suggestion.text, editor_id=suggestion.author_id, reason=reason
            )
            audit_record(
                action=AuditAction.MESSAGE_EDITED,
                target_type="message",
                target_id=message.pk,
                actor_id=moderator_id,
                project_id=tree.project_id,
                before={"text": before},
                after={"text": suggestion.text, "suggestion": suggestion.pk},
                reason=note or reason,
            )
        _decide(suggestion, EditSuggestionState.ACCEPTED, moderator_id)
        audit_record(
            action=AuditAction.EDIT_SUGGESTION_ACCEPTED,
            target_type="edit_suggestion",
            target_id=suggestion.pk,
            actor_id=moderator_id,
            project_id=tree.project_id,
            before={"state": EditSuggestionState.PENDING},
            after={"state": EditSuggestionState.ACCEPTED, "message": message.pk},
            reason=note,
        )
        return suggestion


def edit_suggestion_decline(
    *, message_id: int, suggestion_id: int, moderator_id: int, note: str = ""
) -> EditSuggestion:
    """Decline a pending suggestion; the message keeps its text."""
    with transaction.atomic():
        tree, message, suggestion = _suggestion_locked(message_id, suggestion_id)
        _decide(suggestion, EditSuggestionState.DECLINED, moderator_id)
        audit_record(
            action=AuditAction.EDIT_SUGGESTION_DECLINED,
            target_type="edit_suggestion",
            target_id=suggestion.pk,
            actor_id=moderator_id,
            project_id=tree.project_id,
            before={"state": EditSuggestionState.PENDING},
            after={"state": EditSuggestionState.DECLINED, "message": message.pk},
            reason=note,
        )
        return suggestion
