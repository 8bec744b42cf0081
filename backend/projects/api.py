from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import NotFound
from backend.projects.models import Project
from backend.projects.selectors import project_settings


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


def project_get(slug: str) -> Project:
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
        return Response(render_project(project_get(slug)))
