"""What export and import jobs share: the claim by a worker (queued → running, or the
take-over of a running job whose worker is gone), the owner's live progress events and
the list of jobs to hand to Celery again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.exports.models import Job, JobState
from backend.realtime.events import send_user_event

# A running job whose heartbeat is older than this lost its worker; a redelivered task
# may take it over.
STALE_RUNNING_AFTER = timedelta(minutes=10)

AnyJob = TypeVar("AnyJob", bound=Job)


def job_claim(model: type[AnyJob], job_id: int, *, kind: str) -> AnyJob | None:
    """Lock the job and mark it running (audit ``<kind>.started``); ``None`` when it is
    gone, finished, or running with a live heartbeat (another worker has it)."""
    with transaction.atomic():
        job = (
            model._default_manager.select_for_update(of=("self",))
            .select_related("project")
            .filter(pk=job_id)
            .first()
        )
        if job is None:
            return None
        now = timezone.now()
        if job.state == JobState.RUNNING:
            if job.heartbeat_at is not None and now - job.heartbeat_at < STALE_RUNNING_AFTER:
                return None
        elif job.state != JobState.QUEUED:
            return None  # finished: running it again would change nothing
        before = job.state
        job.state = JobState.RUNNING
        job.started_at = now
        job.heartbeat_at = now
        job.progress = 0
        job.save(update_fields=["state", "started_at", "heartbeat_at", "progress"])
        audit_record(
            action=AuditAction(f"{kind}.started"),
            target_type=kind,
            target_id=job.pk,
            actor_id=job.created_by_id,
            project_id=job.project_id,
            before={"state": before},
            after={"state": JobState.RUNNING},
        )
        return job


def job_notify(job: Job, *, kind: str, **payload: Any) -> None:
    """``<kind>.progress`` to the job's owner over the websocket."""
    if job.created_by_id is not None:
        send_user_event(job.created_by_id, f"{kind}.progress", {"job_id": job.pk, **payload})


def stale_job_ids(model: type[AnyJob], *, older_than: timedelta) -> list[int]:
    """Queued jobs whose task never arrived (broker down at creation) and running jobs
    whose worker died: both may be handed to Celery again (running twice is harmless)."""
    cutoff = timezone.now() - older_than
    queued = model._default_manager.filter(state=JobState.QUEUED, created_at__lt=cutoff)
    lost = model._default_manager.filter(state=JobState.RUNNING, heartbeat_at__lt=cutoff)
    return list(queued.values_list("pk", flat=True)) + list(lost.values_list("pk", flat=True))
