"""Scoring sibling groups: ranked pairs order, Plackett–Luce scores, agreement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from backend.assignments.models import RankingVote
from backend.consensus import versions
from backend.consensus.loading import load_ranking_votes
from backend.consensus.models import RankingResult
from backend.consensus.scoring.rankings import ScoredRankings, score_groups
from backend.trees.models import Message, Tree


def ranking_result_values(
    scored: ScoredRankings,
    group: int,
    *,
    project_id: int,
    now: datetime,
    stored: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The stored row of one scored group, as ``{attribute: value}`` (``stored``: that
    group's entry of ``scored.stored_values()``, when already made)."""
    parent, work_item = scored.votes.key(group)
    return {
        "project_id": project_id,
        "tree_id": int(scored.votes.tree[group]),
        "parent_id": parent,
        "work_item_id": work_item,
        "algorithm": versions.RANKED_PAIRS[0],
        "algorithm_version": versions.RANKED_PAIRS[1],
        "score_algorithm": versions.PLACKETT_LUCE[0],
        "score_algorithm_version": versions.PLACKETT_LUCE[1],
        **(stored if stored is not None else scored.stored_values()[group]),
        "last_vote_at": scored.last_vote_at(group),
        "computed_at": now,
    }


def is_current(row: RankingResult, *, votes_digest: str) -> bool:
    """Whether a stored result was computed from these ballots by today's rules."""
    return (
        row.votes_digest == votes_digest
        and row.algorithm_version == versions.RANKED_PAIRS[1]
        and row.score_algorithm_version == versions.PLACKETT_LUCE[1]
    )


def ranking_group_score(*, parent_id: int, work_item_id: int | None = None) -> RankingResult | None:
    """Score the ballots of one sibling group and store the result; None without ballots.

    The group is the ranking work item ``work_item_id`` under ``parent_id`` or, when
    not given, the newest item under it that has ballots (imported ballots without an
    item when there is none). The result depends only on the stored ballots and
    their timestamps, so scoring again — here, from the Celery task, or in a project
    rescore — gives the same row; an unchanged result is not rewritten. The parent
    row is locked while writing, so two scorers of one group take turns.
    """
    if work_item_id is None:
        work_item_id = RankingVote.objects.filter(
            parent_id=parent_id, work_item__isnull=False
        ).aggregate(newest=Max("work_item_id"))["newest"]
    votes = load_ranking_votes(
        parent_id=parent_id, work_item_id=work_item_id, itemless=work_item_id is None
    )
    if len(votes) == 0:
        return None
    scored = score_groups(votes)
    digest = scored.digests[0]
    project_id = Tree.objects.values_list("project_id", flat=True).get(pk=int(votes.tree[0]))
    with transaction.atomic():
        # NO KEY UPDATE: replies may still be inserted under the parent meanwhile.
        Message.objects.select_for_update(no_key=True).filter(pk=parent_id).first()
        existing = RankingResult.objects.filter(parent_id=parent_id, work_item_id=work_item_id)
        if work_item_id is None:
            existing = RankingResult.objects.filter(parent_id=parent_id, work_item__isnull=True)
        stored = existing.first()
        if stored is not None and is_current(stored, votes_digest=digest):
            return stored
        row = RankingResult(
            **ranking_result_values(scored, 0, project_id=project_id, now=timezone.now())
        )
        if stored is not None:
            row.pk = stored.pk
        row.save()
        return row
