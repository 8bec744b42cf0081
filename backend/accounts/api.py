"""The signed-in person's own account: download their data, delete the account, choose
whether to appear on leaderboards (``/api/v1/users/me/…``). Rules in
``backend.accounts.selfservice``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.selfservice import (
    account_data_collect,
    account_delete,
    user_leaderboard_visibility_set,
)
from backend.accounts.serializers import UserSerializer, render_user
from backend.common.fields import StrictBooleanField, StrictCharField

DATA_FILE_NAME = "arbor-my-data.json"


class MyDataView(APIView):
    # Reading one's own data is allowed to a banned person too.
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="Download my data",
        description=(
            "A JSON file of everything Arbor holds about me: account, messages with "
            "their revisions, reactions, label and ranking votes, points, reports, "
            "edit suggestions and the audit entries about my account."
        ),
    )
    def get(self, request: Request) -> Response:
        data = account_data_collect(user=request.user)  # type: ignore[arg-type]
        return Response(
            data, headers={"Content-Disposition": f'attachment; filename="{DATA_FILE_NAME}"'}
        )


class DeleteInputSerializer(serializers.Serializer):
    password = StrictCharField(required=False, allow_blank=True, trim_whitespace=False, default="")
    confirm = StrictCharField(required=False, allow_blank=True, default="")


class DeletedSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()
    username = serializers.CharField(help_text="the pseudonym the account now has")


class MyAccountDeleteView(APIView):
    # A banned person may delete their account as well.
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=DeleteInputSerializer,
        responses=DeletedSerializer,
        summary="Delete my account",
        description=(
            "Confirmed with the password (accounts without one: `confirm` = the "
            "username). Personal data goes; contributions follow each project's "
            "on_account_deletion policy. Log-in is impossible afterwards."
        ),
    )
    def post(self, request: Request) -> Response:
        data = DeleteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = account_delete(
            user=request.user,  # type: ignore[arg-type]
            password=data.validated_data["password"],
            confirm=data.validated_data["confirm"],
        )
        return Response({"deleted": True, "username": user.username})


class LeaderboardChoiceSerializer(serializers.Serializer):
    show_on_leaderboard = StrictBooleanField()


class MyLeaderboardView(APIView):
    # Opting out is a privacy choice: a banned person may make it too.
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=LeaderboardChoiceSerializer,
        responses=UserSerializer,
        summary="Show me on leaderboards, or not",
    )
    def put(self, request: Request) -> Response:
        data = LeaderboardChoiceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_leaderboard_visibility_set(
            user=request.user,  # type: ignore[arg-type]
            show=data.validated_data["show_on_leaderboard"],
        )
        return Response(render_user(user))
