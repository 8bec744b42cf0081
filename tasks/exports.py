from __future__ import annotations

from tasks.celery import app


@app.task(name="tasks.exports.run_export")
def run_export(job_id: int) -> str:
    """Run an export job; a finished job (or one another worker runs) is left alone."""
    from backend.exports.services import export_job_run

    return export_job_run(job_id=job_id)


@app.task(name="tasks.exports.run_import")
def run_import(job_id: int) -> str:
    from backend.exports.services import import_job_run

    return import_job_run(job_id=job_id)


@app.task(name="tasks.exports.requeue_stale")
def requeue_stale() -> int:
    """Periodic: jobs whose task was lost (broker down, worker died) are queued again."""
    from backend.exports.services import export_jobs_requeue_stale, import_jobs_requeue_stale

    return export_jobs_requeue_stale() + import_jobs_requeue_stale()


@app.task(name="tasks.exports.sweep_import_files")
def sweep_import_files() -> int:
    """Periodic: uploads whose import ended, or that no job needs, are deleted."""
    from backend.exports.services import import_files_sweep

    return import_files_sweep()
