from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.serializers import UserSerializer, render_user
from backend.community.selectors import user_community_summary


class MeSerializer(UserSerializer):
    points = serializers.IntegerField()
    level = serializers.IntegerField()
    streak_days = serializers.IntegerField()


class MeView(APIView):
    @extend_schema(responses=MeSerializer, summary="The signed-in user")
    def get(self, request: Request) -> Response:
        user = request.user
        return Response(
            {
                **render_user(user),  # type: ignore[arg-type]
                # Kept up to date by the community beat task, not computed here.
                **user_community_summary(user_id=user.pk),  # type: ignore[arg-type]
            }
        )
