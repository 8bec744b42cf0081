from __future__ import annotations

from tasks.celery import app


@app.task(name="tasks.assignments.sweep")
def sweep() -> dict[str, int]:
    """Periodic upkeep; see ``backend.trees.sweep.sweep_run``."""
    from backend.trees.sweep import sweep_run

    return sweep_run()
