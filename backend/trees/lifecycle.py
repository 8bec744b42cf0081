"""The tree lifecycle: which state changes are allowed, and the one way to make them.

    prompt_review ─accepted─▶ backlog ─lottery─▶ growing ─grown─▶ ranking ─ranked─▶ scoring
          │                                         ▲                  │              │
          └─rejected─▶ aborted_low_grade            └──── regrow ──────┴──────────────┤
                                                                                      ▼
    any active state ─halt─▶ halted ─resume─▶ the state it left     ready_for_export
    scoring ─raised─▶ scoring_failed ─retry─▶ scoring              (or scoring_failed)
    moderation: abort ─▶ aborted_low_grade ─reopen─▶ the state it left (growing if past it)

``ALLOWED_TRANSITIONS`` is that drawing as data (docs/lifecycle-and-engine.md draws it
too); ``tree_transition`` refuses anything else. Services that decide *when* a tree
moves live in the engine (``backend.assignments``) and in ``backend.consensus``
(scoring); they lock the tree with ``tree_lock`` first — lock order everywhere:
tree → assignment → work item.
"""

from __future__ import annotations

from django.utils import timezone

from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.errors import Conflict
from backend.common.events import TreeStateChanged, emit
from backend.trees.models import ACTIVE_TREE_STATES, Tree, TreeState

S = TreeState
_REGROW = S.GROWING
ALLOWED_TRANSITIONS: dict[TreeState, frozenset[TreeState]] = {
    S.PROMPT_REVIEW: frozenset({S.BACKLOG, S.ABORTED_LOW_GRADE, S.HALTED}),
    S.BACKLOG: frozenset({S.GROWING, S.ABORTED_LOW_GRADE, S.HALTED}),
    S.GROWING: frozenset({S.RANKING, S.ABORTED_LOW_GRADE, S.HALTED}),
    S.RANKING: frozenset({S.SCORING, _REGROW, S.ABORTED_LOW_GRADE, S.HALTED}),
    S.SCORING: frozenset(
        {S.READY_FOR_EXPORT, S.SCORING_FAILED, _REGROW, S.ABORTED_LOW_GRADE, S.HALTED}
    ),
    S.READY_FOR_EXPORT: frozenset({_REGROW, S.ABORTED_LOW_GRADE}),
    S.SCORING_FAILED: frozenset({S.SCORING, _REGROW, S.ABORTED_LOW_GRADE}),
    # Resume returns to the state the tree left; reopen to the state it was aborted in
    # (growing when that was past growing: its work items were closed).
    S.HALTED: frozenset(
        {S.PROMPT_REVIEW, S.BACKLOG, S.GROWING, S.RANKING, S.SCORING, S.ABORTED_LOW_GRADE}
    ),
    S.ABORTED_LOW_GRADE: frozenset({S.PROMPT_REVIEW, S.BACKLOG, S.GROWING}),
}

# The audit action of an ordinary move into each state; halts, resumes, aborts,
# reopens and regrowth name their own.
_ARRIVAL_ACTIONS: dict[TreeState, AuditAction] = {
    S.PROMPT_REVIEW: AuditAction.TREE_PROMPT_REVIEW,
    S.BACKLOG: AuditAction.TREE_BACKLOG,
    S.GROWING: AuditAction.TREE_GROWING,
    S.RANKING: AuditAction.TREE_RANKING,
    S.SCORING: AuditAction.TREE_SCORING,
    S.READY_FOR_EXPORT: AuditAction.TREE_READY_FOR_EXPORT,
    S.ABORTED_LOW_GRADE: AuditAction.TREE_ABORTED_LOW_GRADE,
    S.SCORING_FAILED: AuditAction.TREE_SCORING_FAILED,
    S.HALTED: AuditAction.TREE_HALTED,
}


def tree_lock(tree_id: int) -> Tree:
    """The tree row, locked for this transaction (with its project loaded).

    NO KEY UPDATE: other transactions may still insert rows pointing at the tree.
    ``of=self``: select_related must not lock the project row as well.
    """
    return (
        Tree.objects.select_for_update(no_key=True, of=("self",))
        .select_related("project")
        .get(pk=tree_id)
    )


def tree_require_state(tree: Tree, *states: str) -> None:
    """409 ``invalid_tree_state`` unless the tree is in one of ``states``."""
    if tree.state not in states:
        raise Conflict(
            "invalid_tree_state",
            f"Tree {tree.pk} is {tree.state}; this needs {' or '.join(states)}.",
            tree_state=tree.state,
        )


def is_transition_allowed(before: str, after: str) -> bool:
    return TreeState(after) in ALLOWED_TRANSITIONS.get(TreeState(before), frozenset())


def tree_transition(
    tree: Tree,
    to_state: TreeState,
    *,
    actor_id: int | None = None,
    reason: str = "",
    action: AuditAction | None = None,
    is_automatic: bool = False,
) -> None:
    """Move a locked tree to ``to_state`` if the lifecycle allows it; writes the audit
    event and emits ``TreeStateChanged`` in the same transaction.

    Refuses (409 ``invalid_tree_transition``, nothing changed) a move the table does
    not list. ``halted_from_state`` is kept only by halted and aborted trees (the
    caller sets it before halting or aborting).
    """
    before = tree.state
    if not is_transition_allowed(before, to_state):
        raise Conflict(
            "invalid_tree_transition",
            f"Tree {tree.pk} cannot go from {before} to {to_state}.",
            tree_state=before,
        )
    tree.state = to_state
    tree.state_changed_at = timezone.now()
    if to_state not in (TreeState.HALTED, TreeState.ABORTED_LOW_GRADE):
        tree.halted_from_state = ""
    tree.save(update_fields=["state", "state_changed_at", "halted_from_state"])
    audit_record(
        action=action or _ARRIVAL_ACTIONS[to_state],
        target_type="tree",
        target_id=tree.pk,
        actor_id=actor_id,
        project_id=tree.project_id,
        before={"state": before},
        after={"state": str(to_state)},
        reason=reason,
        is_automatic=is_automatic,
    )
    emit(
        TreeStateChanged(
            tree_id=tree.pk,
            project_id=tree.project_id,
            before=str(before),
            after=str(to_state),
            actor_id=actor_id,
            reason=reason,
        )
    )


__all__ = [
    "ACTIVE_TREE_STATES",
    "ALLOWED_TRANSITIONS",
    "is_transition_allowed",
    "tree_lock",
    "tree_require_state",
    "tree_transition",
]
