"""Moderation: the review queue, reports, bans, notes and auto-moderation.

Lock order: tree → assignment → work item → queue item. Resolving a queue item runs its
action first (which locks the tree) and only then marks the item resolved with a
conditional update, so a moderator's action and an automatic one on the same tree can
never wait on each other in a cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from backend.accounts.models import User
from backend.assignments.halting import tree_halt
from backend.assignments.models import REPLY_KINDS, Assignment, AssignmentState, WorkItem
from backend.audit.models import AuditAction, AuditEvent
from backend.audit.services import audit_record
from backend.common.errors import ArborError, Conflict, Forbidden, NotFound, ValidationFailed
from backend.common.events import ModerationResolved, emit
from backend.moderation import curation
from backend.moderation.models import (
    Ban,
    QueueItem,
    QueueItemReason,
    QueueItemState,
    QueueReason,
    Report,
    ReportReason,
    UserNote,
)
from backend.moderation.selectors import queue_filtered
from backend.realtime.events import send_moderators_event_on_commit
from backend.trees.lifecycle import tree_lock
from backend.trees.models import ACTIVE_TREE_STATES, Message, Tree, TreeState

logger = logging.getLogger(__name__)

CLAIM_MINUTES = 15
RESOLUTION_ACTIONS = ("dismiss", "delete_message", "halt_tree", "abort_tree", "ban_author")


def _queue_payload(item: QueueItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "reason": item.reason,
        "reasons": item.reasons,
        "state": item.state,
        "project_id": item.project_id,
        "claimed_by": item.claimed_by_id,
    }


# --- The queue ------------------------------------------------------------------------


def _queue_item_changed(item: QueueItem, *, action: AuditAction, moderator_id: int) -> None:
    """A moderator took or gave back an item: the audit event, and the moderators' live
    queues learn of it once the change is committed."""
    audit_record(
        action=action,
        target_type="queue_item",
        target_id=item.pk,
        actor_id=moderator_id,
        project_id=item.project_id,
    )
    send_moderators_event_on_commit("moderation.queue.changed", _queue_payload(item))


def _details_merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The details of an item raised again: new values win, except that lists are
    joined (in order, without repeats), so flags from several signals all stay."""
    merged = dict(old)
    for key, value in new.items():
        before = merged.get(key)
        if isinstance(before, list) and isinstance(value, list):
            merged[key] = before + [entry for entry in value if entry not in before]
        else:
            merged[key] = value
    return merged


def queue_item_raise(
    *,
    reason: QueueReason | str,
    tree: Tree,
    message: Message | None = None,
    details: dict[str, Any] | None = None,
) -> QueueItem:
    """Put something in the queue, or join its one live item: the reason is added to
    the item's reasons (once), ``details`` are merged into the item's and
    ``occurrences`` counts one more signal.

    A message (or a tree, for items without a message) has at most one live item: two
    signals raised at once both try to create it, the partial unique index lets one
    win, and the other joins the winner's item under its row lock.
    """
    reason = QueueReason(reason)
    live = QueueItem.objects.filter(tree=tree, message=message).exclude(
        state=QueueItemState.RESOLVED
    )
    for _ in range(3):
        with transaction.atomic():
            item = live.select_for_update().first()
            if item is not None:
                item.details = _details_merged(item.details, details or {})
                item.occurrences = F("occurrences") + 1
                item.save(update_fields=["details", "occurrences", "updated_at"])
                item.refresh_from_db()
                QueueItemReason.objects.bulk_create(
                    [QueueItemReason(item=item, reason=reason)], ignore_conflicts=True
                )
                break
        try:
            with transaction.atomic():
                item = QueueItem.objects.create(
                    project_id=tree.project_id,
                    lang=tree.lang,
                    reason=reason,
                    tree=tree,
                    message=message,
                    details=details or {},
                )
                QueueItemReason.objects.create(item=item, reason=reason)
            break
        except IntegrityError:  # raised concurrently by someone else: join theirs
            continue
    else:  # pragma: no cover - the next pass always finds the concurrent item
        raise Conflict("queue_busy", "The queue item is being changed; try again.")
    send_moderators_event_on_commit("moderation.queue.changed", _queue_payload(item))
    return item


