"""The OpenAPI schema's shared parts: the error answers and the names of shared enums.

Every operation can answer with the common error shape (``backend.common.api``): 400
(bad input, a body too large), 401 and 403 where it needs a signed-in user, 404 (an
object its path or input names, or an unknown ``?format=``), 406 (an ``Accept`` header
it cannot satisfy), 409 and 415 for writes (refused by the current state; a body in a
media type it does not read), 429 (rate limits) and 500 (with the request id). Writing
them on each view would drift, so the schema class adds them to every operation in one
place; a view that declares a status itself keeps its own.

Input constraints the serializers enforce are written into the schema too, so that a
schema-valid request is one the server accepts: a list or mapping that may not be
empty gets ``minItems``/``minProperties`` 1. Request bodies are documented as JSON
(the API's format); the form parsers DRF keeps for its browsable pages still read a
form, but a form's strings ("0", "on") are not JSON types, so the schema does not
promise them. A view that reads only forms (an upload) documents those.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny


class FieldErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """Every error: a stable ``code`` to switch on and a human ``detail``; some add more
    (``fields`` for bad input, ``retry_after`` with 429, ``request_id`` with 500)."""

    code = serializers.CharField()
    detail = serializers.CharField()
    # DRF's metaclass takes declared fields out of the class, so this does not hide
    # Serializer.fields at run time; mypy only sees the class attribute.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=FieldErrorSerializer(many=True),
        required=False,
        help_text="per field (dotted path for nested input), each problem's code and detail",
    )
    retry_after = serializers.IntegerField(required=False, help_text="seconds, with 429")
    request_id = serializers.CharField(required=False, help_text="with 500: quote it")


ERROR_DESCRIPTIONS = {
    "400": "Bad input: `fields` names each problem (a body over the size limit too).",
    "401": "Not signed in: `not_authenticated` or `authentication_failed`.",
    "403": "`permission_denied` without the role; `banned` on a write by a banned user.",
    "404": "`not_found` or a specific code (`tree_not_found`, `project_not_found`, …).",
    "406": "`not_acceptable`: the `Accept` header names no media type the API writes.",
    "409": "Refused by the current state (`invalid_tree_state`, `already_banned`, …).",
    "415": "`unsupported_media_type`: the body is in a media type the API does not read.",
    "429": "`rate_limited`, with a `Retry-After` header.",
    "500": "`server_error` with the `request_id` the server logged.",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Choice sets used by fields of the same name with different meanings ("kind" is a
# task kind on a claim and a label kind elsewhere): each gets one stable name.
ENUM_NAMES = {frozenset({"flag", "likert"}): "LabelKindEnum"}


class AutoSchema(SpectacularAutoSchema):
    def _error_statuses(self) -> list[str]:
        statuses = ["400"]
        is_public = any(isinstance(p, AllowAny) for p in self.view.get_permissions())
        if not is_public:
            statuses += ["401", "403"]
        # Any operation answers 404 to an unknown ``?format=`` (DRF's renderer choice),
        # besides the objects its path or input names.
        statuses += ["404", "406"]
        if self.method in WRITE_METHODS:
            statuses += ["409", "415"]
        return [*statuses, "429", "500"]

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in self._error_statuses():
            if status in responses:
                continue
            response = OpenApiResponse(
                response=ErrorSerializer, description=ERROR_DESCRIPTIONS[status]
            )
            responses[status] = self._get_response_for_code(response, status)
            if status == "429":
                responses[status]["headers"] = {
                    "Retry-After": {
                        "schema": {"type": "integer"},
                        "description": "seconds to wait",
                    }
                }
        return responses

    def map_parsers(self) -> list[Any]:
        media_types: list[Any] = super().map_parsers()
        if "application/json" in media_types:
            return ["application/json"]
        return media_types

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and not getattr(field, "allow_empty", True):
            if isinstance(field, serializers.ListField | serializers.ListSerializer):
                schema.setdefault("minItems", 1)
            elif isinstance(field, serializers.DictField):
                schema.setdefault("minProperties", 1)
        if not isinstance(field, serializers.ChoiceField) or "enum" not in schema:
            return schema
        name = ENUM_NAMES.get(frozenset(v for v in schema["enum"] if v not in ("", None)))
        if name is None:
            return schema
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
        )
        self.registry.register_on_missing(component)
        return dict(component.ref)
