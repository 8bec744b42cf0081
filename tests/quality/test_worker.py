"""The Celery path on PostgreSQL with a real worker process: a prompt submitted
through the API gets its signals computed in the worker, after the commit."""

from __future__ import annotations

import time

import pytest

from backend.moderation.models import QueueItem, QueueReason
from backend.quality.models import MessageQuality
from backend.trees.models import Message
from tests.helpers import claim, submit
from tests.quality.conftest import EMAIL_AND_PHONE
from tests.tasks.test_worker_end_to_end import celery_worker_process  # noqa: F401 - fixture

pytestmark = [pytest.mark.postgres, pytest.mark.celery_worker]


def test_a_submitted_prompt_is_computed_by_the_worker(
    celery_worker_process,  # noqa: F811
    make_user,
    make_project,
    client_for,
):
    project = make_project(slug="quality-worker", requests_per_minute=1000)
    client = client_for(make_user())
    assignment = claim(client, project.slug, "initial_prompt").json()
    response = submit(client, assignment["id"], {"text": EMAIL_AND_PHONE})
    assert response.status_code == 200, response.content
    message = Message.objects.get(tree__project=project)

    # The worker loads the language and toxicity models on its first message.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        row = MessageQuality.objects.filter(message=message).first()
        if row is not None:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the worker did not compute the prompt's signals within 300 s")

    assert row.flags == ["pii"]
    assert set(row.versions) == {"language", "toxicity", "pii", "duplicates", "leakage"}
    item = QueueItem.objects.get(message=message)
    assert (item.reason, item.details) == (QueueReason.QUALITY_FLAG, {"flags": ["pii"]})
