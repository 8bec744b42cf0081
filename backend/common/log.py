"""Log lines that say which request or task they belong to.

Every line Arbor writes carries the context it was written in: under a request, the
request id (the ``X-Request-ID`` the answer shows), the user id and the method and
path; inside a Celery task, the task id and name and, when the work came from a
request, that request's id (carried in the task's headers by the outbox). The context
lives in a ``ContextVar``, so it follows the request through asgiref's thread hops and
never leaks into another request.

Two formats (``ARBOR_LOG_FORMAT``, docs/observability.md): ``json``, one JSON object
per line (python-json-logger with orjson), the default in production; and ``text``, a
line a person reads, the default of ``make run``.
"""

from __future__ import annotations

import contextlib
import logging
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.orjson import OrjsonFormatter

# The header of a Celery message that carries the id of the request it came from.
REQUEST_ID_TASK_HEADER = "arbor_request_id"


@dataclass(frozen=True, slots=True)
class TaskContext:
    task_id: str
    task_name: str
    request_id: str | None = None


# A request under way in this context (its fields are read when a line is written:
# the user is known only once authentication ran), or the task being run.
_request: ContextVar[HttpRequest | None] = ContextVar("arbor_log_request", default=None)
_task: ContextVar[TaskContext | None] = ContextVar("arbor_log_task", default=None)


@contextmanager
def request_context(request: HttpRequest) -> Iterator[None]:
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


@contextmanager
def task_context(context: TaskContext) -> Iterator[None]:
    token = _task.set(context)
    try:
        yield
    finally:
        _task.reset(token)


def task_context_enter(context: TaskContext) -> Any:
    """For Celery's prerun/postrun signals, which cannot hold a ``with`` block."""
    return _task.set(context)


def task_context_exit(token: Any) -> None:
    _task.reset(token)


def current_request_id() -> str | None:
    """The id of the request (or of the request behind the task) being served."""
    request = _request.get()
    if request is not None:
        return getattr(request, "request_id", None) or None
    task = _task.get()
    return task.request_id if task is not None else None


def user_id_of(request: HttpRequest) -> int | None:
    """The signed-in user's id, if authentication already ran; never a query of its own.

    ``AuthenticationMiddleware`` sets a lazy user that would load the session when
    touched; a log line must not be the thing that loads it.
    """
    user = getattr(request, "user", None)
    if user is None:
        return None
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:  # type: ignore[attr-defined]
        return None
    if not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "pk", None)


class ContextFilter(logging.Filter):
    """Adds the request's or task's fields to each record (``None`` outside either)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = _request.get()
        if request is None:
            # Django logs a 4xx after the middleware has answered, outside the request's
            # context, but hands the request along (``django.request``'s ``extra``).
            given = getattr(record, "request", None)
            if isinstance(given, HttpRequest):
                request = given
        task = _task.get()
        if request is not None:
            record.request_id = getattr(request, "request_id", None) or None
            record.user_id = user_id_of(request)
            record.method = request.method
            record.path = request.path
        else:
            record.request_id = task.request_id if task is not None else None
            record.user_id = record.method = record.path = None
        if task is not None:
            record.task_id = task.task_id
            record.task_name = task.task_name
        else:
            record.task_id = record.task_name = None
        return True


class JsonFormatter(OrjsonFormatter):
    """One JSON object per line: time, level, logger, message, then the context and
    any ``extra`` fields; fields without a value are left out."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # The request object Django passes in ``extra`` is already told by the context
        # fields; its repr would only repeat the path.
        return {
            key: value
            for key, value in log_data.items()
            if value is not None and not isinstance(value, HttpRequest)
        }


class TextFormatter(logging.Formatter):
    """``time level logger message [request … user … | task …]`` for a person."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = []
        request_id = getattr(record, "request_id", None)
        if request_id:
            context.append(f"request {request_id}")
        user_id = getattr(record, "user_id", None)
        if user_id is not None:
            context.append(f"user {user_id}")
        task_id = getattr(record, "task_id", None)
        if task_id:
            context.append(f"task {getattr(record, 'task_name', '')} {task_id}")
        if not context:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} [{', '.join(context)}]{newline}{rest}"


# --- Celery: workers and beat log as the web does -----------------------------------------


def celery_logging_setup(loglevel: int | str | None = None, **_: Any) -> None:
    """Celery's ``setup_logging`` signal: Django's ``LOGGING`` instead of Celery's own
    handlers, so a worker's lines have the same format and context as the web's. The
    worker's ``--loglevel`` still sets the root level."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


def _request_id_of_task(task: Any) -> str | None:
    request = task.request
    request_id = getattr(request, REQUEST_ID_TASK_HEADER, None)
    if not request_id and isinstance(getattr(request, "headers", None), dict):
        request_id = request.headers.get(REQUEST_ID_TASK_HEADER)
    # Eager mode runs the task inside the request that enqueued it.
    return str(request_id) if request_id else current_request_id()


_task_tokens: dict[str, Any] = {}


def celery_task_started(task_id: str, task: Any, **_: Any) -> None:
    """Celery's ``task_prerun``: lines the task writes carry its id and name, and the
    id of the request its work came from."""
    context = TaskContext(
        task_id=task_id, task_name=task.name, request_id=_request_id_of_task(task)
    )
    _task_tokens[task_id] = task_context_enter(context)


def celery_task_finished(task_id: str, **_: Any) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        # ValueError: set in another context (not in prefork workers or eager mode).
        with contextlib.suppress(ValueError):
            task_context_exit(token)
