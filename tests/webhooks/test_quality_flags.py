"""A message flagged by the automatic quality checks is a ``message.flagged`` delivery."""

from __future__ import annotations

import pytest

from backend.quality.services import message_quality_compute
from backend.webhooks.models import Delivery
from backend.webhooks.services import webhook_create
from tests.factories import people, small_project, write_prompt
from tests.quality.conftest import EMAIL_AND_PHONE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_targets")]


def test_a_quality_flag_is_delivered_with_the_flags(make_user):
    project = small_project()
    researcher = make_user("researcher")
    webhook = webhook_create(
        project=project,
        url="http://127.0.0.1:9/hook",
        events=["message.flagged"],
        actor_id=researcher.pk,
    )
    message = write_prompt(project, people(1)[0], EMAIL_AND_PHONE)
    message_quality_compute(message_id=message.pk)

    [delivery] = Delivery.objects.filter(webhook=webhook)
    assert delivery.event == "message.flagged"
    assert delivery.payload == {
        "message_id": message.pk,
        "tree_id": message.tree_id,
        "by": "quality",
        "flags": ["pii"],
        "url": f"/api/v1/messages/{message.pk}",
    }
