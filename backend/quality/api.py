"""REST endpoints of the quality app (researchers and admins):

- ``GET/POST /api/v1/projects/{slug}/eval-sets``: list, or upload one (JSONL file in a
  multipart ``file`` field, or a JSON body ``{"name", "prompts": [{"prompt"}, ...]}``)
  → 201 with the set and the job that re-checks the project's messages against it;
- ``DELETE /api/v1/projects/{slug}/eval-sets/{id}`` → 204;
- ``POST /api/v1/projects/{slug}/quality/rerun`` (``{"signal"}`` optional) → 202 job;
- ``GET /api/v1/projects/{slug}/quality/jobs/{id}``: a job's state and progress.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import NotFound, ValidationFailed
from backend.common.permissions import IsNotBanned, has_role
from backend.quality.models import EvalSet, QualityJob
from backend.quality.registry import provider_names
from backend.quality.selectors import eval_sets_of_project, project_by_slug, quality_job_get
from backend.quality.services import (
    EVAL_SET_MAX_BYTES,
    eval_prompts_check,
    eval_prompts_parse,
    eval_set_create,
    eval_set_delete,
    quality_rerun_request,
)


class IsResearcher(BasePermission):
    """Researchers and admins; 403 ``permission_denied`` for others (anonymous: 401)."""

    message = "Only researchers and admins manage quality signals."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        return has_role(request.user, "researcher")


PERMISSIONS = [IsAuthenticated, IsNotBanned, IsResearcher]


class EvalSetOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prompt_count = serializers.IntegerField()
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class QualityJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField()
    kind = serializers.CharField()
    signal = serializers.CharField(allow_null=True)
    eval_set = serializers.IntegerField(allow_null=True)
    state = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class EvalSetCreatedOutput(EvalSetOutput):
    job = QualityJobOutput()


class EvalSetJsonInput(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    prompts = serializers.ListField(child=serializers.JSONField(), allow_empty=True)


class EvalSetFileInput(serializers.Serializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    file = serializers.FileField()


class RerunInput(serializers.Serializer):
    signal = serializers.CharField(required=False, allow_blank=True, max_length=32)


def eval_set_data(eval_set: EvalSet) -> dict[str, Any]:
    creator = eval_set.created_by
    return {
        "id": eval_set.pk,
        "name": eval_set.name,
        "prompt_count": eval_set.prompt_count,
        "created_by": (creator.display_name or creator.username) if creator else None,
        "created_at": eval_set.created_at,
    }


def quality_job_data(job: QualityJob, *, project_slug: str) -> dict[str, Any]:
    return {
        "id": job.pk,
        "project": project_slug,
        "kind": job.kind,
        "signal": job.signal or None,
        "eval_set": job.eval_set_id,
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "error": job.error,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


class EvalSetListCreateView(APIView):
    permission_classes = PERMISSIONS
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(responses=EvalSetOutput(many=True), summary="A project's eval sets")
    def get(self, request: Request, slug: str) -> Response:
        project = project_by_slug(slug)
        return Response(
            [
                EvalSetOutput(eval_set_data(item)).data
                for item in eval_sets_of_project(project_id=project.pk)
            ]
        )

    @extend_schema(
        request={"multipart/form-data": EvalSetFileInput, "application/json": EvalSetJsonInput},
        responses={201: EvalSetCreatedOutput},
        summary='Upload an eval set (JSONL of {"prompt"} lines)',
    )
    def post(self, request: Request, slug: str) -> Response:
        project = project_by_slug(slug)
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > EVAL_SET_MAX_BYTES + 64 * 1024:
            raise ValidationFailed(
                "file", "too_large", f"An eval set may hold at most {EVAL_SET_MAX_BYTES} bytes."
            )
        if "file" in request.FILES or request.content_type.startswith("multipart/"):
            file_input = EvalSetFileInput(data=request.data)
            file_input.is_valid(raise_exception=True)
            upload = file_input.validated_data["file"]
            if upload.size > EVAL_SET_MAX_BYTES:
                raise ValidationFailed(
                    "file", "too_large", f"An eval set may hold at most {EVAL_SET_MAX_BYTES} bytes."
                )
            prompts = eval_prompts_parse(upload.read())
            name = file_input.validated_data.get("name") or upload.name.rsplit(".", 1)[0]
        else:
            json_input = EvalSetJsonInput(data=request.data)
            json_input.is_valid(raise_exception=True)
            prompts = eval_prompts_check(json_input.validated_data["prompts"])
            name = json_input.validated_data.get("name", "")
        eval_set, job = eval_set_create(
            project=project, name=name, prompts=prompts, actor_id=request.user.pk
        )
        body = eval_set_data(eval_set)
        body["job"] = quality_job_data(job, project_slug=project.slug)
        return Response(EvalSetCreatedOutput(body).data, status=201)


class EvalSetDetailView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses={204: None}, summary="Delete an eval set")
    def delete(self, request: Request, slug: str, eval_set_id: int) -> Response:
        project = project_by_slug(slug)
        eval_set_delete(project=project, eval_set_id=eval_set_id, actor_id=request.user.pk)
        return Response(status=204)


class QualityRerunView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        request=RerunInput,
        responses={202: QualityJobOutput},
        summary="Recompute quality signals over a project",
    )
    def post(self, request: Request, slug: str) -> Response:
        project = project_by_slug(slug)
        data = RerunInput(data=request.data)
        data.is_valid(raise_exception=True)
        signal = data.validated_data.get("signal") or None
        if signal is not None and signal not in provider_names():
            raise ValidationFailed("signal", "unknown_signal", f"No quality signal {signal!r}.")
        job = quality_rerun_request(project=project, signal=signal, actor_id=request.user.pk)
        return Response(
            QualityJobOutput(quality_job_data(job, project_slug=project.slug)).data, status=202
        )


class QualityJobDetailView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=QualityJobOutput, summary="A quality job's state and progress")
    def get(self, request: Request, slug: str, job_id: int) -> Response:
        project = project_by_slug(slug)
        job = quality_job_get(job_id=job_id, project_id=project.pk)
        if job is None:
            raise NotFound("quality_job_not_found", "No such quality job in this project.")
        return Response(QualityJobOutput(quality_job_data(job, project_slug=project.slug)).data)


# --- The contract object, as the schema describes it (docs/quality.md) -----------------


class QualityLangOutput(serializers.Serializer):
    detected = serializers.CharField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)
    mismatch = serializers.BooleanField(allow_null=True)


class QualityToxicityOutput(serializers.Serializer):
    score = serializers.FloatField(allow_null=True)
    model = serializers.CharField(allow_null=True)


class QualityPiiSpanOutput(serializers.Serializer):
    type = serializers.CharField()
    start = serializers.IntegerField()
    end = serializers.IntegerField()


class QualityLeakageOutput(serializers.Serializer):
    eval_set = serializers.CharField(allow_null=True)
    score = serializers.FloatField(allow_null=True)


class QualityOutput(serializers.Serializer):
    """A message's quality signals; null fields were not computed (yet)."""

    lang = QualityLangOutput(allow_null=True)
    toxicity = QualityToxicityOutput(allow_null=True)
    pii = QualityPiiSpanOutput(many=True, allow_null=True)
    near_duplicate_of = serializers.IntegerField(allow_null=True)
    similarity = serializers.FloatField(allow_null=True)
    leakage = QualityLeakageOutput(allow_null=True)
    flags = serializers.ListField(child=serializers.CharField(), allow_null=True)
    version = serializers.CharField(allow_null=True)
