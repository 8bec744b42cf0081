from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import exceptions
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class IsNotBanned(BasePermission):
    """A banned user may read but every write answers 403 with code ``banned``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if request.user.is_authenticated and getattr(request.user, "is_banned", False):
            raise exceptions.PermissionDenied(detail="Your account is banned.", code="banned")
        return True


def has_role(user: object, *roles: str) -> bool:
    """Admins (staff) have every role; others have the roles of their groups."""
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_staff", False):
        return True
    return bool(user.groups.filter(name__in=roles).exists())  # type: ignore[attr-defined]


class IsModerator(BasePermission):
    """Moderators and admins; anyone else gets 403 ``permission_denied``."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(request.user, "moderator")
