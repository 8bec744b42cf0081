"""The export and import jobs through the REST API (Celery eager, as in every test)."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.audit.models import AuditEvent
from backend.exports.models import ExportJob, ImportJob
from backend.trees.models import Tree

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("post", "/api/v1/exports/"),
    ("get", "/api/v1/exports/"),
    ("get", "/api/v1/exports/1"),
    ("get", "/api/v1/exports/1/download"),
    ("post", "/api/v1/imports/"),
    ("get", "/api/v1/imports/"),
    ("get", "/api/v1/imports/1"),
]


def export_body(**overrides):
    return {"project": "lab", "format": "oasst-trees", **overrides}


@pytest.mark.parametrize("role", ["volunteer", "moderator"])
@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_only_researchers_and_admins(world, make_user, client_for, role, method, url):
    client = client_for(make_user(role))
    data = export_body() if method == "post" else None
    response = getattr(client, method)(url, data, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert ExportJob.objects.count() == ImportJob.objects.count() == 0


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_is_401(client_for, method, url):
    response = getattr(client_for(None), method)(url, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_export_job_flow(world, make_user, client_for, django_capture_on_commit_callbacks):
    researcher = make_user("researcher")
    client = client_for(researcher)

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/exports/",
            export_body(states=["ready_for_export"], with_events=True, secret="a-long-secret"),
            format="json",
        )
        # Until the transaction commits the worker has not started.
        assert created.status_code == 202
        assert created.json()["state"] == "queued"
    job_id = created.json()["id"]
    assert "secret" not in created.json()

    detail = client.get(f"/api/v1/exports/{job_id}")
    body = detail.json()
    assert detail.status_code == 200
    assert body["state"] == "succeeded"
    assert body["progress"] == 100
    assert (body["row_count"], body["message_count"], body["tree_count"]) == (1, 6, 1)
    assert body["project"] == "lab"
    assert body["filters"]["states"] == ["ready_for_export"]
    assert body["filters"]["anonymize"] is True
    assert body["file_name"] == f"arbor-lab-oasst-trees-{job_id}.jsonl"
    assert body["download_url"] == f"/api/v1/exports/{job_id}/download"

    download = client.get(body["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/x-ndjson"
    assert download["Content-Disposition"] == f'attachment; filename="{body["file_name"]}"'
    content = b"".join(download.streaming_content)
    assert len(content) == body["byte_size"]
    assert hashlib.sha256(content).hexdigest() == body["sha256"] == download["X-Content-SHA256"]
    line = json.loads(content)
    assert line["prompt"]["text"] == "What is 2+2?"
    assert "events" in line["prompt"]

    job = ExportJob.objects.get(pk=job_id)
    assert job.secret == ""  # wiped once the job is done
    actions = list(
        AuditEvent.objects.filter(target_type="export", target_id=str(job_id)).values_list(
            "action", flat=True
        )
    )
    assert actions == ["export.requested", "export.started", "export.succeeded"]
    requested = AuditEvent.objects.get(action="export.requested")
    assert requested.actor_id == researcher.pk
    assert requested.after["filters"] == body["filters"]
    assert AuditEvent.objects.get(action="export.succeeded").after["sha256"] == body["sha256"]

    listed = client.get("/api/v1/exports/").json()
    assert [item["id"] for item in listed] == [job_id]


def test_jobs_are_private_to_their_creator_and_admins(
    world, make_user, client_for, django_capture_on_commit_callbacks
):
    owner = client_for(make_user("researcher"))
    with django_capture_on_commit_callbacks(execute=True):
        job_id = owner.post("/api/v1/exports/", export_body(format="sft"), format="json").json()[
            "id"
        ]
    other = client_for(make_user("researcher"))
    admin = client_for(make_user("admin"))
    assert other.get(f"/api/v1/exports/{job_id}").json()["code"] == "export_not_found"
    assert other.get(f"/api/v1/exports/{job_id}/download").status_code == 404
    assert other.get("/api/v1/exports/").json() == []
    assert admin.get(f"/api/v1/exports/{job_id}").json()["state"] == "succeeded"
    assert admin.get(f"/api/v1/exports/{job_id}/download").status_code == 200


def test_admins_export_too_gzip_and_parquet(
    world, make_user, client_for, django_capture_on_commit_callbacks
):
    client = client_for(make_user("admin"))
    with django_capture_on_commit_callbacks(execute=True):
        gz = client.post(
            "/api/v1/exports/", export_body(format="preferences", gzip=True), format="json"
        )
        parquet = client.post("/api/v1/exports/", export_body(format="parquet"), format="json")
    gz_job = client.get(f"/api/v1/exports/{gz.json()['id']}").json()
    parquet_job = client.get(f"/api/v1/exports/{parquet.json()['id']}").json()
    assert gz_job["file_name"].endswith(".jsonl.gz")
    assert (gz_job["state"], gz_job["row_count"]) == ("succeeded", 3)
    assert parquet_job["file_name"].endswith(".parquet")
    download = client.get(parquet_job["download_url"])
    assert download["Content-Type"] == "application/vnd.apache.parquet"
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(b"".join(download.streaming_content)))
    assert table.num_rows == 6


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (export_body(format="csv"), 400, "invalid_choice"),
        (export_body(project="nope"), 404, "project_not_found"),
        (export_body(states=["done"]), 400, "invalid_state"),
        (export_body(format="parquet", gzip=True), 400, "gzip_not_for_parquet"),
        (export_body(anonymize="sometimes"), 400, "invalid"),
        (export_body(secret="short"), 400, "min_length"),
        ({"format": "sft"}, 400, "required"),
    ],
)
def test_bad_requests_are_refused(world, make_user, client_for, body, status, code):
    response = client_for(make_user("researcher")).post("/api/v1/exports/", body, format="json")
    assert response.status_code == status
    assert response.json()["code"] == code
    assert ExportJob.objects.count() == 0


def test_download_before_the_job_is_done_is_a_conflict(world, make_user, client_for):
    client = client_for(make_user("researcher"))
    job_id = client.post("/api/v1/exports/", export_body(), format="json").json()[
        "id"
    ]  # never committed
    response = client.get(f"/api/v1/exports/{job_id}/download")
    assert response.status_code == 409
    assert response.json() == {
        "code": "export_not_ready",
        "detail": "The export is queued.",
        "state": "queued",
    }


def test_export_files_go_to_the_exports_storage_when_configured(
    world, make_user, client_for, settings, django_capture_on_commit_callbacks
):
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    client = client_for(make_user("researcher"))
    with django_capture_on_commit_callbacks(execute=True):
        job_id = client.post("/api/v1/exports/", export_body(), format="json").json()["id"]
    from django.core.files.storage import storages

    job = ExportJob.objects.get(pk=job_id)
    assert storages["exports"].exists(job.file.name)
    assert not (settings.MEDIA_ROOT / job.file.name).exists()
    content = b"".join(client.get(f"/api/v1/exports/{job_id}/download").streaming_content)
    assert hashlib.sha256(content).hexdigest() == job.sha256


def test_progress_is_pushed_to_the_owner(
    world, make_user, client_for, monkeypatch, django_capture_on_commit_callbacks
):
    events = []
    monkeypatch.setattr(
        "backend.exports.services.jobs.send_user_event",
        lambda user_id, event, payload: events.append((user_id, event, payload)),
    )
    researcher = make_user("researcher")
    with django_capture_on_commit_callbacks(execute=True):
        job_id = (
            client_for(researcher)
            .post("/api/v1/exports/", export_body(), format="json")
            .json()["id"]
        )
    assert {user for user, _, _ in events} == {researcher.pk}
    assert {event for _, event, _ in events} == {"export.progress"}
    states = [payload["state"] for _, _, payload in events]
    assert states[0] == "running" and states[-1] == "succeeded"
    assert events[-1][2] == {
        "job_id": job_id,
        "state": "succeeded",
        "progress": 100,
        "row_count": 1,
    }


def upload(name: str, content: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode(), content_type="application/octet-stream")


def test_the_import_job_flow(
    make_project, make_user, client_for, django_capture_on_commit_callbacks
):
    project = make_project(slug="lab")
    client = client_for(make_user("researcher"))
    good = {
        "message_tree_id": "t-1",
        "prompt": {"message_id": "t-1", "text": "Hello?", "role": "prompter"},
    }
    content = json.dumps(good) + "\n" + '{"message_tree_id": 5}\n'
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/imports/",
            {
                "file": upload("trees.jsonl", content),
                "format": "oasst-trees",
                "project": "lab",
                "state": "ready_for_export",
            },
            format="multipart",
        )
    assert created.status_code == 202
    assert created.json()["state"] == "queued"
    job = client.get(f"/api/v1/imports/{created.json()['id']}").json()
    assert job["state"] == "succeeded"
    assert (
        job["lines_read"],
        job["trees_created"],
        job["messages_created"],
        job["error_count"],
    ) == (2, 1, 1, 1)
    assert job["errors"] == [{"line": 2, "reason": "message_tree_id: must be a string"}]
    assert job["file_name"] == "trees.jsonl"
    assert Tree.objects.get(project=project).state == "ready_for_export"
    assert [item["id"] for item in client.get("/api/v1/imports/").json()] == [job["id"]]
    assert list(
        AuditEvent.objects.filter(target_type="import").values_list("action", flat=True)
    ) == ["import.requested", "import.started", "import.finished"]


def test_a_strict_import_with_a_bad_line_fails_and_imports_nothing(
    make_project, make_user, client_for, django_capture_on_commit_callbacks
):
    make_project(slug="lab")
    client = client_for(make_user("admin"))
    good = {
        "message_tree_id": "t-1",
        "prompt": {"message_id": "t-1", "text": "Hello?", "role": "prompter"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/imports/",
            {
                "file": upload("t.jsonl", json.dumps(good) + "\nnot json\n"),
                "format": "oasst-trees",
                "project": "lab",
                "strict": "true",
            },
            format="multipart",
        )
    job = client.get(f"/api/v1/imports/{created.json()['id']}").json()
    assert job["state"] == "failed"
    assert job["error"] == "strict import refused: 1 bad line(s), nothing imported"
    assert job["errors"][0]["line"] == 2
    assert Tree.objects.count() == 0


def test_import_requests_are_validated(make_project, make_user, client_for):
    make_project(slug="lab")
    client = client_for(make_user("researcher"))
    no_file = client.post(
        "/api/v1/imports/", {"format": "oasst-trees", "project": "lab"}, format="multipart"
    )
    bad_state = client.post(
        "/api/v1/imports/",
        {
            "file": upload("a.jsonl", "{}"),
            "format": "oasst-trees",
            "project": "lab",
            "state": "growing",
        },
        format="multipart",
    )
    unknown = client.post(
        "/api/v1/imports/",
        {"file": upload("a.jsonl", "{}"), "format": "sharegpt", "project": "x"},
        format="multipart",
    )
    assert (no_file.status_code, no_file.json()["code"]) == (400, "required")
    assert (bad_state.status_code, bad_state.json()["code"]) == (400, "invalid_choice")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "project_not_found")
    assert ImportJob.objects.count() == 0
