from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.community.stats import project_stats
from backend.consensus.api import AgreementSnapshotSerializer
from backend.projects.api import project_get


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
        return Response(project_stats(project=project_get(slug)))
