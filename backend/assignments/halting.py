"""Halting and resuming a tree: its work stops being handed out, then comes back."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from backend.assignments.growth import schedule_lottery, schedule_scoring, tree_advance_locked
from backend.assignments.models import WorkItem, WorkItemState
from backend.assignments.needs import assignments_cancel, work_items_set_state
from backend.audit.models import AuditAction
from backend.trees.lifecycle import tree_lock, tree_require_state, tree_transition
from backend.trees.models import ACTIVE_TREE_STATES, Tree, TreeState


def tree_halt(
    *, tree_id: int, actor_id: int | None, reason: str = "", is_automatic: bool = False
) -> Tree:
    """Stop handing out work for a tree; ``tree_resume`` returns it to where it was.

    Open reservations are cancelled and their slots given back to the (paused)
    items, so on resume the same work is offered again.
    """
    with transaction.atomic():
        tree = tree_lock(tree_id)
        tree_require_state(tree, *ACTIVE_TREE_STATES)
        item_ids = list(
            WorkItem.objects.filter(tree=tree, state=WorkItemState.OPEN).values_list(
                "pk", flat=True
            )
        )
        for work_item_id, cancelled in assignments_cancel(work_item_ids=item_ids).items():
            WorkItem.objects.filter(pk=work_item_id).update(open_slots=F("open_slots") + cancelled)
        work_items_set_state(
            tree=tree, from_state=WorkItemState.OPEN, to_state=WorkItemState.PAUSED
        )
        previous = tree.state
        tree.halted_from_state = previous
        tree_transition(
            tree,
            TreeState.HALTED,
            actor_id=actor_id,
            reason=reason,
            action=AuditAction.TREE_HALTED,
            is_automatic=is_automatic,
        )
        return tree


def tree_resume(*, tree_id: int, actor_id: int | None, reason: str = "") -> Tree:
    with transaction.atomic():
        tree = tree_lock(tree_id)
        tree_require_state(tree, TreeState.HALTED)
        target = TreeState(tree.halted_from_state or TreeState.GROWING)
        tree_transition(
            tree, target, actor_id=actor_id, reason=reason, action=AuditAction.TREE_RESUMED
        )
        work_items_set_state(
            tree=tree, from_state=WorkItemState.PAUSED, to_state=WorkItemState.OPEN
        )
        tree_advance_locked(tree)
        # What the tree was waiting for may have been dropped while it was halted (a
        # scoring task or lottery draw finds it halted and does nothing): ask again,
        # rather than leave it to the sweep (minutes later for a fresh ``scoring``).
        if tree.state == TreeState.SCORING:
            schedule_scoring(tree)
        elif tree.state == TreeState.BACKLOG:
            schedule_lottery(tree.project_id, tree.lang)
        return tree
