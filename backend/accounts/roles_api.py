"""``POST /api/v1/users/{username}/roles`` ``{"role", "grant": true|false}``: admins
give or take moderator, researcher and admin; audited."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.accounts.roles import MANAGED_ROLES, user_role_change
from backend.common.errors import NotFound
from backend.common.fields import StrictBooleanField
from backend.common.permissions import has_role


class IsAdmin(BasePermission):
    message = "Only admins change roles."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(request.user, "admin")


class RoleChangeInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=[str(role) for role in MANAGED_ROLES])
    grant = StrictBooleanField()


class RolesOutput(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())


class UserRolesView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=RoleChangeInput, responses=RolesOutput, summary="Grant or revoke a role")
    def post(self, request: Request, username: str) -> Response:
        person = User.objects.filter(username=username).first()
        if person is None:
            raise NotFound("user_not_found", "No such person.")
        data = RoleChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        roles = user_role_change(
            user=person,
            role=data.validated_data["role"],
            grant=data.validated_data["grant"],
            actor=cast(User, request.user),
        )
        return Response({"username": person.username, "roles": roles})
