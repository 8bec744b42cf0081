"""Moderators' changes to messages and trees: delete/undelete, edit/revert, abort/reopen.

Each is one service that locks the tree, checks the current state, writes an audit
event in the same transaction and keeps the tree's needs right: a tree whose counting
messages change goes back to ``growing`` (see ``tree_regrow_locked``), so deleted
replies are replaced and changed sibling groups are ranked again.
"""

from __future__ import annotations

from django.db import transaction

from backend.assignments.growth import tree_advance_locked, tree_regrow_locked
from backend.assignments.needs import work_items_close
from backend.audit.models import AuditAction, AuditEvent
from backend.audit.services import audit_record
from backend.common.errors import Conflict, NotFound, ValidationFailed
from backend.trees.lifecycle import tree_lock, tree_require_state, tree_transition
from backend.trees.models import (
    ACTIVE_TREE_STATES,
    Message,
    MessageRevision,
    Tree,
    TreeState,
)
from backend.trees.services import message_text_clean, message_text_revise


def _subtree_ids(tree: Tree, root_id: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for message_id, parent_id in Message.objects.filter(tree=tree).values_list("pk", "parent_id"):
        if parent_id is not None:
            children.setdefault(parent_id, []).append(message_id)
    ids, pending = [], [root_id]
    while pending:
        current = pending.pop()
        ids.append(current)
        pending.extend(children.get(current, []))
    return sorted(ids)


def _message_in_locked_tree(message_id: int) -> tuple[Tree, Message]:
    reference = Message.objects.filter(pk=message_id).values_list("tree_id", flat=True).first()
    if reference is None:
        raise NotFound("message_not_found", "No such message.")
    tree = tree_lock(reference)
    return tree, Message.objects.get(pk=message_id)


def _close_needs_of(tree: Tree, message_ids: list[int]) -> None:
    """Reviews of, replies to and rankings involving these messages are no longer needed."""
    from django.db.models import Q

    work_items_close(tree=tree, query=Q(target_id__in=message_ids))


def messages_hide(
    *, tree: Tree, message_ids: list[int], event: AuditEvent, actor_id: int | None, reason: str
) -> int:
    """Soft-delete these messages (the tree is locked) and fix the tree's needs."""
    hidden = Message.objects.filter(pk__in=message_ids, is_deleted=False).update(
        is_deleted=True, deletion_event=event
    )
    if not hidden:
        return 0
    _close_needs_of(tree, message_ids)
    if tree.root_id in message_ids:
        tree_abort_locked(tree, actor_id=actor_id, reason=reason or "root message deleted")
    else:
        tree_regrow_locked(tree, actor_id=actor_id, reason=reason or "a message was deleted")
    return hidden


def messages_restore(*, tree: Tree, event: AuditEvent, actor_id: int | None, reason: str) -> int:
    """Undo the deletions made by ``event`` in this tree (the tree is locked)."""
    restored_ids = list(
        Message.objects.filter(tree=tree, deletion_event=event, is_deleted=True).values_list(
            "pk", flat=True
        )
    )
    if not restored_ids:
        return 0
    Message.objects.filter(pk__in=restored_ids).update(is_deleted=False, deletion_event=None)
    # Only an abort by moderation remembers where to return; a tree whose prompt was
    # rejected in review stays aborted (its root is merely visible again).
    if (
        tree.root_id in restored_ids
        and tree.state == TreeState.ABORTED_LOW_GRADE
        and tree.halted_from_state
    ):
        tree_reopen_locked(tree, actor_id=actor_id, reason=reason or "root message restored")
    else:
        tree_regrow_locked(tree, actor_id=actor_id, reason=reason or "a message was restored")
    return len(restored_ids)


def message_delete(
    *, message_id: int, actor_id: int | None, reason: str = "", is_automatic: bool = False
) -> Message:
    """Soft-delete a message with its subtree. Deleting the root aborts the tree.
    ``is_automatic``: auto-moderation's doing, not a person's (kept in the audit log)."""
    with transaction.atomic():
        tree, message = _message_in_locked_tree(message_id)
        if message.is_deleted:
            raise Conflict("already_deleted", "This message is already deleted.")
        ids = _subtree_ids(tree, message.pk)
        event = audit_record(
            action=AuditAction.MESSAGE_DELETED,
            target_type="message",
            target_id=message.pk,
            actor_id=actor_id,
            project_id=tree.project_id,
            before={"deleted": False},
            after={"deleted": True, "subtree": ids},
            reason=reason,
            is_automatic=is_automatic,
        )
        messages_hide(tree=tree, message_ids=ids, event=event, actor_id=actor_id, reason=reason)
        message.refresh_from_db()
        return message


def message_undelete(*, message_id: int, actor_id: int | None, reason: str = "") -> Message:
    """Restore a deleted message and whatever its deletion took with it."""
    with transaction.atomic():
        tree, message = _message_in_locked_tree(message_id)
        if not message.is_deleted or message.deletion_event_id is None:
            raise Conflict("not_deleted", "This message is not deleted.")
        event = AuditEvent.objects.get(pk=message.deletion_event_id)
        if event.target_type == "message" and event.target_id != str(message.pk):
            raise Conflict(
                "deleted_with_ancestor",
                f"This message was deleted with message {event.target_id}; undelete that one.",
            )
        restored = messages_restore(tree=tree, event=event, actor_id=actor_id, reason=reason)
        audit_record(
            action=AuditAction.MESSAGE_UNDELETED,
            target_type="message",
            target_id=message.pk,
            actor_id=actor_id,
            project_id=tree.project_id,
            before={"deleted": True},
            after={"deleted": False, "restored": restored},
            reason=reason,
        )
        message.refresh_from_db()
        return message


def message_edit(*, message_id: int, actor_id: int | None, text: str, reason: str = "") -> Message:
    """Change a message's text, keeping every version."""
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise ValidationFailed("text", "blank", "The text may not be blank.")
    with transaction.atomic():
        tree, message = _message_in_locked_tree(message_id)
        text = message_text_clean(text=text, max_length=tree.project.max_message_length)
        message.tree = tree
        before = message_text_revise(message=message, text=text, editor_id=actor_id, reason=reason)
        audit_record(
            action=AuditAction.MESSAGE_EDITED,
            target_type="message",
            target_id=message.pk,
            actor_id=actor_id,
            project_id=tree.project_id,
            before={"text": before},
            after={"text": text},
            reason=reason,
        )
        # message_text_revise has emitted MessageEdited.
        return message


def message_revert(
    *, message_id: int, revision_id: int, actor_id: int | None, reason: str = ""
) -> Message:
    """Make an earlier version current again (recorded as a new revision)."""
    revision = MessageRevision.objects.filter(pk=revision_id, message_id=message_id).first()
    if revision is None:
        raise NotFound("revision_not_found", "No such revision of this message.")
    return message_edit(
        message_id=message_id,
        actor_id=actor_id,
        text=revision.text,
        reason=reason or f"reverted to revision {revision_id}",
    )


def message_revisions(*, message_id: int) -> list[MessageRevision]:
    """Every version, oldest first; an unedited message has one (its current text)."""
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        raise NotFound("message_not_found", "No such message.")
    revisions = list(MessageRevision.objects.filter(message=message))
    if not revisions:
        revisions = [
            MessageRevision(
                message=message,
                text=message.text,
                editor_id=message.author_id,
                created_at=message.created_at,
            )
        ]
    return revisions


def tree_abort_locked(
    tree: Tree, *, actor_id: int | None, reason: str, is_automatic: bool = False
) -> None:
    """Abort a tree by moderation; ``tree_reopen_locked`` returns it to where it was."""
    if tree.state == TreeState.ABORTED_LOW_GRADE:
        return
    tree_require_state(
        tree,
        *ACTIVE_TREE_STATES,
        TreeState.HALTED,
        TreeState.READY_FOR_EXPORT,
        TreeState.SCORING_FAILED,
    )
    previous = tree.halted_from_state if tree.state == TreeState.HALTED else tree.state
    work_items_close(tree=tree)
    tree.halted_from_state = previous
    tree_transition(
        tree,
        TreeState.ABORTED_LOW_GRADE,
        actor_id=actor_id,
        reason=reason,
        action=AuditAction.TREE_ABORTED,
        is_automatic=is_automatic,
    )


def tree_reopen_locked(tree: Tree, *, actor_id: int | None, reason: str) -> None:
    tree_require_state(tree, TreeState.ABORTED_LOW_GRADE)
    if not tree.halted_from_state:
        raise Conflict(
            "not_reopenable", "This tree was rejected in review, not aborted by moderation."
        )
    target = TreeState(tree.halted_from_state)
    if target in (TreeState.RANKING, TreeState.SCORING, TreeState.READY_FOR_EXPORT):
        target = TreeState.GROWING  # its work items were closed; re-derive from growing
    tree_transition(
        tree, target, actor_id=actor_id, reason=reason, action=AuditAction.TREE_REOPENED
    )
    tree_advance_locked(tree)


def tree_abort(
    *, tree_id: int, actor_id: int | None, reason: str = "", is_automatic: bool = False
) -> Tree:
    with transaction.atomic():
        tree = tree_lock(tree_id)
        tree_abort_locked(tree, actor_id=actor_id, reason=reason, is_automatic=is_automatic)
        return tree


def tree_reopen(*, tree_id: int, actor_id: int | None, reason: str = "") -> Tree:
    with transaction.atomic():
        tree = tree_lock(tree_id)
        tree_reopen_locked(tree, actor_id=actor_id, reason=reason)
        return tree
