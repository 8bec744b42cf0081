"""What the project dashboard adds to the community stats from its sibling apps, and
its live refresh.

- The moderation backlog: ``backend.community`` may not read ``backend.moderation``
  (sibling layers), so this top layer registers it as a stats extra at start-up.
- "Stats changed": after a submission commits, the project's dashboards are told over
  the websocket (``backend.realtime.project_stats``), at most once per project every
  ``STATS_PUSH_SECONDS``; the cached figures are dropped first, so the re-fetch they
  trigger sees the submission.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import transaction

from backend.common.events import AssignmentSubmitted, subscribe
from backend.community.stats import dashboard_figures_forget, register_stats_extra
from backend.moderation.selectors import queue_counts
from backend.projects.models import Project
from backend.realtime.project_stats import send_stats_changed_on_commit

STATS_PUSH_SECONDS = 5


def moderation_backlog(project: Project) -> dict[str, Any]:
    """Open moderation queue items of the project: in all, and per reason."""
    by_reason = queue_counts(project_slug=project.slug)
    return {"open": sum(by_reason.values()), "by_reason": by_reason}


def stats_changed(project_id: int) -> None:
    """Tell the project's dashboards, unless they were told less than
    ``STATS_PUSH_SECONDS`` ago (the cache's atomic ``add`` is the throttle)."""
    if cache.add(f"project-stats-pushed:{project_id}", 1, STATS_PUSH_SECONDS):
        transaction.on_commit(lambda: _forget(project_id))
        send_stats_changed_on_commit(project_id)


def _forget(project_id: int) -> None:
    project = Project.objects.filter(pk=project_id).first()
    if project is not None:
        dashboard_figures_forget(project=project)


def _on_submitted(event: AssignmentSubmitted) -> None:
    stats_changed(event.project_id)


def register() -> None:
    register_stats_extra("moderation_backlog", moderation_backlog)
    subscribe(AssignmentSubmitted, _on_submitted)
