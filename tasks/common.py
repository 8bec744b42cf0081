from __future__ import annotations

from tasks.celery import app


@app.task(name="tasks.common.relay_outbox")
def relay_outbox() -> int:
    """Send the follow-up work the broker did not take when it was owed."""
    from backend.common.outbox import outbox_relay

    return outbox_relay()
