from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.common.errors import NotFound
from backend.common.query import (
    ChoiceFilter,
    IntegerFilter,
    QueryParameters,
    SlugFilter,
    query_parameters,
)
from backend.community.models import Window
from backend.community.selectors import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    leaderboard_page,
    points_formula,
)
from backend.projects.models import Project


class LeaderboardQuerySerializer(QueryParameters):
    window = ChoiceFilter(choices=Window.values, default=Window.ALL)
    project = SlugFilter()
    limit = IntegerFilter(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    offset = IntegerFilter(min_value=0, default=0)


class ContributionsSerializer(serializers.Serializer):
    prompts = serializers.IntegerField()
    replies = serializers.IntegerField()
    reviews = serializers.IntegerField()
    rankings = serializers.IntegerField()


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    user_id = serializers.IntegerField()
    display_name = serializers.CharField()
    points = serializers.IntegerField()
    level = serializers.IntegerField()
    streak_days = serializers.IntegerField()
    contributions = ContributionsSerializer()


class LeaderboardSerializer(serializers.Serializer):
    window = serializers.ChoiceField(choices=Window.values)
    project = serializers.SlugField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    count = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    results = LeaderboardRowSerializer(many=True)
    me = LeaderboardRowSerializer()


class LeaderboardView(APIView):
    @extend_schema(
        parameters=[LeaderboardQuerySerializer],
        responses=LeaderboardSerializer,
        summary="Leaderboard for a window, overall or for one project",
        description=(
            "Read from the boards the beat task materialises (see `computed_at`); "
            "`me` is the caller's own row wherever it is. How points are earned: "
            "`GET /api/v1/leaderboard/formula`."
        ),
    )
    def get(self, request: Request) -> Response:
        query = query_parameters(LeaderboardQuerySerializer, request)
        project = None
        if query["project"] is not None:
            project = Project.objects.filter(slug=query["project"]).first()
            if project is None:
                raise NotFound("project_not_found", "No such project.")
        page = leaderboard_page(
            window=query["window"],
            project=project,
            viewer=request.user,  # type: ignore[arg-type]
            limit=query["limit"],
            offset=query["offset"],
        )
        return Response(LeaderboardSerializer(page).data)


class FormulaView(APIView):
    # The rules are public: anyone may check how the leaderboard is computed.
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="How points, levels and streaks are computed",
    )
    def get(self, request: Request) -> Response:
        return Response(points_formula())
