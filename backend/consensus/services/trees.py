"""Scoring a finished tree: rank every sibling group, then the tree is ready for export.

A tree whose scoring raised goes to ``scoring_failed``, and is never left there for
good: the sweep retries it with exponential backoff (``scoring_failed_retry_due``);
after ``SCORING_MAX_ATTEMPTS`` failed attempts it stops retrying by itself and a
``TreeScoringGaveUp`` event puts it in the moderation queue, where a moderator (or an
admin, from the API, the web page or ``manage.py retry_scoring``) retries it by hand.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from backend.assignments.growth import current_rank_items, schedule_scoring
from backend.common.events import TreeScoringGaveUp, emit
from backend.consensus.services.ranking import ranking_group_score
from backend.realtime.events import send_user_event_on_commit
from backend.trees.lifecycle import tree_lock, tree_require_state, tree_transition
from backend.trees.models import Message, Tree, TreeState

logger = logging.getLogger(__name__)

SCORING_RETRY_BASE = timedelta(minutes=1)


def scoring_max_attempts() -> int:
    return int(getattr(settings, "SCORING_MAX_ATTEMPTS", 5))


def scoring_retry_delay(failures: int) -> timedelta:
    """Wait before automatic retry number ``failures``: 1, 2, 4, 8 … minutes."""
    return SCORING_RETRY_BASE * (2 ** max(0, failures - 1))


def tree_score(*, tree_id: int) -> str:
    """Rank every sibling group with ranked pairs and make the tree ready for export.

    Safe to run twice: a tree no longer in ``scoring`` is left alone. Any error marks
    the tree ``scoring_failed`` (retried, see the module docstring) instead of leaving
    it in ``scoring``.
    """
    try:
        with transaction.atomic():
            tree = tree_lock(tree_id)
            if tree.state != TreeState.SCORING:
                return tree.state
            _apply_rankings(tree)
            tree.scoring_failures = 0
            tree.save(update_fields=["scoring_failures"])
            tree_transition(tree, TreeState.READY_FOR_EXPORT, reason="ranks computed")
            return tree.state
    except Exception as error:
        logger.exception("scoring tree %s failed", tree_id)
        with transaction.atomic():
            tree = tree_lock(tree_id)
            if tree.state == TreeState.SCORING:
                tree.scoring_failures += 1
                tree.save(update_fields=["scoring_failures"])
                tree_transition(
                    tree, TreeState.SCORING_FAILED, reason=f"{type(error).__name__}: {error}"
                )
                if tree.scoring_failures >= scoring_max_attempts():
                    emit(
                        TreeScoringGaveUp(
                            tree_id=tree.pk,
                            project_id=tree.project_id,
                            attempts=tree.scoring_failures,
                            error=f"{type(error).__name__}: {error}"[:500],
                        )
                    )
            return tree.state


def _apply_rankings(tree: Tree) -> None:
    ranked_ids: set[int] = set()
    for item in current_rank_items(tree):
        ranked_ids.update(item.candidate_ids)
        # Ranked pairs over the item's ballots (stored as a RankingResult, with the
        # Plackett–Luce scores); unchanged ballots are not scored twice.
        result = ranking_group_score(parent_id=item.target_id, work_item_id=item.pk)
        if result is None:
            continue
        ranks = {message_id: position for position, message_id in enumerate(result.order)}
        for message in Message.objects.filter(pk__in=item.candidate_ids):
            new_rank = ranks.get(message.pk)
            if message.rank != new_rank:
                message.rank = new_rank
                message.save(update_fields=["rank"])
            if message.author_id is not None and new_rank is not None:
                send_user_event_on_commit(
                    message.author_id,
                    "message.ranked",
                    {"message_id": message.pk, "tree_id": tree.pk, "rank": new_rank},
                )
    # A message that left its group (deleted, or its group shrank below two) is unranked.
    Message.objects.filter(tree=tree, rank__isnull=False).exclude(pk__in=ranked_ids).update(
        rank=None
    )


def tree_retry_scoring(
    *, tree_id: int, actor_id: int | None = None, reason: str = "", is_automatic: bool = False
) -> Tree:
    """Send a ``scoring_failed`` tree back to ``scoring`` and owe its scoring to Celery.

    A retry by hand (a moderator, an admin's command) starts the attempt count again,
    so the tree gets its automatic retries anew should it fail once more.
    """
    with transaction.atomic():
        tree = tree_lock(tree_id)
        tree_require_state(tree, TreeState.SCORING_FAILED)
        if not is_automatic:
            tree.scoring_failures = 0
            tree.save(update_fields=["scoring_failures"])
        tree_transition(
            tree,
            TreeState.SCORING,
            actor_id=actor_id,
            reason=reason or "retry scoring",
            is_automatic=is_automatic,
        )
        schedule_scoring(tree)
        return tree


def scoring_failed_retry_due(*, now: object = None) -> list[int]:
    """The sweep's part: retry every ``scoring_failed`` tree whose backoff has passed
    and that has attempts left; returns the ids retried."""
    now = now or timezone.now()
    retried = []
    candidates = Tree.objects.filter(
        state=TreeState.SCORING_FAILED, scoring_failures__lt=scoring_max_attempts()
    ).values_list("pk", "scoring_failures", "state_changed_at")
    for tree_id, failures, changed_at in candidates:
        if now < changed_at + scoring_retry_delay(failures):  # type: ignore[operator]
            continue
        try:
            tree_retry_scoring(
                tree_id=tree_id,
                reason=f"automatic retry {failures} after a scoring failure",
                is_automatic=True,
            )
        except Exception:  # one tree must not stop the others; the next sweep tries again
            logger.exception("could not retry scoring of tree %s", tree_id)
            continue
        retried.append(tree_id)
    return retried
