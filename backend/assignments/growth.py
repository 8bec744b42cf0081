"""The engine's side of the tree lifecycle: what a tree needs next, and when it moves.

Every function here runs under the tree's row lock (``tree_lock``; lock order tree →
assignment → work item) and keeps one promise: calling ``tree_advance`` again is always
safe. It re-derives what the tree needs from its messages and items, which is why the
periodic sweep can call it for every active tree and no tree stays stuck.

Follow-up work leaves by name through the outbox (``backend.common.outbox``): scoring
of a finished tree (``backend.consensus``), the prompt lottery. Higher apps learn of
new and reviewed messages from domain events (``backend.common.events``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from backend.assignments.models import LabelVote, WorkItem, WorkItemState
from backend.assignments.needs import (
    LIVE_ITEM_STATES,
    label_kind_for,
    rank_kind_for,
    reply_kind_for,
    work_item_add_slots,
    work_item_create,
    work_items_close,
)
from backend.assignments.policy import ParentCapacity, allocate_reply_slots
from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common.events import MessageCreated, MessageReviewed, emit
from backend.common.outbox import enqueue
from backend.projects.models import Project
from backend.realtime.events import send_user_event_on_commit
from backend.trees.lifecycle import tree_lock, tree_require_state, tree_transition
from backend.trees.models import Message, Role, Tree, TreeState, text_digest

logger = logging.getLogger(__name__)

# A tree left in ``scoring`` longer than this is handed to Celery again by the sweep
# (the worker that had it may have died before acknowledging).
SCORING_STALE_AFTER = timedelta(minutes=5)
SCORE_TREE_TASK = "tasks.trees.score_tree"
LOTTERY_TASK = "tasks.trees.activate_waiting_trees"

PRIORITY_REVIEW = 20
PRIORITY_RANKING = 20
PRIORITY_REPLY = 0
PRIORITY_LONELY_REPLY = 10

# --- The acceptance rule ----------------------------------------------------------------
# Consensus (a higher layer) owns the rule; it registers it here when Django starts.
ReviewDecider = Callable[[Message], bool]
_review_decider: list[ReviewDecider] = []


def review_decider_register(decider: ReviewDecider) -> None:
    """Set the function that decides whether a fully reviewed message is accepted."""
    _review_decider[:] = [decider]


def _decide_review(message: Message) -> bool:
    if not _review_decider:
        raise RuntimeError("no acceptance rule registered (backend.consensus is not installed)")
    return _review_decider[0](message)


# --- Creating messages ----------------------------------------------------------------


def tree_create_from_prompt(*, project: Project, author_id: int, lang: str, text: str) -> Message:
    """A new prompt starts a tree in ``prompt_review`` with its review item."""
    tree = Tree.objects.create(project=project, lang=lang, state=TreeState.PROMPT_REVIEW)
    root = Message.objects.create(
        tree=tree,
        parent=None,
        depth=0,
        role=Role.PROMPTER,
        text=text,
        text_digest=text_digest(text),
        lang=lang,
        author_id=author_id,
    )
    tree.root = root
    tree.save(update_fields=["root"])
    audit_record(
        action=AuditAction.TREE_CREATED,
        target_type="tree",
        target_id=tree.pk,
        actor_id=author_id,
        project_id=project.pk,
        after={"state": TreeState.PROMPT_REVIEW, "root": root.pk},
    )
    _review_needed(tree, root, required=project.num_reviews_initial_prompt)
    return root


def message_create_reply(
    *,
    tree: Tree,
    parent: Message,
    author_id: int | None,
    text: str,
    model_name: str = "",
) -> Message:
    """A reply under ``parent``; it waits for its reviews before it can have replies.
    A model's reply (``model_name``) has no author and is marked synthetic."""
    tree_require_state(tree, TreeState.GROWING)
    role = Role.ASSISTANT if parent.role == Role.PROMPTER else Role.PROMPTER
    message = Message.objects.create(
        tree=tree,
        parent=parent,
        depth=parent.depth + 1,
        role=role,
        text=text,
        text_digest=text_digest(text),
        lang=tree.lang,
        author_id=author_id,
        synthetic=bool(model_name),
        model_name=model_name,
    )
    audit_record(
        action=AuditAction.MESSAGE_CREATED,
        target_type="message",
        target_id=message.pk,
        actor_id=author_id,
        project_id=tree.project_id,
        after={"tree": tree.pk, "parent": parent.pk, "role": role},
    )
    _review_needed(tree, message, required=tree.project.num_reviews_reply)
    return message


