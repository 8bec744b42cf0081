"""What the quality app does when a message is written or edited (subscribed in
``apps.py``): it owes the message a computation of its signals, handed to Celery
through the outbox once the change commits. Nothing runs inside the request's
transaction, so the request path pays one outbox row and no detector."""

from __future__ import annotations

from backend.common.events import ImportFinished, MessageCreated, MessageEdited, subscribe
from backend.common.outbox import enqueue

COMPUTE_TASK = "tasks.quality.message_quality_compute"


def on_message_written(event: MessageCreated | MessageEdited) -> None:
    enqueue(COMPUTE_TASK, event.message_id)


def on_import_finished(event: ImportFinished) -> None:
    """Imported messages get their signals from a job over what has none yet."""
    if event.state == "succeeded":
        from backend.quality.services import quality_imported_request

        quality_imported_request(project_id=event.project_id)


def connect() -> None:
    subscribe(MessageCreated, on_message_written)
    subscribe(MessageEdited, on_message_written)
    subscribe(ImportFinished, on_import_finished)
