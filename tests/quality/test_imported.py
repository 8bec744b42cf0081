"""Imported messages get their signals from one job after the import finishes."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.exports.services import import_job_create, import_job_run
from backend.quality.models import MessageQuality, QualityJob
from backend.quality.services import quality_job_run
from backend.trees.models import Message
from tests.factories import small_project

pytestmark = pytest.mark.django_db


def _tree(text: str, reply: str) -> str:
    return json.dumps(
        {
            "message_tree_id": "t1",
            "tree_state": "ready_for_export",
            "prompt": {
                "message_id": "m1",
                "text": text,
                "role": "prompter",
                "lang": "en",
                "replies": [
                    {
                        "message_id": "m2",
                        "text": reply,
                        "role": "assistant",
                        "lang": "en",
                        "replies": [],
                    }
                ],
            },
        }
    )


def test_a_finished_import_queues_one_job_over_the_messages_without_signals(make_user):
    project = small_project()
    line = _tree("Mail me at jane.roe@example.com about tides, please.", "Tides follow the moon.")
    upload = SimpleUploadedFile("trees.jsonl", (line + "\n").encode())
    job = import_job_create(
        user=make_user("researcher"), project_slug=project.slug, format="oasst-trees", upload=upload
    )
    assert import_job_run(job_id=job.pk) == "succeeded"

    [quality_job] = QualityJob.objects.filter(project=project)
    assert (quality_job.kind, quality_job.state) == ("imported", "queued")
    assert quality_job_run(job_id=quality_job.pk).state == "succeeded"
    quality_job.refresh_from_db()
    assert quality_job.total == Message.objects.filter(tree__project=project).count() == 2
    rows = MessageQuality.objects.filter(project=project)
    assert rows.count() == 2
    assert {tuple(row.flags) for row in rows} == {("pii",), ()}
