from __future__ import annotations

from tasks.celery import app


@app.task(name="tasks.webhooks.deliver")
def deliver(delivery_id: int) -> str:
    """One try at a webhook delivery; a failure schedules the next one itself."""
    from backend.webhooks.services import delivery_attempt

    return delivery_attempt(delivery_id=delivery_id)