def _review_needed(tree: Tree, message: Message, *, required: int) -> None:
    """A new message's review item (its author excluded), and ``MessageCreated``."""
    work_item_create(
        tree=tree,
        target=message,
        kind=label_kind_for(message),
        required=required,
        excluded_user_ids=[message.author_id],
        priority=PRIORITY_REVIEW,
    )
    emit(
        MessageCreated(
            message_id=message.pk,
            tree_id=tree.pk,
            project_id=tree.project_id,
            author_id=message.author_id,
            is_root=message.parent_id is None,
        )
    )


# --- Reviews --------------------------------------------------------------------------


def message_review_finish(*, tree: Tree, message: Message) -> bool:
    """Decide acceptance once a message has all its reviews; the tree must be locked.

    Returns the decision. The root's decision moves the tree out of ``prompt_review``.
    The registered acceptance rule decides (``backend.consensus``: Open-Assistant's
    mean rule by default, or Dawid–Skene posteriors); it stores its aggregates. Emits
    ``MessageReviewed`` (moderation queues a rejected prompt).
    """
    accepted = bool(_decide_review(message))
    message.review_result = accepted
    message.save(update_fields=["review_result"])
    audit_record(
        action=AuditAction.MESSAGE_ACCEPTED if accepted else AuditAction.MESSAGE_REJECTED,
        target_type="message",
        target_id=message.pk,
        project_id=tree.project_id,
        before={"review_result": None},
        after={"review_result": accepted, "review_count": message.review_count},
    )
    emit(
        MessageReviewed(
            message_id=message.pk,
            tree_id=tree.pk,
            project_id=tree.project_id,
            author_id=message.author_id,
            is_root=message.parent_id is None,
            is_accepted=accepted,
        )
    )
    if message.author_id is not None:
        send_user_event_on_commit(
            message.author_id,
            "message.reviewed",
            {"message_id": message.pk, "tree_id": tree.pk, "accepted": accepted},
        )
    tree_advance_locked(tree)
    return accepted


# --- Advancing a tree -----------------------------------------------------------------


def tree_advance(*, tree_id: int) -> str:
    """Re-derive what the tree needs and move it on if it can. Safe to call any time."""
    with transaction.atomic():
        tree = tree_lock(tree_id)
        tree_advance_locked(tree)
        return tree.state


def tree_advance_locked(tree: Tree) -> None:
    """``tree_advance`` for a caller that already holds the tree's row lock."""
    if tree.state == TreeState.PROMPT_REVIEW:
        _advance_prompt_review(tree)
    elif tree.state == TreeState.GROWING:
        _advance_growing(tree)
    elif tree.state == TreeState.RANKING:
        _advance_ranking(tree)
    elif (
        tree.state == TreeState.SCORING
        and timezone.now() - tree.state_changed_at > SCORING_STALE_AFTER
    ):
        # Its scoring task was lost (broker down, worker died): queue it again.
        schedule_scoring(tree)


