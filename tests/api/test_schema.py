"""Contract of /api/schema/ (OpenAPI 3) and /api/docs/ (Swagger UI)."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

# Every v1 path and the methods it answers.
V1_OPERATIONS = {
    "/api/v1/assignments/": {"get", "post"},
    "/api/v1/assignments/{assignment_id}/submit": {"post"},
    "/api/v1/assignments/{assignment_id}/skip": {"post"},
    "/api/v1/trees/{tree_id}": {"get"},
    "/api/v1/messages/{message_id}": {"get"},
    "/api/v1/messages/{message_id}/reactions": {"post"},
    "/api/v1/projects/": {"get"},
    "/api/v1/projects/{slug}": {"get"},
    "/api/v1/projects/{slug}/stats": {"get"},
    "/api/v1/users/me": {"get"},
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def component(schema: dict, holder: dict) -> dict:
    """The component a ``{"$ref": ...}`` (or a content entry holding one) points at."""
    ref = holder["content"]["application/json"]["schema"] if "content" in holder else holder
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


@pytest.fixture
def schema() -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})  # public, no credentials
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return json.loads(response.content)


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Arbor API"
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(schema)


def test_the_schema_is_structurally_sound(schema):
    """What a validator checks first, without one: every $ref resolves, every path
    parameter is declared, every operation has responses and a unique id."""
    components = schema["components"]["schemas"]

    def refs(node):  # type: ignore[no-untyped-def]
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(schema):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in components, ref
    operation_ids = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            operation_ids.append(operation["operationId"])
            assert operation["responses"], (method, path)
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            wanted = {part[1:-1] for part in path.split("/") if part.startswith("{")}
            assert declared == wanted, (method, path)
    assert len(operation_ids) == len(set(operation_ids))


def test_the_schema_lists_every_v1_operation(schema):
    operations = {
        path: {method for method in item if method in HTTP_METHODS}
        for path, item in schema["paths"].items()
    }
    for path, methods in V1_OPERATIONS.items():
        assert path in operations, path
        assert methods <= operations[path], path


def test_every_v1_route_is_documented(schema):
    """Endpoints added later must show up in the schema too."""
    from backend.config.urls import api_v1

    for pattern in api_v1:
        route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        assert f"/api/v1/{route}" in schema["paths"], route


def test_the_claim_documents_201_and_204(schema):
    claim = schema["paths"]["/api/v1/assignments/"]["post"]
    assert {"201", "204"} <= set(claim["responses"])
    request = component(schema, claim["requestBody"])
    assert set(request["properties"]) == {"project", "lang", "kind"}
    assert request["required"] == ["project"]
    kind_enum = component(schema, request["properties"]["kind"]["allOf"][0])
    assert set(kind_enum["enum"]) == {
        "any", "initial_prompt", "prompter_reply", "assistant_reply", "label_initial_prompt",
        "label_prompter_reply", "label_assistant_reply", "rank_prompter_replies",
        "rank_assistant_replies", "compare_model_replies", "write_arena_prompt",
    }  # fmt: skip
    assignment = component(schema, claim["responses"]["201"])
    assert set(assignment["properties"]) == {
        "id", "kind", "lang", "state", "project", "expires_at",
        "tree_id", "conversation", "candidates", "labels",
    }  # fmt: skip


def test_submit_documents_its_payloads_and_the_idempotency_key(schema):
    submit = schema["paths"]["/api/v1/assignments/{assignment_id}/submit"]["post"]
    headers = [p["name"] for p in submit["parameters"] if p["in"] == "header"]
    assert headers == ["Idempotency-Key"]
    assert set(component(schema, submit["requestBody"])["properties"]) == {
        "text", "labels", "ranking", "preference"
    }  # fmt: skip
    ok = component(schema, submit["responses"]["200"])
    assert set(ok["properties"]) == {"assignment", "message", "outcome"}
    assert ok["required"] == ["assignment", "message"]


def test_the_tree_schema_lists_the_message_fields(schema):
    tree = component(schema, schema["paths"]["/api/v1/trees/{tree_id}"]["get"]["responses"]["200"])
    assert set(tree["properties"]) == {
        "id", "project", "lang", "state", "messages", "ranking_groups"
    }  # fmt: skip
    message = component(schema, tree["properties"]["messages"]["items"])
    assert {
        "id", "parent_id", "role", "text", "lang", "depth", "review_count",
        "review_result", "rank", "deleted", "synthetic", "model_name",
    } <= set(message["properties"])  # fmt: skip


def test_the_schema_is_served_as_yaml_by_default():
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    assert set(V1_OPERATIONS) <= set(document["paths"])


def test_the_docs_page_loads_the_schema():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "swagger-ui" in page
    # Its script is a separate file (no inline script under the Content-Security-Policy).
    assert '<script src="/api/docs/?script="></script>' in page
    script = APIClient().get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


def test_the_docs_page_needs_no_other_host():
    """Swagger UI's files come from Arbor's own static files: the page works offline."""
    page = APIClient().get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources, page
    assert all(url.startswith("/") and not url.startswith("//") for url in sources), sources
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