def queue_item_claim(*, item_id: int, moderator_id: int) -> QueueItem:
    """Claim an item so no other moderator works on it; a claim lapses after 15 minutes.

    The conditional update decides between concurrent claims: exactly one wins.
    """
    now = timezone.now()
    claimable = (
        Q(state=QueueItemState.OPEN)
        | Q(state=QueueItemState.CLAIMED, claim_expires_at__lt=now)
        | Q(state=QueueItemState.CLAIMED, claimed_by_id=moderator_id)
    )
    with transaction.atomic():
        won = QueueItem.objects.filter(claimable, pk=item_id).update(
            state=QueueItemState.CLAIMED,
            claimed_by_id=moderator_id,
            claim_expires_at=now + timedelta(minutes=CLAIM_MINUTES),
        )
        item = QueueItem.objects.filter(pk=item_id).first()
        if item is None:
            raise NotFound("queue_item_not_found", "No such queue item.")
        if not won:
            if item.state == QueueItemState.RESOLVED:
                raise Conflict("already_resolved", "This item is already resolved.")
            raise Conflict(
                "already_claimed",
                "Another moderator is working on this item.",
                claimed_by=item.claimed_by_id,
            )
        _queue_item_changed(item, action=AuditAction.QUEUE_CLAIMED, moderator_id=moderator_id)
        return item


def queue_item_claim_next(
    *,
    moderator_id: int,
    project_slug: str | None = None,
    lang: str | None = None,
    reason: str | None = None,
    exclude_ids: Collection[int] = (),
) -> QueueItem | None:
    """Claim the next item to work on: one this moderator already holds, else the
    oldest open (or lapsed) item matching the filters, leaving out ``exclude_ids``
    (items the moderator skipped). ``None`` when nothing is left.

    Two moderators asking at once get different items: the claim's conditional update
    decides, and the loser tries the next candidate.
    """
    now = timezone.now()
    matching = queue_filtered(
        QueueItem.objects.exclude(pk__in=list(exclude_ids)),
        project_slug=project_slug,
        lang=lang,
        reason=reason,
    )
    held = (
        matching.filter(
            state=QueueItemState.CLAIMED, claimed_by_id=moderator_id, claim_expires_at__gte=now
        )
        .order_by("created_at", "pk")
        .first()
    )
    if held is not None:
        return held
    free = matching.filter(
        Q(state=QueueItemState.OPEN) | Q(state=QueueItemState.CLAIMED, claim_expires_at__lt=now)
    ).order_by("created_at", "pk")
    for _attempt in range(3):
        candidates = list(free.values_list("pk", flat=True)[:20])
        if not candidates:
            return None
        for item_id in candidates:
            try:
                return queue_item_claim(item_id=item_id, moderator_id=moderator_id)
            except Conflict:  # another moderator was faster: try the next one
                continue
    return None


def queue_item_release(*, item_id: int, moderator_id: int) -> QueueItem:
    """Give a claimed item back to the queue (the moderator skips it)."""
    with transaction.atomic():
        released = QueueItem.objects.filter(
            pk=item_id, state=QueueItemState.CLAIMED, claimed_by_id=moderator_id
        ).update(state=QueueItemState.OPEN, claimed_by=None, claim_expires_at=None)
        item = QueueItem.objects.filter(pk=item_id).first()
        if item is None:
            raise NotFound("queue_item_not_found", "No such queue item.")
        if not released:
            raise Conflict("not_claimed", "You do not hold this item.")
        _queue_item_changed(item, action=AuditAction.QUEUE_RELEASED, moderator_id=moderator_id)
        return item


