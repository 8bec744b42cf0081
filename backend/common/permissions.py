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
