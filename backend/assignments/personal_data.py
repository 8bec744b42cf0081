"""What the engine holds about a person, for "Download my data": their votes
(registered in ``AssignmentsConfig.ready``; see ``backend.accounts.selfservice``)."""

from __future__ import annotations

from typing import Any

from backend.assignments.models import LabelVote, RankingVote


def label_votes_of_person(user_id: int) -> list[dict[str, Any]]:
    return [
        {"message_id": message_id, "label": label, "value": value, "created_at": created_at}
        for message_id, label, value, created_at in LabelVote.objects.filter(user_id=user_id)
        .order_by("created_at", "pk")
        .values_list("message_id", "label", "value", "created_at")
    ]


def ranking_votes_of_person(user_id: int) -> list[dict[str, Any]]:
    return [
        {"parent_id": parent_id, "ranking": ranking, "created_at": created_at}
        for parent_id, ranking, created_at in RankingVote.objects.filter(user_id=user_id)
        .order_by("created_at", "pk")
        .values_list("parent_id", "ranking", "created_at")
    ]