def _resolution_carry_out(
    item: QueueItem, *, action: str, moderator_id: int, reason: str, hide_messages: bool
) -> None:
    """The action a resolution names, done by the service that owns it."""
    if action == "delete_message":
        if item.message is None:
            raise ValidationFailed(
                "action", "no_message", "This item is about a tree, not a message."
            )
        if not item.message.is_deleted:
            curation.message_delete(
                message_id=item.message.pk, actor_id=moderator_id, reason=reason
            )
    elif action == "halt_tree":
        tree = Tree.objects.get(pk=item.tree_id)
        if tree.state in ACTIVE_TREE_STATES:
            tree_halt(tree_id=tree.pk, actor_id=moderator_id, reason=reason)
    elif action == "abort_tree":
        curation.tree_abort(tree_id=item.tree_id, actor_id=moderator_id, reason=reason)
    elif action == "ban_author":
        author_id = item.message.author_id if item.message is not None else None
        if author_id is None:
            raise ValidationFailed("action", "no_author", "This item has no author to ban.")
        if not User.objects.filter(pk=author_id, is_banned=True).exists():
            user_ban(
                user_id=author_id, actor_id=moderator_id, reason=reason, hide_messages=hide_messages
            )


def queue_item_resolve(
    *,
    item_id: int,
    moderator_id: int,
    action: str,
    note: str = "",
    hide_messages: bool = False,
) -> QueueItem:
    """Resolve an item with an action (carried out here) and a note."""
    if action not in RESOLUTION_ACTIONS:
        raise ValidationFailed(
            "action", "invalid_choice", f"Action is one of {', '.join(RESOLUTION_ACTIONS)}."
        )
    item = QueueItem.objects.select_related("message").filter(pk=item_id).first()
    if item is None:
        raise NotFound("queue_item_not_found", "No such queue item.")
    now = timezone.now()
    with transaction.atomic():
        if item.state == QueueItemState.RESOLVED:
            raise Conflict("already_resolved", "This item is already resolved.")
        if (
            item.state == QueueItemState.CLAIMED
            and item.claimed_by_id != moderator_id
            and item.claim_expires_at is not None
            and item.claim_expires_at > now
        ):
            raise Conflict(
                "already_claimed",
                "Another moderator is working on this item.",
                claimed_by=item.claimed_by_id,
            )
        reason = note or f"queue item {item.pk}: {item.reason}"
        try:
            with transaction.atomic():
                _resolution_carry_out(
                    item,
                    action=action,
                    moderator_id=moderator_id,
                    reason=reason,
                    hide_messages=hide_messages,
                )
        except ArborError:
            # Under a concurrent resolution the action may find its work done (message
            # already deleted, tree already halted): say what really happened.
            if QueueItem.objects.filter(pk=item.pk, state=QueueItemState.RESOLVED).exists():
                raise Conflict("already_resolved", "This item is already resolved.") from None
            raise
        # The conditional update decides: a concurrent resolution or a claim taken over
        # in the meantime rolls this one back, action included.
        resolved = (
            QueueItem.objects.filter(pk=item.pk)
            .exclude(state=QueueItemState.RESOLVED)
            .filter(
                Q(state=QueueItemState.OPEN)
                | Q(claimed_by_id=moderator_id)
                | Q(claim_expires_at__lt=now)
            )
            .update(
                state=QueueItemState.RESOLVED,
                resolved_by_id=moderator_id,
                resolved_at=now,
                resolution=action,
                note=note,
            )
        )
        if not resolved:
            if QueueItem.objects.filter(pk=item.pk, state=QueueItemState.RESOLVED).exists():
                raise Conflict("already_resolved", "This item is already resolved.")
            raise Conflict("already_claimed", "Another moderator took this item over.")
        audit_record(
            action=AuditAction.QUEUE_RESOLVED,
            target_type="queue_item",
            target_id=item.pk,
            actor_id=moderator_id,
            project_id=item.project_id,
            before={"state": item.state},
            after={"state": QueueItemState.RESOLVED, "resolution": action},
            reason=note,
        )
        item.refresh_from_db()
        emit(
            ModerationResolved(
                queue_item_id=item.pk,
                project_id=item.project_id,
                tree_id=item.tree_id,
                message_id=item.message_id,
                action=action,
            )
        )
        send_moderators_event_on_commit("moderation.queue.changed", _queue_payload(item))
        return item


