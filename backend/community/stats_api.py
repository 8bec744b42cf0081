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


class StatsAcceptanceSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    decided = serializers.IntegerField(help_text="accepted or rejected by review")
    rate = serializers.FloatField(allow_null=True, help_text="accepted / decided")


class StatsSeriesSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="start of the first bucket (UTC)")
    step_seconds = serializers.IntegerField(help_text="3600 (hourly) or 86400 (daily)")
    messages = serializers.ListField(child=serializers.IntegerField())
    labels = serializers.ListField(child=serializers.IntegerField())
    rankings = serializers.ListField(child=serializers.IntegerField())


class StatsActivitySerializer(serializers.Serializer):
    hourly = StatsSeriesSerializer(help_text="the last 48 hours, the newest is the current hour")
    daily = StatsSeriesSerializer(help_text="the last 30 UTC days, the newest is today")


class StatsActiveVolunteersSerializer(serializers.Serializer):
    last_24_hours = serializers.IntegerField()
    last_7_days = serializers.IntegerField()


class StatsAgreementPointSerializer(serializers.Serializer):
    taken_at = serializers.DateTimeField()
    labels = serializers.DictField(
        child=serializers.FloatField(allow_null=True), help_text="alpha per label"
    )
    ranking_alpha = serializers.FloatField(allow_null=True)
    kendalls_w = serializers.FloatField(allow_null=True)


class StatsModerationBacklogSerializer(serializers.Serializer):
    open = serializers.IntegerField(help_text="moderation queue items not resolved")
    by_reason = serializers.DictField(child=serializers.IntegerField())


class ProjectStatsSerializer(serializers.Serializer):
    project = serializers.SlugField()
    trees_by_state = serializers.DictField(child=serializers.IntegerField())
    messages = serializers.DictField(child=serializers.IntegerField())
    work_available = serializers.DictField()
    agreement = AgreementSnapshotSerializer(
        allow_null=True, help_text="newest agreement snapshot; history at /agreement"
    )
    quality = QualityStatsSerializer(help_text="automatic quality flags: counts and rates")
    generated_at = serializers.DateTimeField(
        help_text="when these figures were computed (they are cached for 30 s)"
    )
    trees_by_language = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="per language: trees per state",
    )
    acceptance = serializers.DictField(
        child=StatsAcceptanceSerializer(), help_text="prompts and replies: accepted / decided"
    )
    activity = StatsActivitySerializer()
    active_volunteers = StatsActiveVolunteersSerializer()
    median_seconds_per_kind = serializers.DictField(
        child=serializers.FloatField(),
        help_text="per task kind: median seconds from claim to submit, last 7 days",
    )
    agreement_over_time = StatsAgreementPointSerializer(many=True, help_text="oldest first")
    moderation_backlog = StatsModerationBacklogSerializer()


class ProjectStatsView(APIView):
    @extend_schema(responses=ProjectStatsSerializer, summary="Progress of a project")
    def get(self, request: Request, slug: str) -> Response:
        return Response(project_stats(project=project_get(slug)))
