"""Who may export and import: researchers and admins (staff)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import BasePermission

from backend.accounts.models import Role
from backend.common.errors import Forbidden

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

PERMISSION_DETAIL = "Only researchers and admins may export or import data."


def is_researcher_or_admin(user: Any) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return bool(user.groups.filter(name=Role.RESEARCHER).exists())


def require_researcher_or_admin(user: Any) -> None:
    if not is_researcher_or_admin(user):
        raise Forbidden("permission_denied", PERMISSION_DETAIL)


class IsResearcherOrAdmin(BasePermission):
    """403 ``permission_denied`` for the signed-in without the role (anonymous: 401)."""

    message = PERMISSION_DETAIL

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False  # DRF answers 401 (token auth's WWW-Authenticate) for anonymous
        return is_researcher_or_admin(request.user)