# --- Reports --------------------------------------------------------------------------


def report_create(*, message_id: int, reporter_id: int, reason: str, text: str = "") -> Report:
    if reason not in ReportReason.values:
        raise ValidationFailed(
            "reason", "invalid_choice", f"Reason is one of {', '.join(ReportReason.values)}."
        )
    message = Message.objects.select_related("tree").filter(pk=message_id).first()
    if message is None:
        raise NotFound("message_not_found", "No such message.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                report = Report.objects.create(
                    message=message, reporter_id=reporter_id, reason=reason, text=text[:5000]
                )
        except IntegrityError as error:
            raise Conflict("already_reported", "You already reported this message.") from error
        audit_record(
            action=AuditAction.MESSAGE_REPORTED,
            target_type="message",
            target_id=message.pk,
            actor_id=reporter_id,
            project_id=message.tree.project_id,
            after={"reason": reason},
            reason=text[:500],
        )
        queue_item_raise(
            reason=QueueReason.REPORT,
            tree=message.tree,
            message=message,
            details={
                "reports": Report.objects.filter(message=message).count(),
                "last_reason": reason,
            },
        )
        return report


# --- Auto-moderation ------------------------------------------------------------------


def _acted_automatically(*, action: AuditAction, target_type: str, target_id: int) -> bool:
    """Auto-moderation acts once per target: once a moderator has undone an automatic
    action, they have decided, and further signals only count on the queue item."""
    return AuditEvent.objects.filter(
        action=action, target_type=target_type, target_id=str(target_id), is_automatic=True
    ).exists()


def red_flags_check(*, message_id: int) -> None:
    """Queue a red-flagged message; at the project's threshold delete a reply's subtree
    or abort a tree at its root (both reversible, both in the audit log).

    The action (which locks the tree) comes before the queue item, the lock order
    ``queue_item_resolve`` follows too: the other way round, a moderator resolving this
    message's item while the threshold flag arrives would deadlock with it.
    """
    from backend.trees.models import Emoji, Reaction

    message = Message.objects.select_related("tree__project").get(pk=message_id)
    count = Reaction.objects.filter(message=message, emoji=Emoji.RED_FLAG).count()
    if count >= message.tree.project.auto_delete_red_flags and not message.is_deleted:
        reason = f"automatic: {count} red flags"
        try:
            with transaction.atomic():
                if message.parent_id is None:
                    if message.tree.state != TreeState.ABORTED_LOW_GRADE and not (
                        _acted_automatically(
                            action=AuditAction.TREE_ABORTED,
                            target_type="tree",
                            target_id=message.tree_id,
                        )
                    ):
                        curation.tree_abort(
                            tree_id=message.tree_id, actor_id=None, reason=reason, is_automatic=True
                        )
                elif not _acted_automatically(
                    action=AuditAction.MESSAGE_DELETED, target_type="message", target_id=message.pk
                ):
                    curation.message_delete(
                        message_id=message.pk, actor_id=None, reason=reason, is_automatic=True
                    )
        except ArborError as error:
            # A concurrent flag or a moderator got there first (already deleted), or the
            # tree cannot be aborted now: the flag itself still counts.
            logger.info("no automatic action on message %s: %s", message.pk, error.code)
    queue_item_raise(
        reason=QueueReason.RED_FLAG,
        tree=message.tree,
        message=message,
        details={"red_flags": count},
    )


