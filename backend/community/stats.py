"""A project's progress in numbers: what the stats API and page show."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from backend.assignments.selectors import work_available_counts
from backend.consensus.selectors import agreement_latest
from backend.projects.models import Project
from backend.trees.models import Message
from backend.trees.selectors import tree_state_counts


def project_stats(*, project: Project) -> dict[str, Any]:
    messages = Message.objects.filter(tree__project=project).aggregate(
        total=Count("pk"),
        accepted=Count("pk", filter=Q(review_result=True)),
        rejected=Count("pk", filter=Q(review_result=False)),
        under_review=Count("pk", filter=Q(review_result__isnull=True, is_deleted=False)),
        ranked=Count("pk", filter=Q(rank__isnull=False)),
        deleted=Count("pk", filter=Q(is_deleted=True)),
        contributors=Count("author", distinct=True),
    )
    return {
        "project": project.slug,
        "trees_by_state": tree_state_counts(project_id=project.pk),
        "messages": messages,
        "work_available": {
            lang: work_available_counts(project=project, lang=lang) for lang in project.languages
        },
        # The newest agreement snapshot (backend.consensus), None before the first rescore.
        "agreement": agreement_latest(project=project),
    }
