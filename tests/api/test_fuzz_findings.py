"""One test per problem the API fuzzer (``test_fuzz.py``) found: each answer is one the
schema documents, and what the schema allows the server accepts (and the reverse)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from backend.moderation.models import QueueItem
from backend.moderation.services import report_create
from tests.api.openapi_check import SchemaChecker, published_schema

pytestmark = pytest.mark.django_db

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def checker() -> SchemaChecker:
    return SchemaChecker(published_schema())


@pytest.fixture
def moderator(make_user, client_for):  # type: ignore[no-untyped-def]
    return client_for(make_user("moderator"))


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_the_schema_builds_with_zero_warnings(tmp_path: Path):
    """``spectacular --fail-on-warn`` exits non-zero on any warning or error."""
    out = StringIO()
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "s.yaml"),
        stdout=out,
    )
    assert (tmp_path / "s.yaml").read_text().startswith("openapi: 3")


def test_every_operation_documents_404_and_406_and_writes_409_and_415(checker):
    for path, method, operation in operations(checker.schema):
        statuses = set(operation["responses"])
        assert {"404", "406"} <= statuses, (method, path)
        if method == "post":
            assert {"409", "415"} <= statuses, (method, path)


def test_a_claim_for_an_unknown_project_is_a_documented_404(world_at, checker):
    world = world_at("empty")
    response = world.client(world.alice).post(
        "/api/v1/assignments/", {"project": "no-such-project"}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (404, "project_not_found")
    checker.check("/api/v1/assignments/", "post", response)


def test_an_unknown_format_is_a_documented_404(world_at, checker):
    world = world_at("empty")
    response = world.client(world.alice).get("/api/v1/leaderboard/?format=null")
    assert response.status_code == 404
    checker.check("/api/v1/leaderboard/", "get", response)


def test_a_body_in_another_media_type_is_a_documented_415(world_at, moderator, checker):
    world = world_at("ranking")
    response = moderator.generic(
        "POST",
        f"/api/v1/messages/{world.replies[0].pk}/undelete",
        "reason=x",
        content_type="text/plain",
    )
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")
    checker.check("/api/v1/messages/{message_id}/undelete", "post", response)


def test_request_bodies_are_documented_as_json_except_the_upload(checker):
    for path, method, operation in operations(checker.schema):
        if "requestBody" not in operation:
            continue
        media_types = set(operation["requestBody"]["content"])
        uploads = {
            "/api/v1/imports/": {"multipart/form-data"},
            # an eval set comes as a JSONL file or as JSON
            "/api/v1/projects/{slug}/eval-sets": {"multipart/form-data", "application/json"},
        }
        expected = uploads.get(path, {"application/json"})
        assert media_types == expected, (method, path, media_types)


def test_empty_labels_are_refused_and_the_schema_says_so(world_at, checker):
    world = world_at("ranking")
    component = checker.schema["components"]["schemas"]["SubmitInputRequest"]
    assert component["properties"]["labels"]["minProperties"] == 1
    response = world.client(world.alice).post(
        "/api/v1/assignments/1/submit", {"labels": {}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["labels"][0]["code"] == "empty"


def test_agreement_refuses_an_empty_since_and_documents_its_limits(world_at, make_user, checker):
    world = world_at("empty")
    admin = make_user("admin")
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(admin)
    url = f"/api/v1/projects/{world.project.slug}/agreement"
    response = client.get(f"{url}?since=")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    checker.check("/api/v1/projects/{slug}/agreement", "get", response)
    parameters = {
        p["name"]: p["schema"]
        for p in checker.schema["paths"]["/api/v1/projects/{slug}/agreement"]["get"]["parameters"]
        if p["in"] == "query"
    }
    assert parameters["since"] == {"type": "string", "format": "date-time"}
    assert (parameters["limit"]["minimum"], parameters["limit"]["maximum"]) == (1, 1000)
    assert client.get(f"{url}?limit=0").status_code == 400
    assert client.get(f"{url}?limit=1").status_code == 200


@pytest.mark.parametrize("text", ["", "   "])
def test_a_blank_edit_is_refused_and_the_schema_says_text_is_not_blank(
    world_at, moderator, checker, text
):
    world = world_at("ranking")
    response = moderator.post(
        f"/api/v1/messages/{world.replies[0].pk}/edit", {"text": text}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (400, "blank")
    schema = checker.schema["components"]["schemas"]["EditInputRequest"]["properties"]["text"]
    assert (schema["minLength"], schema["pattern"]) == (1, r"\S")


@pytest.mark.parametrize("flag", [0, 1, "true", "on"])
def test_ban_and_resolve_take_only_json_booleans(world_at, moderator, flag):
    world = world_at("ranking")
    ban = moderator.post(
        f"/api/v1/users/{world.carol.pk}/ban", {"hide_messages": flag}, format="json"
    )
    assert (ban.status_code, ban.json()["fields"]["hide_messages"][0]["code"]) == (400, "invalid")
    report_create(message_id=world.replies[0].pk, reporter_id=world.alice.pk, reason="spam")
    item = QueueItem.objects.get(message=world.replies[0])
    resolve = moderator.post(
        f"/api/v1/moderation/queue/{item.pk}/resolve",
        {"action": "dismiss", "hide_messages": flag},
        format="json",
    )
    assert resolve.status_code == 400
    assert resolve.json()["fields"]["hide_messages"][0]["code"] == "invalid"


def test_an_export_takes_only_json_booleans(world_at, make_user, client_for):
    world = world_at("empty")
    researcher = client_for(make_user("researcher"))
    response = researcher.post(
        "/api/v1/exports/",
        {"project": world.project.slug, "format": "oasst-trees", "gzip": 1},
        format="json",
    )
    assert (response.status_code, response.json()["fields"]["gzip"][0]["code"]) == (400, "invalid")


def test_export_states_and_languages_are_documented_as_the_server_reads_them(
    world_at, make_user, client_for, checker
):
    world = world_at("empty")
    researcher = client_for(make_user("researcher"))
    properties = checker.schema["components"]["schemas"]["ExportCreateInputRequest"]["properties"]
    state = properties["states"]["oneOf"][1]
    assert "" not in state["enum"] and {"all", "ready_for_export"} <= set(state["enum"])
    assert properties["languages"]["oneOf"][1]["minLength"] == 1
    body = {"project": world.project.slug, "format": "oasst-trees"}
    for field in ("states", "languages"):
        response = researcher.post("/api/v1/exports/", {**body, field: ""}, format="json")
        assert (response.status_code, list(response.json()["fields"])) == (400, [f"{field}.0"])
    one = researcher.post(
        "/api/v1/exports/", {**body, "states": "all", "languages": "en"}, format="json"
    )
    assert one.status_code == 202


def test_the_audit_log_csv_and_export_files_are_documented_media_types(checker):
    paths = checker.schema["paths"]
    audit = paths["/api/v1/audit-log"]["get"]["responses"]["200"]["content"]
    assert set(audit) == {"application/json", "text/csv"}
    download = paths["/api/v1/exports/{job_id}/download"]["get"]["responses"]["200"]["content"]
    assert {
        "application/x-ndjson",
        "application/gzip",
        "application/vnd.apache.parquet",
        "application/octet-stream",
    } == set(download)
    states = checker.schema["components"]["schemas"]["ExportCreateInputRequest"]["properties"][
        "states"
    ]
    assert [option["type"] for option in states["oneOf"]] == ["array", "string"]
