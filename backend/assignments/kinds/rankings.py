"""Ranking sibling replies, best first. The last ballot a group needs has it scored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from backend.assignments import growth
from backend.assignments.models import Kind, RankingVote
from backend.assignments.needs import work_item_complete
from backend.assignments.registry import RankingInput, SubmitContext
from backend.common.errors import Conflict, ValidationFailed
from backend.common.outbox import enqueue
from backend.trees.models import Message

SCORE_RANKING_GROUP_TASK = "tasks.consensus.score_ranking_group"


class Ranking(RankingInput):
    def excluded_user_ids(self, *, target: Message) -> set[int]:
        # The author of the parent may rank its replies; the authors of the replies
        # themselves are excluded by the growth policy that makes the item.
        return set()

    def validate(self, context: SubmitContext, payload: Mapping[str, Any]) -> list[int]:
        ranking = payload.get("ranking")
        if not isinstance(ranking, list) or not all(
            isinstance(value, int) and not isinstance(value, bool) for value in ranking
        ):
            raise ValidationFailed("ranking", "required", "A ranking is a list of message ids.")
        offered = context.assignment.candidate_ids
        if len(set(ranking)) != len(ranking) or sorted(ranking) != sorted(offered):
            raise ValidationFailed(
                "ranking",
                "not_a_permutation",
                "Rank every offered reply exactly once, best first.",
            )
        return list(ranking)

    def apply(self, context: SubmitContext, value: list[int]) -> None:
        tree, item = context.tree, context.item
        assert tree is not None and item is not None
        current = sorted(
            Message.objects.filter(
                parent_id=item.target_id, is_deleted=False, review_result=True
            ).values_list("pk", flat=True)
        )
        if current != sorted(item.candidate_ids):
            raise Conflict(
                "candidates_changed",
                "The replies to rank changed since this assignment was made; request a new one.",
                current_candidates=current,
            )
        RankingVote.objects.create(
            parent_id=item.target_id,
            work_item_id=item.pk,
            user=context.user,
            assignment=context.assignment,
            ranking=value,
        )
        completed, required = work_item_complete(item.pk)
        if completed >= required:
            # Every ballot is in: score the group at once (Celery, after commit). The
            # tree's scoring would score it anyway; this shows results sooner.
            enqueue(SCORE_RANKING_GROUP_TASK, item.target_id, item.pk)
        growth.tree_advance_locked(tree)
        return None


class RankPrompterReplies(Ranking):
    name = Kind.RANK_PROMPTER_REPLIES.value
    title = _("Rank user replies")
    instruction = _("Order the user replies from best to worst.")


class RankAssistantReplies(Ranking):
    name = Kind.RANK_ASSISTANT_REPLIES.value
    title = _("Rank assistant replies")
    instruction = _("Order the assistant replies from best to worst.")


# In the order pages list them.
KINDS = (
    RankAssistantReplies(),
    RankPrompterReplies(),
)
