"""Enqueue Celery work by task name, durably.

``enqueue`` writes an ``OutboxMessage`` in the caller's transaction and, once that
transaction commits, hands it to Celery and deletes it. If the broker is down the row
stays; ``outbox_relay`` (Celery beat every few seconds, and the embedded sweep) sends
it as soon as the broker is back, so a broker outage delays follow-up work by seconds
after recovery and loses none. Nothing in ``backend/`` imports ``tasks/``: work is
named, and the Celery app is the one the Django project configured
(``backend/config/__init__.py``).

In embedded mode (``CELERY_TASK_ALWAYS_EAGER``) the task runs in this process right
after the commit, as ``.delay()`` would.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.db import connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from backend.common.log import REQUEST_ID_TASK_HEADER, current_request_id
from backend.common.models import OutboxMessage

logger = logging.getLogger(__name__)

# How long the relay leaves a fresh row to the commit hook.
COMMIT_HOOK_GRACE = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=5)
RELAY_BATCH = 500


def enqueue(task_name: str, *args: Any, **kwargs: Any) -> None:
    """Owe ``task_name(*args, **kwargs)`` to Celery once the current transaction
    commits. Arguments must be JSON values (ids, strings)."""
    message = OutboxMessage.objects.create(
        task_name=task_name,
        args=list(args),
        kwargs=kwargs,
        available_at=timezone.now() + COMMIT_HOOK_GRACE,
    )
    # robust: the change is committed; a failure to send is the relay's to fix, never
    # an error for the request that made the change.
    transaction.on_commit(lambda: _send_and_forget([message]), robust=True)


def enqueue_at(task_name: str, when: datetime, *args: Any, **kwargs: Any) -> None:
    """Owe ``task_name(*args, **kwargs)`` to Celery from ``when`` on: the relay sends it
    at its first tick after that (a durable delayed retry). Same transaction rules as
    ``enqueue``."""
    OutboxMessage.objects.create(
        task_name=task_name, args=list(args), kwargs=kwargs, available_at=when
    )


_tasks_imported: list[bool] = []


def _publish(message: OutboxMessage) -> None:
    app = current_app
    if app.conf.task_always_eager:
        if not _tasks_imported:  # once per process: it runs Django's checks too
            app.loader.import_default_modules()
            _tasks_imported.append(True)
        result = app.tasks[message.task_name].apply(args=message.args, kwargs=message.kwargs)
        if result.failed():
            raise RuntimeError(f"{message.task_name} failed: {result.result!r}")
        return
    # The request that owed the work, for the task's log lines; the relay sends rows
    # outside any request, so work it delivers late has none (docs/observability.md).
    request_id = current_request_id()
    # No publish retries here: a down broker must not hold the caller; the relay retries.
    app.send_task(
        message.task_name,
        args=message.args,
        kwargs=message.kwargs,
        retry=False,
        headers={REQUEST_ID_TASK_HEADER: request_id} if request_id else None,
    )


def _send_and_forget(messages: Iterable[OutboxMessage]) -> int:
    sent = 0
    for message in messages:
        try:
            _publish(message)
        except Exception as error:  # noqa: BLE001 - any failure leaves the row for the relay
            _postpone(message, error)
            continue
        OutboxMessage.objects.filter(pk=message.pk).delete()
        sent += 1
    return sent


def _postpone(message: OutboxMessage, error: Exception) -> None:
    attempts = message.attempts + 1
    backoff = min(MAX_BACKOFF, timedelta(seconds=2**attempts))
    logger.warning("outbox: could not send %s (attempt %s): %s", message, attempts, error)
    OutboxMessage.objects.filter(pk=message.pk).update(
        attempts=attempts,
        available_at=timezone.now() + backoff,
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )


def outbox_relay(*, batch_size: int = RELAY_BATCH) -> int:
    """Send every due row (oldest first); returns how many went through."""
    due = OutboxMessage.objects.filter(available_at__lte=timezone.now()).order_by("pk")
    total = 0
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Two relays (two beat ticks, a worker and the embedded sweep) split
                # the rows instead of sending each twice.
                due = due.select_for_update(skip_locked=True)
            batch = list(due[:batch_size])
            if not batch:
                return total
            sent = _send_and_forget(batch)
        total += sent
        if sent == 0:  # the broker is down: wait for the next tick
            return total


def outbox_stats() -> dict[str, Any]:
    """Depth and age of the oldest row: what an operator alerts on."""
    # One statement: a scrape reads it (backend/common/metrics.py).
    found = OutboxMessage.objects.aggregate(depth=Count("pk"), oldest=Min("created_at"))
    oldest = found["oldest"]
    return {
        "depth": found["depth"],
        "oldest_age_seconds": (timezone.now() - oldest).total_seconds() if oldest else 0.0,
    }