def reply_skips_check(*, tree_id: int) -> None:
    """Queue a tree whose reply work is skipped a lot; halt it at the project's threshold.
    Runs after the skip committed (its own transaction), so it never holds an
    assignment lock while waiting for the tree."""
    tree = Tree.objects.select_related("project").get(pk=tree_id)
    skips = Assignment.objects.filter(
        work_item__tree_id=tree_id, kind__in=REPLY_KINDS, state=AssignmentState.SKIPPED
    ).count()
    if skips < tree.project.queue_reply_skips:
        return
    with transaction.atomic():
        queue_item_raise(reason=QueueReason.MANY_SKIPS, tree=tree, details={"reply_skips": skips})
    if (
        skips >= tree.project.auto_halt_reply_skips
        and tree.state in ACTIVE_TREE_STATES
        and not _acted_automatically(
            action=AuditAction.TREE_HALTED, target_type="tree", target_id=tree_id
        )
    ):
        try:
            tree_halt(
                tree_id=tree_id,
                actor_id=None,
                reason=f"automatic: {skips} skipped replies",
                is_automatic=True,
            )
        except ArborError:  # halted or finished meanwhile
            logger.info("tree %s was not halted: no longer active", tree_id)


def rejected_prompt_queue(*, tree: Tree, message: Message) -> None:
    queue_item_raise(reason=QueueReason.REJECTED_PROMPT, tree=tree, message=message)


def scoring_failed_queue(*, tree_id: int, attempts: int, error: str) -> None:
    """A tree whose scoring kept failing waits for a moderator (retry or abort)."""
    tree = Tree.objects.get(pk=tree_id)
    queue_item_raise(
        reason=QueueReason.SCORING_FAILED,
        tree=tree,
        details={"attempts": attempts, "error": error},
    )


# --- Users ----------------------------------------------------------------------------


def _lock_user(user_id: int) -> User:
    user = User.objects.select_for_update(no_key=True).filter(pk=user_id).first()
    if user is None:
        raise NotFound("user_not_found", "No such user.")
    return user


def _is_moderator(user: User) -> bool:
    return user.groups.filter(name="moderator").exists()


def _is_admin(user_id: int | None) -> bool:
    """Admins are staff; automatic actions (no actor) act with the system's authority."""
    return user_id is None or User.objects.filter(pk=user_id, is_staff=True).exists()


