"""Export jobs survive what workers do: run twice, die, fail, lose their task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import TestCase
from django.utils import timezone

from backend.audit.models import AuditEvent
from backend.exports.models import ExportJob
from backend.exports.services import (
    export_job_create,
    export_job_run,
    export_jobs_requeue_stale,
)
from backend.realtime.routing import websocket_urlpatterns


def queued_job(world, make_user) -> ExportJob:
    """A job created outside any on-commit capture: its task never ran."""
    return export_job_create(
        user=make_user("researcher"), project_slug=world.project.slug, format="sft", filters={}
    )


@pytest.mark.django_db
def test_running_a_finished_job_again_changes_nothing(world, make_user):
    job = queued_job(world, make_user)
    assert export_job_run(job_id=job.pk) == "succeeded"
    finished = ExportJob.objects.get(pk=job.pk)
    assert export_job_run(job_id=job.pk) == "succeeded"
    again = ExportJob.objects.get(pk=job.pk)
    assert (again.file.name, again.sha256, again.finished_at) == (
        finished.file.name,
        finished.sha256,
        finished.finished_at,
    )
    assert AuditEvent.objects.filter(action="export.succeeded").count() == 1


@pytest.mark.django_db
def test_a_running_job_is_left_to_its_worker_unless_its_heartbeat_is_stale(world, make_user):
    job = queued_job(world, make_user)
    ExportJob.objects.filter(pk=job.pk).update(state="running", heartbeat_at=timezone.now())
    assert export_job_run(job_id=job.pk) == "running"
    assert ExportJob.objects.get(pk=job.pk).row_count == 0

    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert export_job_run(job_id=job.pk) == "succeeded"
    assert ExportJob.objects.get(pk=job.pk).row_count == 1


@pytest.mark.django_db
def test_a_failure_ends_the_job_as_failed_with_the_reason(world, make_user, monkeypatch):
    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("backend.exports.services.exports.export_write", broken)
    job = queued_job(world, make_user)
    assert job.secret  # kept until the job ends
    assert export_job_run(job_id=job.pk) == "failed"
    failed = ExportJob.objects.get(pk=job.pk)
    assert failed.error == "OSError: disk full"
    assert failed.secret == ""
    assert not failed.file
    audit = AuditEvent.objects.get(action="export.failed")
    assert audit.reason == "OSError: disk full"
    assert audit.after["filters"] == failed.filters


@pytest.mark.django_db
def test_lost_tasks_are_queued_again(world, make_user):
    job = queued_job(world, make_user)
    assert export_jobs_requeue_stale() == 0  # too recent: its task may still be on its way
    ExportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))
    with TestCase.captureOnCommitCallbacks(execute=True):
        # Sent through the outbox once committed; Celery is eager here: it runs at once.
        assert export_jobs_requeue_stale() == 1
    assert ExportJob.objects.get(pk=job.pk).state == "succeeded"


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_progress_reaches_the_owner_s_websocket(make_project, make_user):
    from tests.exports.builders import build_small_world

    project = await sync_to_async(make_project)(slug="lab")
    await sync_to_async(build_small_world)(project, make_user)
    researcher = await sync_to_async(make_user)("researcher")
    socket = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/events/")
    socket.scope["user"] = researcher
    assert (await socket.connect())[0] is True

    # transaction=True: the job's on-commit task runs (eagerly) when it is created.
    job = await sync_to_async(export_job_create)(
        user=researcher, project_slug="lab", format="oasst-trees", filters={}
    )

    received = []
    while not received or received[-1]["payload"]["state"] not in ("succeeded", "failed"):
        received.append(await socket.receive_json_from(timeout=5))
    assert {event["type"] for event in received} == {"export.progress"}
    assert received[0]["payload"]["state"] == "running"
    assert received[-1]["payload"] == {
        "job_id": job.pk,
        "state": "succeeded",
        "progress": 100,
        "row_count": 1,
    }
    await socket.disconnect()
    # The ORM calls above ran in sync_to_async's worker thread: close its connection
    # so the test database can be dropped.
    await sync_to_async(connections.close_all)()