def _ensure_review_items(tree: Tree, messages: list[Message]) -> None:
    """Every message awaiting review has a live review item. Normally one is made with
    the message; this re-creates it after an abort closed it and the tree was reopened.
    People who already reviewed the message (and its author) are excluded."""
    waiting = [m for m in messages if m.review_result is None and not m.is_deleted]
    if not waiting:
        return
    live = set(
        WorkItem.objects.filter(
            tree=tree, target__in=waiting, kind__in=[label_kind_for(m) for m in waiting]
        )
        .filter(state__in=LIVE_ITEM_STATES)
        .values_list("target_id", flat=True)
    )
    project = tree.project
    for message in waiting:
        if message.pk in live:
            continue
        needed = (
            project.num_reviews_initial_prompt
            if message.parent_id is None
            else project.num_reviews_reply
        )
        reviewers = set(LabelVote.objects.filter(message=message).values_list("user_id", flat=True))
        work_item_create(
            tree=tree,
            target=message,
            kind=label_kind_for(message),
            required=max(1, needed - message.review_count),
            excluded_user_ids=[message.author_id, *reviewers],
            priority=PRIORITY_REVIEW,
        )


def _advance_prompt_review(tree: Tree) -> None:
    assert tree.root_id is not None, "a tree in prompt_review always has its root"
    root = Message.objects.get(pk=tree.root_id)
    if root.review_result is None and not root.is_deleted:
        _ensure_review_items(tree, [root])
        return
    if root.review_result and not root.is_deleted:
        tree_transition(tree, TreeState.BACKLOG, reason="initial prompt accepted")
        schedule_lottery(tree.project_id, tree.lang)
    else:
        work_items_close(tree=tree)
        tree_transition(tree, TreeState.ABORTED_LOW_GRADE, reason="initial prompt rejected")


def _counting(messages: list[Message]) -> list[Message]:
    return [message for message in messages if message.counts_toward_tree]


def _advance_growing(tree: Tree) -> None:
    project = tree.project
    messages = list(Message.objects.filter(tree=tree).order_by("pk"))
    by_id = {message.pk: message for message in messages}
    counting = _counting(messages)
    reply_items = {
        item.target_id: item
        for item in WorkItem.objects.filter(
            tree=tree, state__in=LIVE_ITEM_STATES, kind__in=["prompter_reply", "assistant_reply"]
        )
    }
    # Close reply items whose parent can no longer take replies (deleted or rejected).
    dead_parents = [
        target_id
        for target_id in reply_items
        if not by_id[target_id].counts_toward_tree or by_id[target_id].review_result is not True
    ]
    if dead_parents:
        work_items_close(tree=tree, query=Q(target_id__in=dead_parents))
        for target_id in dead_parents:
            del reply_items[target_id]

    _ensure_review_items(tree, counting)
    outstanding = {
        target_id: item.required - item.completed_count for target_id, item in reply_items.items()
    }
    _withdraw_surplus_slots(project, counting, reply_items, outstanding)
    size = len(counting)
    capacity = project.goal_tree_size - size - sum(outstanding.values())
    awaiting_review = any(message.review_result is None for message in counting)

    if capacity > 0:
        children_count: dict[int, int] = {}
        for message in counting:
            if message.parent_id is not None:
                children_count[message.parent_id] = children_count.get(message.parent_id, 0) + 1
        parents = [
            ParentCapacity(
                message_id=message.pk,
                depth=message.depth,
                children=children_count.get(message.pk, 0) + outstanding.get(message.pk, 0),
            )
            for message in counting
            if message.review_result is True
        ]
        # Seeded by the tree's shape so that re-running the policy is reproducible.
        rng = random.Random(f"{tree.pk}:{len(messages)}:{size}")
        allocation = allocate_reply_slots(
            parents,
            capacity=capacity,
            max_depth=project.max_depth,
            max_children=project.max_children,
            lonely_children_count=project.lonely_children_count,
            p_lonely_child_extension=project.p_lonely_child_extension,
            rng=rng,
        )
        for parent_id, slots in sorted(allocation.items()):
            parent = by_id[parent_id]
            item = reply_items.get(parent_id)
            if item is not None:
                work_item_add_slots(item=item, slots=slots)
            else:
                lonely = 0 < children_count.get(parent_id, 0) < project.lonely_children_count
                work_item_create(
                    tree=tree,
                    target=parent,
                    kind=reply_kind_for(parent),
                    required=slots,
                    excluded_user_ids=[parent.author_id],
                    priority=PRIORITY_LONELY_REPLY if lonely else PRIORITY_REPLY,
                )
            outstanding[parent_id] = outstanding.get(parent_id, 0) + slots

    if awaiting_review or any(outstanding.values()):
        return
    # Nothing pending and no slot could be opened: the goal size is reached or no
    # message can take another reply. Either way the tree is as grown as it gets.
    _start_ranking(tree, counting)


