"""Check an API answer against the OpenAPI schema the server publishes.

The schema is OpenAPI 3.0, whose ``nullable`` is not JSON Schema: it is rewritten into
``anyOf [..., null]``. Objects with declared properties are closed
(``additionalProperties: false`` unless the schema says otherwise), so a field the
answer carries but the schema does not declare fails as well as a missing one.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from rest_framework.test import APIClient

_DROPPED = {"nullable", "readOnly", "writeOnly", "x-spec-enum-id", "example", "deprecated"}


def to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: to_json_schema(value) for key, value in node.items() if key not in _DROPPED}
    if "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def published_schema() -> dict[str, Any]:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


class SchemaChecker:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.components = to_json_schema(schema["components"]["schemas"])

    def response_schema(self, template: str, method: str, status: int) -> dict[str, Any]:
        operation = self.schema["paths"][template][method.lower()]
        responses = operation["responses"]
        assert str(status) in responses, (
            f"{method} {template} answered {status}, which the schema does not list "
            f"({sorted(responses)})"
        )
        content = responses[str(status)].get("content", {})
        return to_json_schema(content.get("application/json", {}).get("schema", {}))

    def check(self, template: str, method: str, response: Any) -> None:
        schema = self.response_schema(template, method, response.status_code)
        if response.status_code == 204:
            assert not response.content
            return
        body = json.loads(response.content)
        document = {**schema, "components": {"schemas": self.components}}
        errors = sorted(
            jsonschema.Draft7Validator(document).iter_errors(body), key=lambda e: list(e.path)
        )
        assert not errors, f"{method} {template} {response.status_code}: " + "; ".join(
            f"{list(e.path)}: {e.message}" for e in errors[:5]
        )
