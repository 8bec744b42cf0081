"""``make run``'s demo: every message gets its signals, and each flag shows up."""

from __future__ import annotations

import pytest

from backend.moderation.models import QueueItem, QueueReason
from backend.quality.models import EvalSet, MessageQuality, QualityFlag
from backend.trees.models import Message
from backend.web.demo import DEMO_EVAL_SET, seed_demo

pytestmark = pytest.mark.django_db(transaction=True)  # signals run on commit


def test_the_demo_triggers_every_flag():
    project, _logins, _created = seed_demo()

    messages = Message.objects.filter(tree__project=project, is_deleted=False)
    assert MessageQuality.objects.filter(project=project).count() == messages.count()
    raised = set()
    for flags in MessageQuality.objects.filter(project=project).values_list("flags", flat=True):
        raised.update(flags)
    assert {
        QualityFlag.PII,
        QualityFlag.LANG_MISMATCH,
        QualityFlag.NEAR_DUPLICATE,
        QualityFlag.TOXICITY,
        QualityFlag.LEAKAGE,
    } <= raised
    assert EvalSet.objects.get(project=project).name == DEMO_EVAL_SET
    assert QueueItem.objects.filter(project=project, reason=QueueReason.QUALITY_FLAG).exists()
