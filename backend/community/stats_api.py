from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.community.stats import project_stats
from backend.consensus.api import AgreementSnapshotSerializer
from backend.projects.api import project_get


class FlagRateSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True, help_text="count / computed; null if none")


class QualityRatesSerializer(serializers.Serializer):
    computed = serializers.IntegerField(help_text="messages whose quality signals are computed")
    flags = serializers.DictField(child=FlagRateSerializer(), help_text="per flag name")


class QualityStatsSerializer(QualityRatesSerializer):
    by_language = serializers.DictField(
        child=QualityRatesSerializer(), help_text="the same per message language"
    )


class ProjectStatsSerializer(serializers.Serializer):
    project = serializers.SlugField()
    trees_by_state = serializers.DictField(child=serializers.IntegerField())
    messages = serializers.DictField(child=serializers.IntegerField())
    work_available = serializers.DictField()
    agreement = AgreementSnapshotSerializer(
        allow_null=True, help_text="newest agreement snapshot; history at /agreement"
    )
    quality = QualityStatsSerializer(help_text="automatic quality flags: counts and rates")


class ProjectStatsView(APIView):
    @extend_schema(responses=ProjectStatsSerializer, summary="Progress of a project")
    def get(self, request: Request, slug: str) -> Response:
        return Response(project_stats(project=project_get(slug)))
