from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import NotFound
from backend.consensus.api import AgreementSnapshotSerializer
from backend.projects.models import Project
from backend.projects.selectors import project_settings, project_stats


class ProjectSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    guidelines = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    settings = serializers.DictField()
    label_schema = serializers.ListField(child=serializers.DictField())


def render_project(project: Project) -> dict:  # type: ignore[type-arg]
    return {
        "slug": project.slug,
        "name": project.name,
        "guidelines": project.guidelines,
        "languages": project.languages,
        "settings": project_settings(project),
        "label_schema": project.label_schema,
    }


def _get_project(slug: str) -> Project:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise NotFound("project_not_found", "No such project.")
    return project


class ProjectListView(APIView):
    @extend_schema(responses=ProjectSerializer(many=True), summary="Projects collecting data")
    def get(self, request: Request) -> Response:
        return Response(
            [render_project(project) for project in Project.objects.filter(is_active=True)]
        )


class ProjectDetailView(APIView):
    @extend_schema(responses=ProjectSerializer, summary="One project with its settings")
    def get(self, request: Request, slug: str) -> Response:
        return Response(render_project(_get_project(slug)))


class ProjectStatsSerializer(serializers.Serializer):
    project = serializers.SlugField()
    trees_by_state = serializers.DictField(child=serializers.IntegerField())
    messages = serializers.DictField(child=serializers.IntegerField())
    work_available = serializers.DictField()
    agreement = AgreementSnapshotSerializer(
        allow_null=True, help_text="newest agreement snapshot; history at /agreement"
    )


class ProjectStatsView(APIView):
    @extend_schema(responses=ProjectStatsSerializer, summary="Progress of a project")
    def get(self, request: Request, slug: str) -> Response:
        return Response(project_stats(project=_get_project(slug)))
