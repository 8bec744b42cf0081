"""Services on trees and messages that need nothing of the engine: reactions, and the
revision-keeping core every change of a message's text goes through.

The lifecycle (allowed transitions, locking) is ``backend.trees.lifecycle``; what a tree
needs and when it moves is the engine's (``backend.assignments``).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import NotFound, ValidationFailed
from backend.common.events import MessageEdited, MessageReacted, emit
from backend.trees.models import (
    Emoji,
    Message,
    MessageRevision,
    Reaction,
    Tree,
    text_digest,
)


def message_text_clean(*, text: object, max_length: int) -> str:
    """The text a message would get, or a field-level 400 (blank, too long)."""
    cleaned = text.strip() if isinstance(text, str) else ""
    if not cleaned:
        raise ValidationFailed("text", "blank", "The text may not be blank.")
    if len(cleaned) > max_length:
        raise ValidationFailed("text", "too_long", f"At most {max_length} characters.")
    return cleaned


def message_text_revise(
    *, message: Message, text: str, editor_id: int | None, reason: str = ""
) -> str:
    """Give ``message`` the (cleaned) ``text``, keeping every version; returns the old text.

    The caller holds the lock on the message's tree and writes the audit event: a
    moderator's edit, an author's own edit and an accepted suggestion differ only in
    who may make them. The first revision of a message also stores its original text
    (credited to its author), so the revisions list every version, the current one
    last. ``MessageEdited`` tells the higher layers (quality signals) to look again.
    """
    if text == message.text:
        raise ValidationFailed("text", "unchanged", "The text is the same as now.")
    if not MessageRevision.objects.filter(message=message).exists():
        MessageRevision.objects.create(
            message=message,
            text=message.text,
            editor_id=message.author_id,
            created_at=message.created_at,
        )
    MessageRevision.objects.create(
        message=message, text=text, editor_id=editor_id, reason=reason, created_at=timezone.now()
    )
    before = message.text
    message.text = text
    message.text_digest = text_digest(text)
    message.save(update_fields=["text", "text_digest"])
    emit(
        MessageEdited(
            message_id=message.pk,
            tree_id=message.tree_id,
            project_id=message.tree.project_id,
            actor_id=editor_id,
        )
    )
    return before


def message_react(*, message_id: int, user_id: int, emoji: str) -> tuple[Message, bool]:
    """Add ``emoji`` from this person to the message; returns (message, created).

    Reacting twice with the same emoji is a no-op, not an error, so a retried request
    is harmless.
    """
    if emoji not in Emoji.values:
        raise ValidationFailed(
            "emoji", "invalid_choice", f"Emoji is one of {', '.join(Emoji.values)}."
        )
    with transaction.atomic():
        message = Message.objects.select_related("tree").filter(pk=message_id).first()
        if message is None:
            raise NotFound("message_not_found", "No such message.")
        if emoji == Emoji.RED_FLAG:
            # Red flags count towards automatic deletion: one at a time per tree, so
            # that each one counts those before it. Without the lock, flags arriving
            # together each counted only themselves and none reached the threshold.
            # The tree, not the message: moderation locks the tree first too.
            Tree.objects.select_for_update().filter(pk=message.tree_id).first()
        _, created = Reaction.objects.get_or_create(message=message, user_id=user_id, emoji=emoji)
        if created:
            audit_record(
                action=AuditAction.MESSAGE_REACTED,
                target_type="message",
                target_id=message.pk,
                actor_id=user_id,
                project_id=message.tree.project_id,
                after={"emoji": emoji},
            )
            emit(
                MessageReacted(
                    message_id=message.pk,
                    tree_id=message.tree_id,
                    project_id=message.tree.project_id,
                    user_id=user_id,
                    emoji=emoji,
                )
            )
            if emoji == Emoji.RED_FLAG:
                # Moderation may have hidden it (enough red flags): answer as it is now.
                message.refresh_from_db()
        return message, created


def reaction_counts(message_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    rows = (
        Reaction.objects.filter(message_id__in=message_ids)
        .values("message_id", "emoji")
        .annotate(count=Count("pk"))
    )
    for row in rows:
        counts.setdefault(row["message_id"], {})[row["emoji"]] = row["count"]
    return counts
