"""What moderation does when lower layers report events (subscribed in ``apps.py``).

Handlers run inside the transaction that emitted the event; work that must not hold
that transaction's locks waits for the commit.
"""

from __future__ import annotations

from django.db import transaction

from backend.assignments.models import REPLY_KINDS
from backend.common.events import (
    AssignmentSkipped,
    MessageQualityFlagged,
    MessageReacted,
    MessageReviewed,
    TreeScoringGaveUp,
    subscribe,
)
from backend.moderation import services
from backend.moderation.models import QueueReason
from backend.trees.models import Emoji, Message, Tree


def on_message_reviewed(event: MessageReviewed) -> None:
    if event.is_root and not event.is_accepted:
        services.rejected_prompt_queue(
            tree=Tree.objects.get(pk=event.tree_id),
            message=Message.objects.get(pk=event.message_id),
        )


def on_message_reacted(event: MessageReacted) -> None:
    if event.emoji == Emoji.RED_FLAG:
        services.red_flags_check(message_id=event.message_id)


def on_assignment_skipped(event: AssignmentSkipped) -> None:
    if event.kind in REPLY_KINDS and event.tree_id is not None:
        tree_id = event.tree_id
        # After commit, in its own transaction: auto-moderation may halt the tree, which
        # must not happen while the skip's transaction holds the assignment lock.
        transaction.on_commit(lambda: services.reply_skips_check(tree_id=tree_id), robust=True)


def on_tree_scoring_gave_up(event: TreeScoringGaveUp) -> None:
    services.scoring_failed_queue(tree_id=event.tree_id, attempts=event.attempts, error=event.error)


def on_message_quality_flagged(event: MessageQualityFlagged) -> None:
    """A quality signal crossed its threshold: the message's queue item gains the
    reason ``quality_flag`` with the flag names (docs/quality.md)."""
    services.queue_item_raise(
        reason=QueueReason.QUALITY_FLAG,
        tree=Tree.objects.get(pk=event.tree_id),
        message=Message.objects.get(pk=event.message_id),
        details={"flags": list(event.flags)},
    )


def connect() -> None:
    subscribe(MessageReviewed, on_message_reviewed)
    subscribe(MessageReacted, on_message_reacted)
    subscribe(AssignmentSkipped, on_assignment_skipped)
    subscribe(TreeScoringGaveUp, on_tree_scoring_gave_up)
    subscribe(MessageQualityFlagged, on_message_quality_flagged)
