"""Consensus tasks: thin wrappers over ``backend.consensus.services``; each is safe to
run twice (scoring is a function of the stored votes)."""

from __future__ import annotations

from typing import Any

from tasks.celery import app


@app.task(name="tasks.consensus.score_ranking_group")
def score_ranking_group(parent_id: int, work_item_id: int | None = None) -> int | None:
    """Score one sibling group once its ballots are in; returns the result's id."""
    from backend.consensus.services import ranking_group_score

    result = ranking_group_score(parent_id=parent_id, work_item_id=work_item_id)
    return None if result is None else result.pk


@app.task(name="tasks.consensus.score_message")
def score_message(message_id: int) -> bool | None:
    """Re-aggregate one message's labels; returns what the acceptance rule says."""
    from backend.consensus.services import message_labels_score

    return message_labels_score(message_id=message_id).is_accepted


@app.task(name="tasks.consensus.rescore_project")
def rescore_project(project_id: int, requested_by_id: int | None = None) -> dict[str, Any]:
    """Re-score a whole project; a second run while one is going is refused."""
    from backend.common.errors import Conflict
    from backend.consensus.services import project_rescore

    try:
        run = project_rescore(project_id=project_id, requested_by_id=requested_by_id)
    except Conflict as refused:
        return {"refused": refused.code}
    return {"run": run.pk, "counts": run.counts}


@app.task(name="tasks.consensus.rescore_active_projects")
def rescore_active_projects() -> list[int]:
    """Periodic: queue a rescore of every active project (refits Dawid–Skene, updates
    annotator quality, appends an agreement snapshot)."""
    from backend.projects.models import Project

    project_ids = list(Project.objects.filter(is_active=True).values_list("pk", flat=True))
    for project_id in project_ids:
        rescore_project.delay(project_id)
    return project_ids