def user_ban(
    *, user_id: int, actor_id: int | None, reason: str = "", hide_messages: bool = False
) -> User:
    """Ban a user: their open assignments are cancelled (slots returned), their prompts
    waiting for review or the lottery are pulled out (aborted, reversibly), and their
    messages are hidden if the moderator chooses so.

    Nobody bans themselves (a banned moderator could undo nothing, not even that), and
    only admins ban moderators: moderators cannot lock each other out."""
    with transaction.atomic():
        user = _lock_user(user_id)
        if actor_id is not None and user.pk == actor_id:
            raise Forbidden("cannot_ban_self", "You cannot ban yourself.")
        if user.is_staff:
            raise Conflict("cannot_ban_admin", "Admins cannot be banned.")
        if _is_moderator(user) and not _is_admin(actor_id):
            raise Forbidden("cannot_ban_moderator", "Only admins can ban moderators.")
        if user.is_banned:
            raise Conflict("already_banned", "This user is already banned.")
        user.is_banned = True
        user.save(update_fields=["is_banned"])
        event = audit_record(
            action=AuditAction.USER_BANNED,
            target_type="user",
            target_id=user.pk,
            actor_id=actor_id,
            before={"is_banned": False},
            after={"is_banned": True, "hide_messages": hide_messages},
            reason=reason,
        )
        # Trees first (lock order: tree → assignment → item), every tree the ban touches
        # locked once, in one ascending order, so two bans can never wait on each other.
        waiting = list(
            Tree.objects.filter(
                root__author_id=user.pk, state__in=[TreeState.PROMPT_REVIEW, TreeState.BACKLOG]
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        hide_in: set[int] = set()
        if hide_messages:
            hide_in = set(
                Message.objects.filter(author=user, is_deleted=False).values_list(
                    "tree_id", flat=True
                )
            )
        hidden = 0
        for tree_id in sorted(set(waiting) | hide_in):
            tree = tree_lock(tree_id)
            if tree_id in waiting:
                curation.tree_abort_locked(
                    tree, actor_id=actor_id, reason=f"author banned: {reason}"
                )
            if tree_id in hide_in:
                ids = list(
                    Message.objects.filter(tree=tree, author=user, is_deleted=False).values_list(
                        "pk", flat=True
                    )
                )
                hidden += curation.messages_hide(
                    tree=tree,
                    message_ids=ids,
                    event=event,
                    actor_id=actor_id,
                    reason=f"author banned: {reason}",
                )
        cancelled = list(
            Assignment.objects.select_for_update(no_key=True)
            .filter(user=user, state=AssignmentState.ACTIVE)
            .order_by("pk")
            .values_list("pk", "work_item_id")
        )
        Assignment.objects.filter(pk__in=[pk for pk, _ in cancelled]).update(
            state=AssignmentState.CANCELLED, finished_at=timezone.now()
        )
        for _, work_item_id in cancelled:
            if work_item_id is not None:
                WorkItem.objects.filter(pk=work_item_id).update(open_slots=F("open_slots") + 1)
        ban = Ban.objects.create(
            user=user,
            banned_by_id=actor_id,
            event=event,
            reason=reason,
            hide_messages=hide_messages,
            hidden_messages=hidden,
            cancelled_assignments=len(cancelled),
        )
        ban.aborted_trees.set(waiting)
        # For people reading the audit log; unban reads the Ban row, never this.
        event.after = {
            **event.after,
            "aborted_trees": waiting,
            "hidden_messages": hidden,
            "cancelled_assignments": len(cancelled),
        }
        event.save(update_fields=["after"])
        return user


def user_unban(*, user_id: int, actor_id: int | None, reason: str = "") -> User:
    """Lift a ban and undo what it did: hidden messages and pulled prompts come back."""
    with transaction.atomic():
        user = _lock_user(user_id)
        if not user.is_banned:
            raise Conflict("not_banned", "This user is not banned.")
        ban = Ban.objects.filter(user=user, lifted_at__isnull=True).select_related("event").first()
        restored = reopened = 0
        if ban is not None:
            aborted = set(ban.aborted_trees.values_list("pk", flat=True))
            tree_ids = aborted | set(
                Message.objects.filter(deletion_event=ban.event).values_list("tree_id", flat=True)
            )
            for tree_id in sorted(tree_ids):
                tree = tree_lock(tree_id)
                was_aborted = tree.state == TreeState.ABORTED_LOW_GRADE
                restored += curation.messages_restore(
                    tree=tree,
                    event=ban.event,
                    actor_id=actor_id,
                    reason=f"author unbanned: {reason}",
                )
                tree.refresh_from_db()
                if tree_id in aborted and tree.state == TreeState.ABORTED_LOW_GRADE:
                    curation.tree_reopen_locked(
                        tree, actor_id=actor_id, reason=f"author unbanned: {reason}"
                    )
                # Restoring a hidden root reopens its tree too: count every tree reopened.
                reopened += was_aborted and tree.state != TreeState.ABORTED_LOW_GRADE
        if ban is not None:
            ban.lifted_at = timezone.now()
            ban.save(update_fields=["lifted_at"])
        user.is_banned = False
        user.save(update_fields=["is_banned"])
        audit_record(
            action=AuditAction.USER_UNBANNED,
            target_type="user",
            target_id=user.pk,
            actor_id=actor_id,
            before={"is_banned": True},
            after={"is_banned": False, "restored_messages": restored, "reopened_trees": reopened},
            reason=reason,
        )
        return user


def user_note_add(*, user_id: int, author_id: int, text: str) -> UserNote:
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise ValidationFailed("text", "blank", "A note needs text.")
    if not User.objects.filter(pk=user_id).exists():
        raise NotFound("user_not_found", "No such user.")
    with transaction.atomic():
        note = UserNote.objects.create(user_id=user_id, author_id=author_id, text=text[:5000])
        audit_record(
            action=AuditAction.USER_NOTED, target_type="user", target_id=user_id, actor_id=author_id
        )
        return note
