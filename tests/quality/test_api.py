"""The eval-set and re-run API, and who sees ``quality`` on messages and trees."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from backend.audit.models import AuditAction, AuditEvent
from backend.quality.models import EvalPrompt, EvalSet, MessageQuality, QualityFlag, QualityJob
from backend.quality.services import message_quality_compute
from tests.factories import committed
from tests.quality.conftest import EMAIL_AND_PHONE, EVAL_PROMPT

PROMPTS = [
    {"prompt": EVAL_PROMPT},
    {"prompt": "Explain the rules of cricket to someone who has only ever watched baseball."},
]


def jsonl(items: list[object]) -> bytes:
    return "\n".join(json.dumps(item) for item in items).encode()


@pytest.fixture
def researcher(make_user):
    return make_user("researcher")


def upload(client, project, content: bytes, name: str = "mt-bench"):
    return client.post(
        f"/api/v1/projects/{project.slug}/eval-sets",
        {"name": name, "file": SimpleUploadedFile("set.jsonl", content)},
        format="multipart",
    )


def test_a_researcher_uploads_an_eval_set_and_existing_prompts_are_rechecked(
    client_for, researcher, project, prompt
):
    leaked = prompt("Hello! " + EVAL_PROMPT)
    clean = prompt("How do I repot an orchid without hurting its roots?")
    for message in (leaked, clean):
        message_quality_compute(message_id=message.pk)
    assert MessageQuality.objects.get(message=leaked).flags == []

    with committed():
        response = upload(client_for(researcher), project, jsonl(PROMPTS))

    assert response.status_code == 201, response.json()
    body = response.json()
    eval_set = EvalSet.objects.get()
    assert body["id"] == eval_set.pk
    assert body["name"] == "mt-bench"
    assert body["prompt_count"] == 2
    assert body["job"]["kind"] == "eval_set_check"
    assert list(EvalPrompt.objects.values_list("position", "text")) == [
        (0, EVAL_PROMPT),
        (1, PROMPTS[1]["prompt"]),
    ]
    job = QualityJob.objects.get()
    assert (job.state, job.total, job.done) == ("succeeded", 2, 2)
    row = MessageQuality.objects.get(message=leaked)
    assert row.flags == [QualityFlag.LEAKAGE]
    assert row.leakage_eval_set_id == eval_set.pk
    assert row.leakage_score is not None and row.leakage_score >= 20.0
    assert MessageQuality.objects.get(message=clean).flags == []
    assert AuditEvent.objects.filter(action=AuditAction.QUALITY_EVAL_SET_ADDED).count() == 1

    listed = client_for(researcher).get(f"/api/v1/projects/{project.slug}/eval-sets").json()
    assert [(item["id"], item["name"], item["prompt_count"]) for item in listed] == [
        (eval_set.pk, "mt-bench", 2)
    ]


def test_a_json_body_works_too(client_for, researcher, project):
    response = client_for(researcher).post(
        f"/api/v1/projects/{project.slug}/eval-sets",
        {"name": "json-set", "prompts": PROMPTS},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert EvalSet.objects.get().prompt_count == 2


@pytest.mark.parametrize(
    ("content", "field", "code"),
    [
        (b"", "file", "empty"),
        (b"\n\n", "file", "empty"),
        (b'{"prompt": "fine"}\nnot json\n', "file", "invalid_line"),
        (b'{"prompt": "fine"}\n{"text": "no prompt key"}\n', "file", "invalid_prompt"),
        (b'{"prompt": "   "}\n', "file", "invalid_prompt"),
        (b'["a list"]\n', "file", "invalid_prompt"),
        (b"\xff\xfe not utf-8", "file", "not_utf8"),
    ],
)
def test_bad_uploads_get_field_errors(client_for, researcher, project, content, field, code):
    response = upload(client_for(researcher), project, content)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["fields"][field][0]["code"] == code
    assert not EvalSet.objects.exists()
    assert not QualityJob.objects.exists()


def test_too_large_an_upload_is_refused(client_for, researcher, project, monkeypatch):
    from backend.quality import api, services

    monkeypatch.setattr(services, "EVAL_SET_MAX_BYTES", 50)
    monkeypatch.setattr(api, "EVAL_SET_MAX_BYTES", 50)

    response = upload(client_for(researcher), project, jsonl(PROMPTS))

    assert response.status_code == 400
    assert response.json()["fields"]["file"][0]["code"] == "too_large"
    assert not EvalSet.objects.exists()


def test_an_empty_json_body_and_a_duplicate_name_are_refused(client_for, researcher, project):
    client = client_for(researcher)
    empty = client.post(
        f"/api/v1/projects/{project.slug}/eval-sets", {"prompts": []}, format="json"
    )
    assert empty.status_code == 400
    assert empty.json()["fields"]["prompts"][0]["code"] == "empty"

    assert upload(client, project, jsonl(PROMPTS)).status_code == 201
    again = upload(client, project, jsonl(PROMPTS))
    assert again.status_code == 400
    assert again.json()["fields"]["name"][0]["code"] == "duplicate_name"
    assert EvalSet.objects.count() == 1


def test_volunteers_and_moderators_may_not_manage_eval_sets(client_for, make_user, project):
    for role in ("volunteer", "moderator"):
        client = client_for(make_user(role))
        assert upload(client, project, jsonl(PROMPTS)).status_code == 403
        assert client.get(f"/api/v1/projects/{project.slug}/eval-sets").status_code == 403
        assert (
            client.post(
                f"/api/v1/projects/{project.slug}/quality/rerun", {}, format="json"
            ).status_code
            == 403
        )
    assert client_for(None).get(f"/api/v1/projects/{project.slug}/eval-sets").status_code in (
        401,
        403,
    )
    assert not EvalSet.objects.exists()


def test_an_unknown_project_is_404(client_for, researcher):
    response = client_for(researcher).get("/api/v1/projects/nope/eval-sets")
    assert response.status_code == 404
    assert response.json()["code"] == "project_not_found"


def test_deleting_an_eval_set(client_for, researcher, project):
    client = client_for(researcher)
    created = upload(client, project, jsonl(PROMPTS)).json()

    response = client.delete(f"/api/v1/projects/{project.slug}/eval-sets/{created['id']}")

    assert response.status_code == 204
    assert not EvalSet.objects.exists()
    assert not EvalPrompt.objects.exists()
    missing = client.delete(f"/api/v1/projects/{project.slug}/eval-sets/{created['id']}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "eval_set_not_found"


def test_rerun_job_with_progress(client_for, researcher, project, prompt):
    messages = [prompt(EMAIL_AND_PHONE), prompt("Why is the sky blue during the day?")]
    client = client_for(researcher)

    with committed():
        response = client.post(
            f"/api/v1/projects/{project.slug}/quality/rerun", {"signal": "pii"}, format="json"
        )

    assert response.status_code == 202, response.json()
    job_id = response.json()["id"]
    assert response.json()["signal"] == "pii"
    job = client.get(f"/api/v1/projects/{project.slug}/quality/jobs/{job_id}").json()
    assert (job["state"], job["total"], job["done"]) == ("succeeded", 2, 2)
    rows = {row.message_id: row for row in MessageQuality.objects.all()}
    assert rows[messages[0].pk].flags == ["pii"]
    assert list(rows[messages[0].pk].versions) == ["pii"]
    assert rows[messages[1].pk].flags == []


def test_rerun_of_an_unknown_signal_is_refused(client_for, researcher, project):
    response = client_for(researcher).post(
        f"/api/v1/projects/{project.slug}/quality/rerun", {"signal": "astrology"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["signal"][0]["code"] == "unknown_signal"
    assert not QualityJob.objects.exists()


def test_a_job_of_another_project_is_404(client_for, researcher, project, make_project):
    other = make_project()
    with committed():
        job_id = (
            client_for(researcher)
            .post(f"/api/v1/projects/{other.slug}/quality/rerun", {}, format="json")
            .json()["id"]
        )

    response = client_for(researcher).get(f"/api/v1/projects/{project.slug}/quality/jobs/{job_id}")

    assert response.status_code == 404
    assert response.json()["code"] == "quality_job_not_found"


@pytest.mark.parametrize(
    ("role", "sees"),
    [("volunteer", False), ("moderator", True), ("researcher", True), ("admin", True)],
)
def test_quality_on_messages_and_trees_by_role(client_for, make_user, prompt, role, sees):
    message = prompt(EMAIL_AND_PHONE)
    message_quality_compute(message_id=message.pk)
    client = client_for(make_user(role))

    detail = client.get(f"/api/v1/messages/{message.pk}").json()
    tree = client.get(f"/api/v1/trees/{message.tree_id}").json()

    if sees:
        assert detail["quality"]["flags"] == ["pii"]
        assert [span["type"] for span in detail["quality"]["pii"]] == ["email", "phone"]
        assert tree["messages"][0]["quality"] == detail["quality"]
    else:
        assert "quality" not in detail
        assert "quality" not in tree["messages"][0]
