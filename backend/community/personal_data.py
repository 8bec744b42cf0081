"""What ``community`` holds about a person, for "Download my data": their points
(registered in ``CommunityConfig.ready``; see ``backend.accounts.selfservice``)."""

from __future__ import annotations

from typing import Any

from backend.community.models import PointsEntry
from backend.community.selectors import user_community_summary


def points_of_person(user_id: int) -> dict[str, Any]:
    entries = (
        PointsEntry.objects.filter(user_id=user_id)
        .order_by("earned_at", "pk")
        .values_list("project__slug", "reason", "source_type", "source_id", "points", "earned_at")
    )
    return {
        **user_community_summary(user_id=user_id),
        "entries": [
            {
                "project": project,
                "reason": reason,
                "source_type": source_type,
                "source_id": source_id,
                "points": points,
                "earned_at": earned_at,
            }
            for project, reason, source_type, source_id, points, earned_at in entries
        ],
    }
