"""Arbor's own answers for addresses nothing serves, and the site icon.

Unknown addresses reach ``not_found`` through a catch-all pattern listed last, so even
with ``DEBUG`` on (``make run``) a visitor sees Arbor's page, in the layout and the
visitor's language, not Django's debug page. API addresses keep the API's JSON errors.
An address that only lacks its trailing slash is redirected, as ``APPEND_SLASH`` did.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

FAVICON = Path(settings.BASE_DIR) / "frontend" / "static" / "favicon.ico"


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            pass
        else:
            if match.func is not not_found:
                query = request.META.get("QUERY_STRING", "")
                return HttpResponsePermanentRedirect(
                    request.path + "/" + (f"?{query}" if query else "")
                )
    return render(request, "404.html", status=404)


@cache
def _favicon_bytes() -> bytes:
    return FAVICON.read_bytes()


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_favicon_bytes(), content_type="image/x-icon")
