"""A database that does not answer gets a fast 503 with ``Retry-After``, not a 500.

PostgreSQL down (connection refused, the pool giving up, a connection broken under
a query) and SQLite's "database is locked" all raise Django's ``OperationalError`` (or
``InterfaceError`` for a connection that is already gone): nothing is wrong with the
request, it may be sent again shortly. API paths get the JSON error body every API
error has (``{"code": "database_unavailable", "detail"}``), other paths a small page
rendered without the database (no context processors, no user).

A pooled connection that did not come free in time while the server is up
(``ARBOR_DB_POOL_TIMEOUT``) is not an outage but too much work at once: the same 503,
with code ``overloaded`` so that operators can tell the two apart.

``DatabaseUnavailableMiddleware`` catches it in views; ``server_error`` (the project's
``handler500``) catches it wherever else it was raised, e.g. in a middleware.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.deprecation import MiddlewareMixin
from django.views.defaults import server_error as django_server_error
from psycopg_pool import PoolTimeout

from backend.common.postgresql.base import outage

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


def is_database_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, UNAVAILABLE_ERRORS)


def is_pool_exhausted(error: BaseException | None) -> bool:
    """The error is the pool's wait for a free connection running out (server up)."""
    cause = getattr(error, "__cause__", None)
    return isinstance(cause, PoolTimeout) and not outage.is_suspected


def database_unavailable_response(
    request: HttpRequest, error: BaseException | None = None
) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        if is_pool_exhausted(error):
            body = {"code": "overloaded", "detail": "Too many requests at once; try again shortly."}
        else:
            body = {
                "code": "database_unavailable",
                "detail": "The database is not answering right now; try again shortly.",
            }
        response = JsonResponse(body, status=503)
    else:
        page = loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    """Turns a database error raised by a view into the 503 answer."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_database_unavailable(exception):
            return None
        logger.warning("database unavailable on %s %s: %s", request.method, request.path, exception)
        return database_unavailable_response(request, exception)


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """``handler500``: the 503 answer when the error was the database's, else Django's."""
    error = sys.exc_info()[1]
    if is_database_unavailable(error):
        logger.warning("database unavailable on %s %s: %s", request.method, request.path, error)
        return database_unavailable_response(request, error)
    try:
        return django_server_error(request, *args, **kwargs)
    except Exception:  # noqa: BLE001 - the 500 page itself must not fail
        return HttpResponseServerError("Server error")
