"""Quality signals (backend/quality): thin tasks, safe to run twice."""

from __future__ import annotations

from tasks.celery import app


@app.task(name="tasks.quality.message_quality_compute")
def message_quality_compute(message_id: int) -> list[str] | None:
    """Compute a new or edited message's signals; returns its flags."""
    from backend.quality.services import message_quality_compute as compute

    row = compute(message_id=message_id)
    return None if row is None else list(row.flags)


@app.task(name="tasks.quality.quality_job_run")
def quality_job_run(job_id: int) -> str | None:
    """Run a re-run or eval-set re-check job; returns its final state."""
    from backend.quality.services import quality_job_run as run

    job = run(job_id=job_id)
    return None if job is None else job.state
