"""Writing the work items a tree needs. Called by the tree services under the tree lock.

Lock order everywhere in Arbor: tree → assignment → work item. A service that
changes items of a tree holds that tree's row lock first, so the policy for one tree
never races with itself; claims lock only the item they take (SKIP LOCKED) and never
wait on a tree.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import F, Q

from backend.assignments.models import (
    Assignment,
    AssignmentState,
    Kind,
    WorkItem,
    WorkItemExclusion,
    WorkItemState,
)
from backend.assignments.registry import get_kind
from backend.common.errors import Conflict
from backend.trees.models import Message, Role, Tree

LIVE_ITEM_STATES = (WorkItemState.OPEN, WorkItemState.PAUSED)


def label_kind_for(message: Message) -> Kind:
    if message.parent_id is None:
        return Kind.LABEL_INITIAL_PROMPT
    return (
        Kind.LABEL_PROMPTER_REPLY if message.role == Role.PROMPTER else Kind.LABEL_ASSISTANT_REPLY
    )


def reply_kind_for(parent: Message) -> Kind:
    """A prompter message gets assistant replies and the other way round."""
    return Kind.ASSISTANT_REPLY if parent.role == Role.PROMPTER else Kind.PROMPTER_REPLY


def rank_kind_for(parent: Message) -> Kind:
    return (
        Kind.RANK_ASSISTANT_REPLIES if parent.role == Role.PROMPTER else Kind.RANK_PROMPTER_REPLIES
    )


def work_item_create(
    *,
    tree: Tree,
    target: Message,
    kind: str,
    required: int,
    excluded_user_ids: Iterable[int | None] = (),
    candidate_ids: list[int] | None = None,
    priority: int = 0,
) -> WorkItem:
    item = WorkItem.objects.create(
        project_id=tree.project_id,
        tree=tree,
        target=target,
        kind=kind,
        lang=tree.lang,
        state=WorkItemState.PAUSED if tree.state == "halted" else WorkItemState.OPEN,
        required=required,
        open_slots=required,
        candidate_ids=candidate_ids or [],
        priority=priority,
    )
    spec = get_kind(kind)
    excluded = set(spec.excluded_user_ids(target=target)) if spec is not None else set()
    excluded.update(user_id for user_id in excluded_user_ids if user_id is not None)
    user_ids = sorted(excluded)
    WorkItemExclusion.objects.bulk_create(
        [WorkItemExclusion(work_item=item, user_id=user_id) for user_id in user_ids]
    )
    return item


def work_item_add_slots(*, item: WorkItem, slots: int) -> None:
    WorkItem.objects.filter(pk=item.pk).update(
        required=F("required") + slots, open_slots=F("open_slots") + slots
    )


def work_items_close(*, tree: Tree, query: Q | None = None) -> int:
    """Close live items of a tree and cancel their reservations.

    Assignments are cancelled before items are touched (lock order: assignment →
    item). A cancelled reservation's slot is not returned: the item is closed.
    """
    items = WorkItem.objects.filter(tree=tree, state__in=LIVE_ITEM_STATES)
    if query is not None:
        items = items.filter(query)
    item_ids = list(items.values_list("pk", flat=True))
    if not item_ids:
        return 0
    assignments_cancel(work_item_ids=item_ids)
    return WorkItem.objects.filter(pk__in=item_ids).update(state=WorkItemState.CLOSED)


def assignments_cancel(*, work_item_ids: list[int]) -> dict[int, int]:
    """Cancel active reservations on these items; returns {work item id: cancelled}."""
    from django.utils import timezone

    from backend.realtime.events import send_user_event_on_commit

    # Locked, so a concurrent skip or expiry (which give the slot back themselves) is
    # waited for and then no longer listed: counting a row this call did not cancel
    # would hand its slot back twice.
    active = list(
        Assignment.objects.select_for_update(no_key=True)
        .filter(work_item_id__in=work_item_ids, state=AssignmentState.ACTIVE)
        .order_by("pk")
        .values_list("pk", "user_id", "work_item_id")
    )
    if active:
        Assignment.objects.filter(
            pk__in=[pk for pk, _, _ in active], state=AssignmentState.ACTIVE
        ).update(state=AssignmentState.CANCELLED, finished_at=timezone.now())
    cancelled: dict[int, int] = {}
    for assignment_id, user_id, work_item_id in active:
        cancelled[work_item_id] = cancelled.get(work_item_id, 0) + 1
        send_user_event_on_commit(user_id, "assignment.cancelled", {"assignment_id": assignment_id})
    return cancelled


def work_items_set_state(*, tree: Tree, from_state: str, to_state: str) -> int:
    return WorkItem.objects.filter(tree=tree, state=from_state).update(state=to_state)


def work_item_complete(item_id: int) -> tuple[int, int]:
    """Count one more completion of the item; returns (completed_count, required).

    One conditional statement: a completion is counted only while one is still
    needed, and the item closes with its last one. The check constraints make a
    surplus impossible anyway; if the row count says none was taken, fail loudly.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE assignments_workitem"
            " SET completed_count = completed_count + 1,"
            " state = CASE WHEN completed_count + 1 >= required THEN %s ELSE state END"
            " WHERE id = %s AND completed_count < required"
            " RETURNING completed_count, required",
            [WorkItemState.CLOSED, item_id],
        )
        row = cursor.fetchone()
    if row is None:  # unreachable while the constraints hold; never store a surplus
        raise Conflict("work_item_full", "This work item already has all it needs.")
    return int(row[0]), int(row[1])