def _withdraw_surplus_slots(
    project: Project,
    counting: list[Message],
    reply_items: dict[int, WorkItem],
    outstanding: dict[int, int],
) -> None:
    """Take back free reply slots the tree no longer has room for.

    Slots are only handed out within the goal size and ``max_children``, but restoring
    a deleted message can leave more open than fit (the replacement its deletion
    opened, not taken yet). Free slots are withdrawn — under a parent over
    ``max_children`` first, then from the newest items — with the same conditional
    update a claim uses, so a slot claimed meanwhile is never taken back. Reserved
    slots stay: their replies may still be written. Updates ``outstanding``.
    """
    children_count: dict[int, int] = {}
    for message in counting:
        if message.parent_id is not None:
            children_count[message.parent_id] = children_count.get(message.parent_id, 0) + 1

    def withdraw(target_id: int, wanted: int) -> int:
        item_id = reply_items[target_id].pk
        withdrawn = 0
        while withdrawn < wanted and WorkItem.objects.filter(pk=item_id, open_slots__gt=0).update(
            required=F("required") - 1, open_slots=F("open_slots") - 1
        ):
            withdrawn += 1
        if withdrawn:
            outstanding[target_id] -= withdrawn
            # Nothing left to do (and so nobody holding it): the item is finished.
            if WorkItem.objects.filter(pk=item_id, required=F("completed_count")).update(
                state=WorkItemState.CLOSED
            ):
                del reply_items[target_id], outstanding[target_id]
        return withdrawn

    for target_id in sorted(reply_items):
        children = children_count.get(target_id, 0) + outstanding[target_id]
        over_children = children - project.max_children
        if over_children > 0:
            withdraw(target_id, over_children)
    over_goal = len(counting) + sum(outstanding.values()) - project.goal_tree_size
    for target_id in sorted(reply_items, key=lambda target: -reply_items[target].pk):
        if over_goal <= 0:
            break
        over_goal -= withdraw(target_id, over_goal)


