from __future__ import annotations

from typing import Any

from tasks.celery import app


@app.task(name="tasks.assignments.sweep")
def sweep() -> dict[str, Any]:
    """Periodic upkeep: the engine's sweep (``backend.assignments.sweep.sweep_run``),
    then automatic retries of trees whose scoring failed (``backend.consensus``)."""
    from backend.assignments.sweep import sweep_run
    from backend.consensus.services.trees import scoring_failed_retry_due

    result: dict[str, Any] = dict(sweep_run())
    result["scoring_retried"] = len(scoring_failed_retry_due())
    return result
