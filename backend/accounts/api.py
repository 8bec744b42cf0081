from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.services import roles_of
from backend.community.selectors import user_community_summary


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    is_banned = serializers.BooleanField()
    show_on_leaderboard = serializers.BooleanField()
    points = serializers.IntegerField()
    level = serializers.IntegerField()
    streak_days = serializers.IntegerField()


class MeView(APIView):
    @extend_schema(responses=MeSerializer, summary="The signed-in user")
    def get(self, request: Request) -> Response:
        user = request.user
        return Response(
            {
                "id": user.pk,
                "username": user.username,
                "display_name": user.display_name,  # type: ignore[union-attr]
                "roles": roles_of(user),  # type: ignore[arg-type]
                "is_banned": user.is_banned,  # type: ignore[union-attr]
                "show_on_leaderboard": user.show_on_leaderboard,  # type: ignore[union-attr]
                # Kept up to date by the community beat task, not computed here.
                **user_community_summary(user_id=user.pk),  # type: ignore[arg-type]
            }
        )
