"""What community does when lower layers report events (subscribed in ``apps.py``)."""

from __future__ import annotations

from backend.common.events import AssignmentSubmitted, AssignmentUndone, subscribe
from backend.community import services


def on_assignment_submitted(event: AssignmentSubmitted) -> None:
    services.points_for_submission(
        assignment_id=event.assignment_id,
        user_id=event.user_id,
        project_id=event.project_id,
        kind=event.kind,
        message_id=event.message_id,
        is_prompt=event.is_prompt,
        is_substitute=event.is_substitute,
    )


def on_assignment_undone(event: AssignmentUndone) -> None:
    services.points_for_undo(
        user_id=event.user_id,
        kind=event.kind,
        message_id=event.message_id,
        ranking_vote_id=event.ranking_vote_id,
        assignment_id=event.assignment_id,
        is_substitute=event.is_substitute,
    )


def connect() -> None:
    subscribe(AssignmentSubmitted, on_assignment_submitted)
    subscribe(AssignmentUndone, on_assignment_undone)
