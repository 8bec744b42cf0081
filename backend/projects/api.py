"""Projects over the API.

- ``GET /api/v1/projects/`` (active ones) and ``GET /api/v1/projects/{slug}``: anyone
  signed in.
- ``POST /api/v1/projects/`` → 201, researchers and admins; 400 with field errors.
- ``PATCH /api/v1/projects/{slug}`` → 200, researchers and admins; every change audited.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import NotFound
from backend.common.fields import StrictBooleanField, StrictCharField, StrictSlugField
from backend.common.permissions import IsNotBanned, has_role
from backend.projects.models import Project
from backend.projects.selectors import project_settings
from backend.projects.services import project_create, project_update


class ProjectSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    guidelines = serializers.CharField()
    guidelines_translations = serializers.DictField(child=serializers.CharField())
    kind_instructions = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField())
    )
    languages = serializers.ListField(child=serializers.CharField())
    is_active = serializers.BooleanField()
    settings = serializers.DictField()
    label_schema = serializers.ListField(child=serializers.DictField())


class ProjectCreateInput(serializers.Serializer):
    slug = StrictSlugField(max_length=50)
    name = StrictCharField(max_length=200, required=False, allow_blank=True)
    languages = serializers.ListField(child=StrictCharField(max_length=16), required=False)
    guidelines = StrictCharField(required=False, allow_blank=True, max_length=50_000)
    guidelines_translations = serializers.DictField(required=False)
    kind_instructions = serializers.DictField(required=False)
    settings = serializers.DictField(required=False)
    label_schema = serializers.ListField(child=serializers.JSONField(), required=False)


class ProjectPatchInput(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False)
    languages = serializers.ListField(child=StrictCharField(max_length=16), required=False)
    is_active = StrictBooleanField(required=False)
    guidelines = StrictCharField(required=False, allow_blank=True, max_length=50_000)
    guidelines_translations = serializers.DictField(required=False)
    kind_instructions = serializers.DictField(required=False)
    settings = serializers.DictField(required=False)
    label_schema = serializers.ListField(child=serializers.JSONField(), required=False)


class IsResearcherForWrites(BasePermission):
    message = "Only researchers and admins manage projects."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if not hasattr(view, (request.method or "").lower()):
            return True  # a method the view does not have answers 405, for everyone
        return has_role(request.user, "researcher")


def render_project(project: Project) -> dict[str, Any]:
    return {
        "slug": project.slug,
        "name": project.name,
        "guidelines": project.guidelines,
        "guidelines_translations": project.guidelines_translations,
        "kind_instructions": project.kind_instructions,
        "languages": project.languages,
        "is_active": project.is_active,
        "settings": project_settings(project),
        "label_schema": project.label_schema,
    }


def project_get(slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise NotFound("project_not_found", "No such project.")
    return project


PERMISSIONS = [IsAuthenticated, IsNotBanned, IsResearcherForWrites]


class ProjectListView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=ProjectSerializer(many=True), summary="Projects collecting data")
    def get(self, request: Request) -> Response:
        return Response(
            [render_project(project) for project in Project.objects.filter(is_active=True)]
        )

    @extend_schema(
        request=ProjectCreateInput, responses={201: ProjectSerializer}, summary="Create a project"
    )
    def post(self, request: Request) -> Response:
        data = ProjectCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_create(actor_id=request.user.pk, **data.validated_data)
        return Response(render_project(project), status=201)


class ProjectDetailView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(responses=ProjectSerializer, summary="One project with its settings")
    def get(self, request: Request, slug: str) -> Response:
        return Response(render_project(project_get(slug)))

    @extend_schema(
        request=ProjectPatchInput, responses=ProjectSerializer, summary="Change a project"
    )
    def patch(self, request: Request, slug: str) -> Response:
        project_get(slug)
        data = ProjectPatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_update(slug=slug, changes=data.validated_data, actor_id=request.user.pk)
        return Response(render_project(project))
