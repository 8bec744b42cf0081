"""The periodic sweep: expire reservations, run the lottery, re-check every active tree.

Every step is idempotent, so a sweep that dies half-way or runs twice at once does no
harm; the next one finishes the job.
"""

from __future__ import annotations

import logging

from backend.assignments.growth import tree_advance
from backend.assignments.lottery import trees_activate_waiting
from backend.assignments.services import assignments_expire_overdue
from backend.projects.models import Project
from backend.trees.models import ACTIVE_TREE_STATES, Tree

logger = logging.getLogger(__name__)


def sweep_run() -> dict[str, int]:
    expired = assignments_expire_overdue()
    activated = 0
    for project in Project.objects.filter(is_active=True).only("pk", "languages"):
        for lang in project.languages:
            activated += len(trees_activate_waiting(project_id=project.pk, lang=lang))
    checked = 0
    tree_ids = Tree.objects.filter(state__in=ACTIVE_TREE_STATES).values_list("pk", flat=True)
    for tree_id in tree_ids.iterator(chunk_size=500):
        try:
            tree_advance(tree_id=tree_id)
        except Exception:  # one broken tree must not stop the sweep for the others
            logger.exception("sweep could not advance tree %s", tree_id)
        checked += 1
    return {"expired": expired, "activated": activated, "checked": checked}
