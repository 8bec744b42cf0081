"""Services on trees and messages that need nothing of the engine: reactions.

The lifecycle (allowed transitions, locking) is ``backend.trees.lifecycle``; what a tree
needs and when it moves is the engine's (``backend.assignments``).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count

from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import NotFound, ValidationFailed
from backend.common.events import MessageReacted, emit
from backend.trees.models import Emoji, Message, Reaction


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
