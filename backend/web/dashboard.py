"""What the project dashboard adds to the community stats from its sibling apps: the
moderation backlog (``backend.community`` may not read ``backend.moderation``, so this
top layer registers it as a stats extra at start-up)."""

from __future__ import annotations

from typing import Any

from backend.community.stats import register_stats_extra
from backend.moderation.selectors import queue_counts
from backend.projects.models import Project


def moderation_backlog(project: Project) -> dict[str, Any]:
    """Open moderation queue items of the project: in all, and per reason."""
    by_reason = queue_counts(project_slug=project.slug)
    return {"open": sum(by_reason.values()), "by_reason": by_reason}


def register() -> None:
    register_stats_extra("moderation_backlog", moderation_backlog)
