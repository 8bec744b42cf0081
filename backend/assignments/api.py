from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.assignments.models import Assignment, Kind
from backend.assignments.selectors import assignment_context, assignments_open_for
from backend.assignments.services import (
    ANY_KIND,
    SubmitResult,
    assignment_claim_next,
    assignment_skip,
    assignment_submit,
)
from backend.common.errors import NotFound, ValidationFailed
from backend.common.fields import (
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
    StrictSlugField,
)
from backend.projects.models import Project
from backend.trees.api import MessageSerializer


class TurnSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    role = serializers.CharField()
    text = serializers.CharField()


class LabelSpecSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["flag", "likert"])
    mandatory = serializers.BooleanField()


class AssignmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    lang = serializers.CharField()
    state = serializers.CharField()
    project = serializers.CharField()
    expires_at = serializers.DateTimeField()
    tree_id = serializers.IntegerField(allow_null=True)
    conversation = TurnSerializer(many=True)
    candidates = TurnSerializer(many=True)
    labels = LabelSpecSerializer(many=True)


def render_assignment(assignment: Assignment) -> dict[str, Any]:
    context = assignment_context(assignment)
    data = {
        "id": assignment.pk,
        "kind": assignment.kind,
        "lang": assignment.lang,
        "state": assignment.state,
        "project": assignment.project.slug,
        "expires_at": assignment.expires_at,
        **context,
    }
    return dict(AssignmentOutputSerializer(data).data)


class ClaimInputSerializer(serializers.Serializer):
    project = StrictSlugField()
    lang = StrictCharField(max_length=32, default="en")
    kind = serializers.ChoiceField(choices=[ANY_KIND, *Kind.values], default=ANY_KIND)


class AssignmentListCreateView(APIView):
    @extend_schema(
        request=ClaimInputSerializer,
        responses={
            201: AssignmentOutputSerializer,
            204: OpenApiResponse(description="No work is available for you right now."),
        },
        summary="Reserve the next piece of work",
    )
    def post(self, request: Request) -> Response:
        data = ClaimInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = Project.objects.filter(slug=data.validated_data["project"]).first()
        if project is None:
            raise NotFound("project_not_found", "No such project.")
        assignment = assignment_claim_next(
            user=request.user,  # type: ignore[arg-type]
            project=project,
            lang=data.validated_data["lang"],
            kind=data.validated_data["kind"],
        )
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(render_assignment(assignment), status=status.HTTP_201_CREATED)

    @extend_schema(responses=AssignmentOutputSerializer(many=True), summary="My open assignments")
    def get(self, request: Request) -> Response:
        assignments = assignments_open_for(user=request.user)  # type: ignore[arg-type]
        return Response([render_assignment(assignment) for assignment in assignments])


class SubmitInputSerializer(serializers.Serializer):
    text = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    labels = serializers.DictField(
        child=StrictFloatField(allow_null=True), required=False, allow_empty=False
    )
    ranking = serializers.ListField(child=StrictIntegerField(), required=False)


class SubmitOutputSerializer(serializers.Serializer):
    assignment = AssignmentOutputSerializer()
    message = MessageSerializer(allow_null=True)


def in_field_order(data: Any, field: serializers.Field) -> Any:  # type: ignore[type-arg]
    """``data`` with its keys in the order ``field`` (a serializer) renders them.

    A replayed answer comes from a JSON column; PostgreSQL's ``jsonb`` sorts object keys,
    and a replay must be the identical body, not just an equal one.
    """
    if isinstance(field, serializers.ListSerializer) and isinstance(data, list):
        return [in_field_order(item, field.child) for item in data]  # type: ignore[arg-type]
    if isinstance(field, serializers.Serializer) and isinstance(data, dict):
        ordered = {
            name: in_field_order(data[name], child)
            for name, child in field.fields.items()
            if name in data
        }
        ordered.update((name, value) for name, value in data.items() if name not in ordered)
        return ordered
    return data


def render_submit(result: SubmitResult) -> dict[str, Any]:
    message = MessageSerializer(result.message).data if result.message is not None else None
    return {"assignment": render_assignment(result.assignment), "message": message}


class AssignmentSubmitView(APIView):
    @extend_schema(
        request=SubmitInputSerializer,
        responses={200: SubmitOutputSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Retries with the same key return the first answer.",
            )
        ],
        summary="Submit a text, labels or a ranking",
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        data = SubmitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key") or None
        if key is not None and not key.isprintable():
            # A NUL byte cannot be stored in PostgreSQL text: refuse it here, not with a 500.
            raise ValidationFailed(
                "Idempotency-Key",
                "invalid_idempotency_key",
                "An Idempotency-Key is printable text without control characters.",
            )
        result = assignment_submit(
            user=request.user,  # type: ignore[arg-type]
            assignment_id=assignment_id,
            payload=data.validated_data,
            idempotency_key=key[:200] if key else None,
            render=render_submit,
        )
        if result.replayed_response is not None:
            response = Response(in_field_order(result.replayed_response, SubmitOutputSerializer()))
            response["Idempotent-Replayed"] = "true"
            return response
        return Response(render_submit(result))


class SkipInputSerializer(serializers.Serializer):
    reason = StrictCharField(required=False, allow_blank=True, max_length=500, default="")


class AssignmentSkipView(APIView):
    @extend_schema(
        request=SkipInputSerializer, responses=AssignmentOutputSerializer, summary="Skip"
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        data = SkipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = assignment_skip(
            user=request.user,  # type: ignore[arg-type]
            assignment_id=assignment_id,
            reason=data.validated_data["reason"],
        )
        return Response(render_assignment(assignment))
