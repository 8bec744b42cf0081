"""DRF glue shared by every app: the error renderer and the base permissions."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from backend.common.errors import ArborError

logger = logging.getLogger(__name__)


def _field_errors(detail: Any) -> dict[str, list[dict[str, str]]]:
    """Flatten DRF's nested ErrorDetail structure into ``{field: [{code, detail}]}``."""
    fields: dict[str, list[dict[str, str]]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list):
            if all(isinstance(item, exceptions.ErrorDetail) for item in value):
                for item in value:
                    fields.setdefault(prefix or "non_field_errors", []).append(
                        {"code": item.code or "invalid", "detail": str(item)}
                    )
            else:
                for index, item in enumerate(value):
                    walk(f"{prefix}.{index}" if prefix else str(index), item)
        elif isinstance(value, exceptions.ErrorDetail):
            fields.setdefault(prefix or "non_field_errors", []).append(
                {"code": value.code or "invalid", "detail": str(value)}
            )

    walk("", detail)
    return fields


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every error as ``{"code", "detail"[, "fields"]}`` with a stable code."""
    if isinstance(exc, ArborError):
        response = Response(exc.as_dict(), status=exc.status_code)
        if exc.status_code == 429 and "retry_after" in exc.extra:
            response["Retry-After"] = str(exc.extra["retry_after"])
        return response
    if isinstance(exc, Http404):
        return Response({"code": "not_found", "detail": "Not found."}, status=404)
    if isinstance(exc, PermissionDenied):
        return Response({"code": "permission_denied", "detail": str(exc) or "Forbidden."}, 403)
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        first_code = next(iter(fields.values()))[0]["code"] if fields else "invalid"
        return Response(
            {"code": first_code, "detail": "The request has invalid fields.", "fields": fields},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.Throttled):
        retry_after = max(1, math.ceil(getattr(exc, "wait", None) or 1))
        response = Response(
            {
                "code": "rate_limited",
                "detail": "Too many requests; try again later.",
                "retry_after": retry_after,
            },
            status=429,
        )
        response["Retry-After"] = str(retry_after)
        return response
    if isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        if not isinstance(code, str):
            code = exc.default_code
        body: dict[str, Any] = {"code": code, "detail": str(exc.detail)}
        response = Response(body, status=exc.status_code)
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            response["WWW-Authenticate"] = auth_header
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        return response
    return None


def actor_id(request: Any) -> int:
    """The signed-in user's id in a view that requires authentication."""
    user_id = request.user.pk
    assert user_id is not None, "view must require authentication"
    return int(user_id)
