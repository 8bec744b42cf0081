"""Signals run after the commit, through the outbox; never inside the request's
transaction, and not at all when it rolls back."""

from __future__ import annotations

import pytest
from django.db import transaction

from backend.common.models import OutboxMessage
from backend.moderation.curation import message_edit
from backend.quality.models import MessageQuality, QualityFlag
from backend.quality.subscribers import COMPUTE_TASK
from tests.factories import committed
from tests.quality.conftest import EMAIL_AND_PHONE


def test_a_new_prompt_owes_a_computation_that_runs_on_commit(prompt):
    with committed(), transaction.atomic():
        message = prompt(EMAIL_AND_PHONE)
        owed = OutboxMessage.objects.filter(task_name=COMPUTE_TASK, args=[message.pk])
        assert owed.count() == 1
        # Inside the transaction nothing is computed yet.
        assert not MessageQuality.objects.filter(message=message).exists()

    row = MessageQuality.objects.get(message=message)
    assert row.flags == [QualityFlag.PII]
    assert not OutboxMessage.objects.filter(task_name=COMPUTE_TASK).exists()


def test_nothing_is_owed_when_the_transaction_rolls_back(prompt):
    class Abandon(Exception):
        pass

    with committed(), pytest.raises(Abandon), transaction.atomic():
        prompt(EMAIL_AND_PHONE)
        raise Abandon

    assert not OutboxMessage.objects.filter(task_name=COMPUTE_TASK).exists()
    assert not MessageQuality.objects.exists()


def test_a_moderators_edit_recomputes_the_signals(prompt, make_user):
    moderator = make_user("moderator")
    with committed():
        message = prompt("Which houseplants survive in a dark flat with little care?")
    assert MessageQuality.objects.get(message=message).flags == []

    with committed():
        message_edit(message_id=message.pk, actor_id=moderator.pk, text=EMAIL_AND_PHONE)

    row = MessageQuality.objects.get(message=message)
    assert row.flags == [QualityFlag.PII]
    assert row.pii is not None and [span["type"] for span in row.pii] == ["email", "phone"]
