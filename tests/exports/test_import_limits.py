"""Imports have size limits and never hold a whole file, or a whole huge line, in
memory; uploads are deleted when their job ends.

The gzip bombs are made here: a few kilobytes that decompress to megabytes. The limits
are set low so that each bomb trips the one under test.
"""

from __future__ import annotations

import gzip
import json
import os
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.exports.models import ImportJob
from backend.exports.services import ImportLimitExceeded, import_file, import_files_sweep
from backend.exports.services import imports as imports_module
from backend.trees.models import Tree

pytestmark = pytest.mark.django_db

RECORD_LIMIT = 256 * 1024
DECOMPRESSED_LIMIT = 4 << 20
GOOD_TREE = {
    "message_tree_id": "t-1",
    "prompt": {"message_id": "t-1", "text": "Hello?", "role": "prompter"},
}


@pytest.fixture(autouse=True)
def _low_limits(settings) -> None:  # type: ignore[no-untyped-def]
    settings.IMPORT_MAX_RECORD_BYTES = RECORD_LIMIT
    settings.IMPORT_MAX_DECOMPRESSED_BYTES = DECOMPRESSED_LIMIT
    settings.IMPORT_MAX_UPLOAD_BYTES = 64 * 1024


def gzip_bomb(prefix: bytes, filler: bytes, size: int, suffix: bytes = b"") -> bytes:
    """``prefix``, ``size`` bytes of ``filler`` and ``suffix``, gzipped, written in
    pieces so that making the bomb does not hold it either."""
    import io

    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as archive:
        archive.write(prefix)
        piece = filler * (1 << 20 // len(filler))
        written = 0
        while written < size:
            archive.write(piece[: size - written])
            written += len(piece[: size - written])
        archive.write(suffix)
    return out.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def run_import_upload(client, content: bytes, capture, name: str = "bomb.jsonl.gz"):  # type: ignore[no-untyped-def]
    with capture(execute=True):
        created = client.post(
            "/api/v1/imports/",
            {"file": upload(name, content), "format": "sharegpt", "project": "lab"},
            format="multipart",
        )
    assert created.status_code == 202, created.content
    return client.get(f"/api/v1/imports/{created.json()['id']}").json()


def test_a_gzip_bomb_of_one_huge_line_fails_the_job_without_reading_the_line(
    make_project, make_user, client_for, django_capture_on_commit_callbacks, settings
):
    make_project(slug="lab")
    client = client_for(make_user("researcher"))
    # One JSON string of 48 MB on one line: 48 KB gzipped.
    settings.IMPORT_MAX_DECOMPRESSED_BYTES = 64 << 20
    settings.IMPORT_MAX_UPLOAD_BYTES = 1 << 20
    bomb = gzip_bomb(b'"', b"a", 48 << 20, b'"\n')
    assert len(bomb) < 64 * 1024
    tracemalloc.start()
    try:
        job = run_import_upload(client, bomb, django_capture_on_commit_callbacks)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert job["state"] == "failed"
    assert job["error"] == (
        "import stopped: line 1 is larger than 0.25 MB, the limit for one record "
        "(IMPORT_MAX_RECORD_BYTES)"
    )
    assert peak < 16 << 20  # a chunk and a record, never the 48 MB line
    stored = ImportJob.objects.get(pk=job["id"])
    assert stored.file.name == ""
    assert list((Path(settings.MEDIA_ROOT) / "imports").iterdir()) == []
    assert Tree.objects.count() == 0


def test_a_gzip_bomb_of_many_lines_stops_at_the_decompressed_limit(
    make_project, make_user, client_for, django_capture_on_commit_callbacks, settings
):
    make_project(slug="lab")
    client = client_for(make_user("researcher"))
    good = (json.dumps({"conversations": [{"from": "human", "value": "hi"}]}) + "\n").encode()
    bomb = gzip_bomb(good, b"\n", 40 << 20)
    job = run_import_upload(client, bomb, django_capture_on_commit_callbacks)
    assert job["state"] == "failed"
    assert job["error"] == (
        "import stopped: the file holds more than 4 MB of data once decompressed "
        "(IMPORT_MAX_DECOMPRESSED_BYTES)"
    )
    assert ImportJob.objects.get(pk=job["id"]).file.name == ""
    assert list((Path(settings.MEDIA_ROOT) / "imports").iterdir()) == []


def test_a_json_array_is_read_item_by_item_and_a_huge_item_stops_it(make_project, tmp_path):
    make_project(slug="imp")
    conversation = [{"from": "human", "value": "one"}, {"from": "gpt", "value": "two"}]
    path = tmp_path / "bomb.json.gz"
    path.write_bytes(
        gzip_bomb(
            (json.dumps([conversation])[:-1] + ', [{"from": "human", "value": "').encode(),
            b"b",
            8 << 20,
            b'"}]]',
        )
    )
    tracemalloc.start()
    try:
        with pytest.raises(ImportLimitExceeded) as refused:
            import_file(path=str(path), project_slug="imp", format="sharegpt")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.code == "import_record_too_large"
    assert refused.value.detail == (
        "item 2 is larger than 0.25 MB, the limit for one record (IMPORT_MAX_RECORD_BYTES)"
    )
    assert peak < 16 << 20
    assert Tree.objects.count() == 0  # the first item's chunk was never inserted


def test_json_array_items_that_cross_chunk_boundaries(make_project, tmp_path, monkeypatch):
    make_project(slug="imp")
    monkeypatch.setattr(imports_module, "READ_CHUNK", 7)
    items = [
        [{"from": "human", "value": f"question {n} é"}, {"from": "gpt", "value": f"answer {n}"}]
        for n in range(5)
    ]
    path = tmp_path / "share.json"
    path.write_text(" [\n" + ",\n ".join(json.dumps(item) for item in items) + "\n] \n")
    report = import_file(path=str(path), project_slug="imp", format="sharegpt")
    assert (report.lines_read, report.trees_created, report.error_count) == (5, 5, 0)

    path.write_text('[{"conversations": []} ')
    report = import_file(path=str(path), project_slug="imp", format="sharegpt")
    assert report.errors[-1] == {"line": 2, "reason": "invalid JSON: the array does not end"}


def test_an_upload_over_the_limit_is_refused_before_a_job_exists(
    make_project, make_user, client_for, settings
):
    make_project(slug="lab")
    client = client_for(make_user("researcher"))
    content = (json.dumps(GOOD_TREE) + "\n").encode() * 2000  # about 150 KB
    response = client.post(
        "/api/v1/imports/",
        {"file": upload("big.jsonl", content), "format": "oasst-trees", "project": "lab"},
        format="multipart",
    )
    assert response.status_code == 413
    assert response.json() == {
        "code": "file_too_large",
        "detail": "The file is larger than 0.0625 MB, the limit for an upload.",
    }
    assert ImportJob.objects.count() == 0
    assert not (Path(settings.MEDIA_ROOT) / "imports").exists()


def test_the_upload_is_deleted_when_the_job_succeeds(
    make_project, make_user, client_for, django_capture_on_commit_callbacks, settings
):
    make_project(slug="lab")
    client = client_for(make_user("researcher"))
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/v1/imports/",
            {
                "file": upload("trees.jsonl", json.dumps(GOOD_TREE).encode()),
                "format": "oasst-trees",
                "project": "lab",
            },
            format="multipart",
        )
    job = ImportJob.objects.get(pk=created.json()["id"])
    assert (job.state, job.trees_created, job.file.name) == ("succeeded", 1, "")
    assert list((Path(settings.MEDIA_ROOT) / "imports").iterdir()) == []


def test_the_sweep_deletes_old_leftover_uploads_only(make_project, make_user, settings):
    project = make_project(slug="lab")
    researcher = make_user("researcher")
    folder = Path(settings.MEDIA_ROOT) / "imports"
    folder.mkdir(parents=True)
    old = time.time() - 3 * 86400
    for name in ("orphan-old.jsonl", "orphan-new.jsonl", "queued-old.jsonl", "done.jsonl"):
        (folder / name).write_text("{}")
        if name != "orphan-new.jsonl":
            os.utime(folder / name, (old, old))
    ImportJob.objects.create(
        created_by=researcher, project=project, format="sharegpt", file="imports/queued-old.jsonl"
    )
    finished = ImportJob.objects.create(
        created_by=researcher,
        project=project,
        format="sharegpt",
        file="imports/done.jsonl",
        state="succeeded",
    )
    assert import_files_sweep(older_than=timedelta(hours=24)) == 2
    assert sorted(path.name for path in folder.iterdir()) == [
        "orphan-new.jsonl",
        "queued-old.jsonl",
    ]
    finished.refresh_from_db()
    assert finished.file.name == ""
