"""REST endpoints for export and import jobs (researchers and admins only).

- ``POST /api/v1/exports/`` → 202 with the queued job; ``GET /api/v1/exports/`` lists
  mine; ``GET /api/v1/exports/{id}``; ``GET /api/v1/exports/{id}/download`` streams the
  file (409 ``export_not_ready`` until the job has succeeded).
- ``POST /api/v1/imports/`` (multipart: ``file``, ``format``, ``project``, ``state``,
  ``strict``, ``lang``) → 202; ``GET /api/v1/imports/`` and ``/imports/{id}`` with counts
  and per-line errors.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import Conflict, NotFound
from backend.common.fields import StrictBooleanField
from backend.common.permissions import IsNotBanned
from backend.exports.formats.build import PiiPolicy
from backend.exports.formats.registry import record_formats
from backend.exports.models import ExportFormat, ExportJob, ImportFormat, ImportJob, JobState
from backend.exports.options import ALL_STATES
from backend.exports.permissions import IsResearcherOrAdmin
from backend.exports.selectors import (
    export_job_visible_to,
    export_jobs_of,
    import_job_visible_to,
    import_jobs_of,
)
from backend.exports.services import ImportLimitExceeded, export_job_create, import_job_create
from backend.exports.services.imports import IMPORT_STATES
from backend.trees.models import TreeState

LIST_LIMIT = 100
# Room for the multipart framing and the other fields around the file itself.
UPLOAD_OVERHEAD_BYTES = 64 * 1024
PERMISSIONS = [IsAuthenticated, IsNotBanned, IsResearcherOrAdmin]


class StringListField(serializers.ListField):
    """A list of strings; a single string is a list of one (``"states": "all"``)."""

    child = serializers.CharField(max_length=64)

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            data = [data]
        return super().to_internal_value(data)  # type: ignore[no-any-return]


def _one_or_a_list(item: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [{"type": "array", "items": item}, item]}


@extend_schema_field(_one_or_a_list({"type": "string", "enum": [*TreeState.values, ALL_STATES]}))
class StatesField(StringListField):
    """Tree states, or ``all``; one state may be given as a plain string."""


@extend_schema_field(
    _one_or_a_list({"type": "string", "minLength": 1, "maxLength": 32, "pattern": "^[^\\x00]*$"})
)
class LanguagesField(StringListField):
    """Language codes; one may be given as a plain string."""


class ExportCreateInput(serializers.Serializer):
    project = serializers.SlugField()
    format = serializers.ChoiceField(choices=ExportFormat.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The tree formats and those other apps registered (``formats.registry``).
        self.fields["format"].choices = [  # type: ignore[attr-defined]
            *ExportFormat.choices,
            *((spec.name, spec.name) for spec in record_formats()),
        ]

    validation_fraction = serializers.FloatField(
        required=False, allow_null=True, help_text="hf-dataset: share of trees in validation"
    )
    license = serializers.CharField(
        required=False, max_length=64, help_text="hf-dataset: the card's license id"
    )
    states = StatesField(required=False)
    languages = LanguagesField(required=False)
    created_from = serializers.DateTimeField(required=False, allow_null=True)
    created_to = serializers.DateTimeField(required=False, allow_null=True)
    include_deleted = StrictBooleanField(required=False)
    include_rejected = StrictBooleanField(required=False)
    include_synthetic = StrictBooleanField(required=False)
    with_labels = StrictBooleanField(required=False)
    with_events = StrictBooleanField(required=False)
    with_consensus = StrictBooleanField(
        required=False,
        help_text="consensus results (scores, confidence, label intervals) next to "
        "Open-Assistant's fields; on by default",
    )
    with_quality = StrictBooleanField(
        required=False,
        help_text="the quality object (automatic signals) of messages that have one; on by default",
    )
    anonymize = StrictBooleanField(required=False)
    gzip = StrictBooleanField(required=False)
    pii = serializers.ChoiceField(choices=PiiPolicy.CHOICES, required=False)
    exclude_near_duplicates = StrictBooleanField(
        required=False, help_text="leave out near and exact duplicates (and their replies)"
    )
    exclude_leaked = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=200,
        help_text="leave out messages leaked from an eval set: 'all' or one set's name",
    )
    exclude_lang_mismatch = StrictBooleanField(
        required=False, help_text="leave out messages flagged as not in their language"
    )
    max_toxicity = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0.0,
        max_value=1.0,
        help_text="leave out messages with a toxicity score above this (0 … 1)",
    )
    secret = serializers.CharField(required=False, min_length=8, max_length=256, write_only=True)


class ExportJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField()
    format = serializers.CharField()
    state = serializers.CharField()
    progress = serializers.IntegerField()
    row_count = serializers.IntegerField()
    message_count = serializers.IntegerField()
    tree_count = serializers.IntegerField()
    byte_size = serializers.IntegerField()
    sha256 = serializers.CharField()
    filters = serializers.DictField()
    error = serializers.CharField()
    file_name = serializers.CharField(allow_null=True)
    download_url = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


def export_job_data(job: ExportJob) -> dict[str, Any]:
    done = job.state == JobState.SUCCEEDED and bool(job.file)
    return {
        "id": job.pk,
        "project": job.project.slug,
        "format": job.format,
        "state": job.state,
        "progress": job.progress,
        "row_count": job.row_count,
        "message_count": job.message_count,
        "tree_count": job.tree_count,
        "byte_size": job.byte_size,
        "sha256": job.sha256,
        "filters": job.filters,
        "error": job.error,
        "file_name": PurePosixPath(job.file.name).name if done else None,
        "download_url": f"/api/v1/exports/{job.pk}/download" if done else None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


class ExportListCreateView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=ExportJobOutput(many=True), summary="My exports, newest first")
    def get(self, request: Request) -> Response:
        jobs = export_jobs_of(user=request.user)[:LIST_LIMIT]  # type: ignore[arg-type]
        return Response([ExportJobOutput(export_job_data(job)).data for job in jobs])

    @extend_schema(
        request=ExportCreateInput, responses={202: ExportJobOutput}, summary="Start an export"
    )
    def post(self, request: Request) -> Response:
        data = ExportCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        project = fields.pop("project")
        format = fields.pop("format")
        secret = fields.pop("secret", None)
        job = export_job_create(
            user=request.user, project_slug=project, format=format, filters=fields, secret=secret
        )
        return Response(ExportJobOutput(export_job_data(job)).data, status=202)


class ExportDetailView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=ExportJobOutput, summary="An export: state, progress, counts")
    def get(self, request: Request, job_id: int) -> Response:
        job = export_job_visible_to(user=request.user, job_id=job_id)  # type: ignore[arg-type]
        if job is None:
            raise NotFound("export_not_found", "No such export.")
        return Response(ExportJobOutput(export_job_data(job)).data)


CONTENT_TYPES = {
    ".gz": "application/gzip",
    ".jsonl": "application/x-ndjson",
    ".parquet": "application/vnd.apache.parquet",
}


class ExportDownloadView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(
        responses={
            (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description=f"a {suffix} file")
            for suffix, media_type in {**CONTENT_TYPES, "": "application/octet-stream"}.items()
        },
        summary="The export file (its media type follows the format: JSON lines, Parquet, …)",
    )
    def get(self, request: Request, job_id: int) -> FileResponse:
        job = export_job_visible_to(user=request.user, job_id=job_id)  # type: ignore[arg-type]
        if job is None:
            raise NotFound("export_not_found", "No such export.")
        if job.state != JobState.SUCCEEDED or not job.file:
            raise Conflict("export_not_ready", f"The export is {job.state}.", state=job.state)
        storage = job.file.storage
        if not storage.exists(job.file.name):
            raise NotFound("export_file_missing", "The export file is no longer stored.")
        name = PurePosixPath(job.file.name).name
        response = FileResponse(
            storage.open(job.file.name, "rb"),
            as_attachment=True,
            filename=name,
            content_type=CONTENT_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream"),
        )
        response["ETag"] = f'"{job.sha256}"'
        response["X-Content-SHA256"] = job.sha256
        return response


# --- Imports --------------------------------------------------------------------------


class ImportCreateInput(serializers.Serializer):
    file = serializers.FileField()
    project = serializers.SlugField()
    format = serializers.ChoiceField(choices=ImportFormat.choices)
    state = serializers.ChoiceField(choices=IMPORT_STATES, required=False, default="backlog")
    strict = serializers.BooleanField(required=False, default=False)
    lang = serializers.CharField(required=False, default="", allow_blank=True, max_length=32)


class ImportJobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.CharField()
    format = serializers.CharField()
    target_state = serializers.CharField()
    strict = serializers.BooleanField()
    file_name = serializers.CharField()
    state = serializers.CharField()
    progress = serializers.IntegerField()
    lines_read = serializers.IntegerField()
    trees_created = serializers.IntegerField()
    trees_duplicate = serializers.IntegerField()
    messages_created = serializers.IntegerField()
    error_count = serializers.IntegerField()
    # Shadows Serializer.errors only for mypy: DRF moves declared fields off the class.
    errors = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


def import_job_data(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "project": job.project.slug,
        "format": job.format,
        "target_state": job.target_state,
        "strict": job.is_strict,
        "file_name": job.original_name,
        "state": job.state,
        "progress": job.progress,
        "lines_read": job.lines_read,
        "trees_created": job.trees_created,
        "trees_duplicate": job.trees_duplicate,
        "messages_created": job.messages_created,
        "error_count": job.error_count,
        "errors": job.errors,
        "error": job.error,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }


class ImportListCreateView(APIView):
    permission_classes = PERMISSIONS
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(responses=ImportJobOutput(many=True), summary="My imports, newest first")
    def get(self, request: Request) -> Response:
        jobs = import_jobs_of(user=request.user)[:LIST_LIMIT]  # type: ignore[arg-type]
        return Response([ImportJobOutput(import_job_data(job)).data for job in jobs])

    @extend_schema(
        request={"multipart/form-data": ImportCreateInput},
        responses={202: ImportJobOutput},
        summary="Upload a file of trees to import",
    )
    def post(self, request: Request) -> Response:
        # Refuse an oversized upload from its announced length, before it is read.
        announced = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if announced.isdigit() and int(announced) > limit + UPLOAD_OVERHEAD_BYTES:
            raise ImportLimitExceeded(
                "file_too_large",
                f"The file is larger than {limit / (1 << 20):g} MB, the limit for an upload.",
            )
        data = ImportCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        job = import_job_create(
            user=request.user,
            project_slug=fields["project"],
            format=fields["format"],
            upload=fields["file"],
            target_state=fields["state"],
            strict=fields["strict"],
            lang=fields["lang"],
        )
        return Response(ImportJobOutput(import_job_data(job)).data, status=202)


class ImportDetailView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=ImportJobOutput, summary="An import: state, counts, line errors")
    def get(self, request: Request, job_id: int) -> Response:
        job = import_job_visible_to(user=request.user, job_id=job_id)  # type: ignore[arg-type]
        if job is None:
            raise NotFound("import_not_found", "No such import.")
        return Response(ImportJobOutput(import_job_data(job)).data)