def _sibling_groups(counting: list[Message]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for message in counting:
        if message.parent_id is not None and message.review_result is True:
            groups.setdefault(message.parent_id, []).append(message.pk)
    return {parent: sorted(ids) for parent, ids in groups.items() if len(ids) >= 2}


def _latest_rank_items(tree: Tree) -> dict[int, WorkItem]:
    """The newest ranking item per parent (older ones were superseded)."""
    latest: dict[int, WorkItem] = {}
    for item in WorkItem.objects.filter(
        tree=tree, kind__in=["rank_prompter_replies", "rank_assistant_replies"]
    ).order_by("pk"):
        latest[item.target_id] = item
    return latest


def current_rank_items(tree: Tree) -> list[WorkItem]:
    """The ranking items whose votes decide the tree's ranks: for every sibling group
    as it is now, the newest item offering exactly that group."""
    counting = _counting(list(Message.objects.filter(tree=tree)))
    groups = _sibling_groups(counting)
    latest = _latest_rank_items(tree)
    return [
        latest[parent_id]
        for parent_id, candidate_ids in sorted(groups.items())
        if parent_id in latest and sorted(latest[parent_id].candidate_ids) == candidate_ids
    ]


def _start_ranking(tree: Tree, counting: list[Message]) -> None:
    work_items_close(tree=tree)
    tree_transition(tree, TreeState.RANKING, reason="tree grown")
    by_id = {message.pk: message for message in counting}
    latest = _latest_rank_items(tree)
    for parent_id, candidate_ids in sorted(_sibling_groups(counting).items()):
        previous = latest.get(parent_id)
        if (
            previous is not None
            and sorted(previous.candidate_ids) == candidate_ids
            and previous.completed_count >= previous.required
        ):
            continue  # ranked before and unchanged since (the tree regrew elsewhere)
        parent = by_id[parent_id]
        work_item_create(
            tree=tree,
            target=parent,
            kind=rank_kind_for(parent),
            required=tree.project.num_required_rankings,
            excluded_user_ids=[by_id[candidate].author_id for candidate in candidate_ids],
            candidate_ids=candidate_ids,
            priority=PRIORITY_RANKING,
        )
    schedule_lottery(tree.project_id, tree.lang)
    _advance_ranking(tree)


PAST_GROWING_STATES = (TreeState.RANKING, TreeState.SCORING, TreeState.READY_FOR_EXPORT)


def tree_regrow_locked(tree: Tree, *, actor_id: int | None, reason: str) -> None:
    """A tree past ``growing`` whose counting messages changed (one deleted, rejected or
    restored) goes back to ``growing``: its size and sibling groups are no longer what
    was ranked. Replacements are collected, then only the changed groups are ranked
    again (an unchanged group keeps its completed ranking). The tree lock must be held.
    """
    if tree.state == TreeState.HALTED:
        if tree.halted_from_state in PAST_GROWING_STATES:
            # As below: its paused ranking items rank groups that no longer exist, and
            # resuming must not reopen them in a growing tree.
            work_items_close(tree=tree)
            tree.halted_from_state = TreeState.GROWING
            tree.save(update_fields=["halted_from_state"])
        return
    if tree.state not in PAST_GROWING_STATES:
        tree_advance_locked(tree)
        return
    work_items_close(tree=tree)
    tree_transition(
        tree, TreeState.GROWING, actor_id=actor_id, reason=reason, action=AuditAction.TREE_REGROWING
    )
    tree_advance_locked(tree)


def _groups_changed(tree: Tree) -> bool:
    """True when the sibling groups are no longer the ones being ranked (a message was
    deleted, rejected or restored without going through a curation service).

    Consistent means: every current group has a newest ranking item offering exactly
    its replies that is live or complete, and no live item ranks something that is no
    longer a group. ``_start_ranking`` always leaves a tree consistent, so regrowing
    on a mismatch cannot loop.
    """
    counting = _counting(list(Message.objects.filter(tree=tree)))
    groups = _sibling_groups(counting)
    latest = _latest_rank_items(tree)
    for parent_id, candidate_ids in groups.items():
        item = latest.get(parent_id)
        if item is None or sorted(item.candidate_ids) != candidate_ids:
            return True
        if item.state == WorkItemState.CLOSED and item.completed_count < item.required:
            return True
    return any(
        item.state in LIVE_ITEM_STATES and groups.get(parent_id) != sorted(item.candidate_ids)
        for parent_id, item in latest.items()
    )


def _advance_ranking(tree: Tree) -> None:
    if _groups_changed(tree):
        tree_regrow_locked(tree, actor_id=None, reason="sibling groups changed during ranking")
        return
    unfinished = WorkItem.objects.filter(
        tree=tree, kind__in=["rank_prompter_replies", "rank_assistant_replies"]
    ).filter(state__in=LIVE_ITEM_STATES)
    if unfinished.exists():
        return
    tree_transition(tree, TreeState.SCORING, reason="every sibling group has its rankings")
    schedule_scoring(tree)


def schedule_scoring(tree: Tree) -> None:
    """Owe the tree's scoring to ``backend.consensus`` once this transaction commits
    (through the outbox: a broker outage delays it, never loses it; the sweep re-sends
    trees left in ``scoring`` as a last resort, see ``SCORING_STALE_AFTER``)."""
    enqueue(SCORE_TREE_TASK, tree.pk)


def schedule_lottery(project_id: int, lang: str) -> None:
    """Owe a prompt-lottery draw for the language once this transaction commits."""
    enqueue(LOTTERY_TASK, project_id, lang)
