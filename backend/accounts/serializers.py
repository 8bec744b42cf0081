from __future__ import annotations

from typing import Any

from rest_framework import serializers

from backend.accounts.models import User
from backend.accounts.services import roles_of


class UserSerializer(serializers.Serializer):
    """A user as moderators and the user themself see them."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    is_banned = serializers.BooleanField()
    show_on_leaderboard = serializers.BooleanField()


def render_user(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "roles": roles_of(user),
        "is_banned": user.is_banned,
        "show_on_leaderboard": user.show_on_leaderboard,
    }
