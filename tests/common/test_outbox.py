"""The outbox: Celery work owed by a change is written with it and sent after commit;
what the broker does not take waits for the relay and is never lost."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery import current_app
from django.db import transaction
from django.test import TestCase
from django.utils import timezone

from backend.common import outbox
from backend.common.models import OutboxMessage
from backend.common.outbox import enqueue, outbox_relay, outbox_stats

pytestmark = pytest.mark.django_db

RAN: list[tuple[Any, ...]] = []


@current_app.task(name="tests.outbox.record")
def record(*args: Any, **kwargs: Any) -> None:
    RAN.append((*args, *sorted(kwargs.items())))


@pytest.fixture(autouse=True)
def _clean() -> None:
    RAN.clear()


def test_work_enqueued_in_a_committed_transaction_runs_after_the_commit_and_leaves_no_row():
    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        enqueue("tests.outbox.record", 1, "en", flag=True)
        assert OutboxMessage.objects.count() == 1  # written with the change
        assert RAN == []  # nothing is sent before the commit
    assert RAN == [(1, "en", ("flag", True))]
    assert OutboxMessage.objects.count() == 0


def test_work_of_a_rolled_back_transaction_is_never_sent():
    with (
        TestCase.captureOnCommitCallbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        enqueue("tests.outbox.record", 2)
        raise RuntimeError("the change fails")
    assert RAN == []
    assert OutboxMessage.objects.count() == 0


def test_work_the_broker_refused_waits_with_backoff_and_the_relay_sends_it_later(monkeypatch):
    real_publish = outbox._publish

    def broker_down(message: OutboxMessage) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(outbox, "_publish", broker_down)
    with TestCase.captureOnCommitCallbacks(execute=True):
        enqueue("tests.outbox.record", 3)
    waiting = OutboxMessage.objects.get()
    assert (waiting.attempts, waiting.last_error) == (1, "ConnectionError: broker unreachable")
    assert waiting.available_at > timezone.now()  # backoff: not due yet
    assert outbox_relay() == 0  # nothing due
    assert RAN == []
    assert outbox_stats()["depth"] == 1

    monkeypatch.setattr(outbox, "_publish", real_publish)
    OutboxMessage.objects.update(available_at=timezone.now() - timedelta(seconds=1))
    assert outbox_relay() == 1
    assert RAN == [(3,)]
    assert outbox_stats() == {"depth": 0, "oldest_age_seconds": 0.0}


def test_the_relay_leaves_a_fresh_row_to_its_commit_hook():
    OutboxMessage.objects.create(
        task_name="tests.outbox.record",
        args=[4],
        available_at=timezone.now() + timedelta(seconds=5),
    )
    assert outbox_relay() == 0
    assert RAN == []


def test_a_task_that_fails_stays_in_the_outbox_for_another_try():
    OutboxMessage.objects.create(
        task_name="tests.outbox.no_such_task", args=[], available_at=timezone.now()
    )
    assert outbox_relay() == 0
    row = OutboxMessage.objects.get()
    assert row.attempts == 1
    assert row.last_error == "NotRegistered: 'tests.outbox.no_such_task'"
