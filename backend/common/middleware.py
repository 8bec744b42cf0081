"""Request ids, logs and metrics of every request, and JSON errors on every API path.

``RequestIdMiddleware`` comes first: it gives the request its id, makes every log line
written while serving it carry that id (``backend.common.log``), times it for the
latency histogram and 5xx counter (``backend.common.metrics``) and writes one line per
request to the ``arbor.request`` logger (docs/observability.md).

An API client must be able to parse every answer it gets. DRF renders the errors its
views raise, but some never reach DRF's exception handler, and Django answers them
with an HTML page: a URL that matches no route (``/api/v1/trees/abc``), a body over
``DATA_UPLOAD_MAX_MEMORY_SIZE`` or with too many fields, and any unexpected exception
(a 500). Under ``/api/`` these become ``{"code", "detail"}`` JSON too; a 500 also
carries the request id, which is logged with the traceback so that a report quoting
it finds the cause.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.core import signals
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin

from backend.common.log import request_context
from backend.common.metrics import request_observe

logger = logging.getLogger(__name__)
# One line per answered request: method, path, status, duration, request and user id.
request_logger = logging.getLogger("arbor.request")

REQUEST_ID_HEADER = "X-Request-ID"
API_PREFIX = "/api/"
# An id handed in by a proxy is kept when it is short and plain (it ends up in logs).
_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

SERVER_ERROR_DETAIL = "Something went wrong on our side. Quote the request id when you report it."
# What a status means when Django, not an API view, produced the answer.
_CODE_BY_STATUS = {
    400: ("bad_request", "The request could not be understood."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    413: ("request_too_large", "The request body is too large."),
}


def request_id_of(request: HttpRequest) -> str:
    return str(getattr(request, "request_id", "") or "")


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def server_error_response(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "code": "server_error",
            "detail": SERVER_ERROR_DETAIL,
            "request_id": request_id_of(request),
        },
        status=500,
    )


class RequestIdMiddleware:
    """Give every request an id (``request.request_id``), echoed in ``X-Request-ID``;
    log lines written meanwhile carry it; the answer is counted and logged.

    Synchronous only: the middleware inside it (WhiteNoise) is, so Django runs this
    layer in the same thread as the ones below, and a request costs no extra hop.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        with request_context(request):
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            seconds = time.perf_counter() - started
            request_observe(request=request, status=response.status_code, seconds=seconds)
            if request_logger.isEnabledFor(logging.INFO):
                request_logger.info(
                    "%s %s %d %.1f ms",
                    request.method,
                    request.path,
                    response.status_code,
                    seconds * 1000,
                    extra={
                        "status": response.status_code,
                        "duration_ms": round(seconds * 1000, 3),
                    },
                )
        return response


def _client_error(exception: Exception) -> tuple[int, str, str] | None:
    """The 4xx an exception Django would turn into an HTML error page stands for."""
    if isinstance(exception, RequestDataTooBig):
        return 400, "request_too_large", "The request body is larger than the server accepts."
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return 400, "too_many_fields", "The request has more fields than the server accepts."
    if isinstance(exception, SuspiciousOperation | BadRequest):
        return 400, "bad_request", "The request could not be understood."
    if isinstance(exception, Http404):
        return 404, "not_found", "Not found."
    if isinstance(exception, PermissionDenied):
        return 403, "permission_denied", "You do not have permission to perform this action."
    return None


class ApiErrorMiddleware(MiddlewareMixin):
    """Under ``/api/``, answer every error as JSON (see the module docstring).

    Sits just inside ``RequestIdMiddleware``, so it sees every answer the inner layers
    produce, and turns the exceptions views let escape into JSON itself.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_request(request):
            return None
        client_error = _client_error(exception)
        if client_error is not None:
            status, code, detail = client_error
            logger.warning(
                "%s %s answered %d %s (request id %s): %s",
                request.method,
                request.path,
                status,
                code,
                request_id_of(request),
                exception,
            )
            return JsonResponse({"code": code, "detail": detail}, status=status)
        logger.error(
            "unexpected error on %s %s (request id %s)",
            request.method,
            request.path,
            request_id_of(request),
            exc_info=exception,
        )
        # What Django does for an uncaught exception: error reporters (and the test
        # client) hear of it.
        signals.got_request_exception.send(sender=None, request=request)
        return server_error_response(request)

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if not is_api_request(request) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        if response.status_code >= 500:
            logger.error(
                "%s %s answered %d (request id %s)",
                request.method,
                request.path,
                response.status_code,
                request_id_of(request),
            )
            replacement: HttpResponse = server_error_response(request)
            replacement.status_code = response.status_code
            return replacement
        code, detail = _CODE_BY_STATUS.get(
            response.status_code, ("error", "The request was refused.")
        )
        replacement = JsonResponse({"code": code, "detail": detail}, status=response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replacement[header] = response[header]
        return replacement
