from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.assignments.claims import Turn
from backend.assignments.kinds import get_kind, kind_names
from backend.assignments.models import Assignment
from backend.assignments.selectors import assignments_open_for
from backend.assignments.services import (
    ANY_KIND,
    Shown,
    SubmitResult,
    assignment_claim,
    assignment_shown,
    assignment_skip,
    assignment_submit,
)
from backend.assignments.undo import assignment_undo
from backend.common.errors import NotFound
from backend.common.fields import (
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
    StrictSlugField,
)
from backend.projects.models import Project
from backend.projects.selectors import project_cached
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


def iso_datetime(value: datetime) -> str:
    """A time as DRF's ``DateTimeField`` writes it (UTC as ``Z``)."""
    text = timezone.localtime(value, UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _turns(turns: list[Turn]) -> list[dict[str, Any]]:
    return [{"id": turn.id, "role": turn.role, "text": turn.text} for turn in turns]


def render_shown(assignment: Assignment, project: Project, shown: Shown) -> dict[str, Any]:
    """The assignment as the API shows it, drawn from what the service read."""
    spec = get_kind(assignment.kind)
    return {
        "id": assignment.pk,
        "kind": assignment.kind,
        "lang": assignment.lang,
        "state": assignment.state,
        "project": project.slug,
        "expires_at": iso_datetime(assignment.expires_at),
        "tree_id": shown.tree_id,
        "conversation": _turns(shown.conversation),
        "candidates": _turns(shown.candidates),
        "labels": [
            {"name": label["name"], "kind": label["kind"], "mandatory": bool(label["mandatory"])}
            for label in (spec.labels(project) if spec is not None else [])
        ],
    }


def render_assignment(assignment: Assignment) -> dict[str, Any]:
    """An assignment read back later (lists, skips): reads what it shows."""
    return render_shown(assignment, assignment.project, assignment_shown(assignment))


def _json(data: Any, status_code: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(data), status=status_code, content_type="application/json")


class ClaimInputSerializer(serializers.Serializer):
    project = StrictSlugField()
    lang = StrictCharField(max_length=32, default="en")
    kind = serializers.ChoiceField(choices=[ANY_KIND], default=ANY_KIND)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The kinds registered now (``backend.assignments.kinds``), not at import time.
        self.fields["kind"].choices = [ANY_KIND, *kind_names()]  # type: ignore[attr-defined]


class AssignmentListCreateView(APIView):
    @extend_schema(
        request=ClaimInputSerializer,
        responses={
            201: AssignmentOutputSerializer,
            204: OpenApiResponse(description="No work is available for you right now."),
        },
        summary="Reserve the next piece of work",
    )
    def post(self, request: Request) -> HttpResponse:
        data = ClaimInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            project = project_cached(slug=data.validated_data["project"])
        except Project.DoesNotExist:
            raise NotFound("project_not_found", "No such project.") from None
        claimed = assignment_claim(
            user=request.user,  # type: ignore[arg-type]
            project=project,
            lang=data.validated_data["lang"],
            kind=data.validated_data["kind"],
        )
        if claimed is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return _json(
            render_shown(claimed.assignment, project, claimed.shown), status.HTTP_201_CREATED
        )

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
    # A choice between the candidates (the arena's compare_model_replies: "a", "b",
    # "tie", "both_bad"); the kind checks the value.
    preference = StrictCharField(required=False, max_length=32)


class SubmitOutputSerializer(serializers.Serializer):
    assignment = AssignmentOutputSerializer()
    message = MessageSerializer(allow_null=True)
    outcome = serializers.DictField(
        required=False,
        help_text="what the kind reveals once the answer is in (arena battles: the models)",
    )


def render_submit(result: SubmitResult) -> bytes:
    """The answer to a submit, as the exact bytes sent (and replayed for a retry)."""
    assignment = result.assignment
    shown = result.shown or Shown(tree_id=None)
    message = MessageSerializer(result.message).data if result.message is not None else None
    body: dict[str, Any] = {
        "assignment": render_shown(
            assignment, project_cached(project_id=assignment.project_id), shown
        ),
        "message": message,
    }
    if result.outcome is not None:
        body["outcome"] = result.outcome
    return orjson.dumps(body)


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
        summary="Submit a text, labels, a ranking or a preference",
    )
    def post(self, request: Request, assignment_id: int) -> HttpResponse:
        data = SubmitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = assignment_submit(
            user=request.user,  # type: ignore[arg-type]
            assignment_id=assignment_id,
            payload=data.validated_data,
            idempotency_key=request.headers.get("Idempotency-Key"),
            render=render_submit,
        )
        if result.replayed_body is not None:
            response = HttpResponse(result.replayed_body, content_type="application/json")
            response["Idempotent-Replayed"] = "true"
            return response
        return HttpResponse(render_submit(result), content_type="application/json")


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


class AssignmentUndoView(APIView):
    @extend_schema(
        request=None,
        responses=AssignmentOutputSerializer,
        summary="Undo my submission (reviews and rankings, within 30 s)",
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        assignment = assignment_undo(
            user=request.user,  # type: ignore[arg-type]
            assignment_id=assignment_id,
        )
        return Response(render_assignment(assignment))
