"""Log lines carry the request or task they were written for (backend/common/log.py).

The tests read what the configured console handler writes (Django's ``LOGGING``, as
production has it: JSON, the default with DEBUG off), by pointing its stream at a
buffer.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from django.db import connection, connections
from django.test import AsyncClient, Client
from rest_framework.response import Response
from rest_framework.test import APIClient

from backend.accounts.services import user_token
from backend.common.log import (
    REQUEST_ID_TASK_HEADER,
    ContextFilter,
    TaskContext,
    TextFormatter,
    current_request_id,
    request_context,
    task_context,
)
from backend.common.outbox import enqueue
from backend.projects.api import ProjectListView
from tasks.celery import app

ROOT = Path(__file__).resolve().parents[2]
PROBE_TASK = "tests.common.test_logging.log_probe"


@app.task(name=PROBE_TASK)
def log_probe(word: str) -> None:
    logging.getLogger("tests.probe").warning("probe says %s", word)


def console_handler() -> logging.Handler:
    handlers = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    assert len(handlers) == 1, logging.getLogger().handlers
    return handlers[0]


@pytest.fixture
def logged() -> Iterator[Callable[[], list[dict]]]:
    """Reads the JSON lines the console handler wrote so far in the test."""
    handler = console_handler()
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        handler.setStream(previous)


@pytest.fixture
def eager_tasks_loaded(django_capture_on_commit_callbacks) -> None:
    """The first eager task of a process loads Celery's task modules, which sets up
    Django (and so its logging) again; done before ``logged`` points the handler."""
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(PROBE_TASK, "warming up")


def test_production_logs_are_json_lines():
    assert django_settings.LOG_FORMAT == "json"
    assert django_settings.LOGGING["handlers"]["console"]["formatter"] == "json"


@pytest.mark.django_db
def test_a_request_log_line_parses_and_carries_the_request_id_the_answer_shows(logged, make_user):
    user = make_user()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=user)}")
    response = client.get("/api/v1/users/me")
    assert response.status_code == 200
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32

    (line,) = [line for line in logged() if line["logger"] == "arbor.request"]
    assert line["request_id"] == request_id
    assert line["user_id"] == user.pk
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/users/me", 200)
    assert line["level"] == "INFO"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] > 0
    assert line["message"].startswith("GET /api/v1/users/me 200 ")
    assert line["timestamp"].endswith("+00:00")
    assert "task_id" not in line  # fields without a value are left out


@pytest.mark.django_db
def test_an_incoming_request_id_is_kept_and_an_anonymous_request_has_no_user(logged):
    response = Client().get("/api/v1/users/me", HTTP_X_REQUEST_ID="from-the-proxy-42")
    assert response.status_code == 401
    assert response["X-Request-ID"] == "from-the-proxy-42"
    lines = logged()
    (line,) = [line for line in lines if line["logger"] == "arbor.request"]
    assert line["request_id"] == "from-the-proxy-42"
    assert line["status"] == 401
    assert "user_id" not in line
    # Django's own warning comes after the middleware answered; it names the request too.
    (warning,) = [line for line in lines if line["logger"] == "django.request"]
    assert warning["message"] == "Unauthorized: /api/v1/users/me"
    assert warning["request_id"] == "from-the-proxy-42"
    assert warning["path"] == "/api/v1/users/me"
    assert "request" not in warning


@pytest.mark.django_db
def test_an_error_logged_while_serving_carries_the_request_id(logged, make_user, monkeypatch):
    def broken(self, request):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug in the view")

    monkeypatch.setattr(ProjectListView, "get", broken)
    user = make_user()
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    response = client.get("/api/v1/projects/")
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    assert response.json()["request_id"] == request_id

    lines = logged()
    (error,) = [line for line in lines if line["logger"] == "backend.common.middleware"]
    assert error["level"] == "ERROR"
    assert error["request_id"] == request_id
    assert error["user_id"] == user.pk
    assert error["path"] == "/api/v1/projects/"
    assert "RuntimeError: a bug in the view" in error["exc_info"]
    (access,) = [line for line in lines if line["logger"] == "arbor.request"]
    assert (access["request_id"], access["status"]) == (request_id, 500)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_line_the_view_writes_under_asgi_carries_the_request_id(
    logged, make_user, monkeypatch
):
    # Under ASGI the view runs in a thread of its own, reached through asgiref's hops
    # between the event loop and the synchronous middleware: the context goes along.
    def noting(self, request):  # type: ignore[no-untyped-def]
        logging.getLogger("tests.view").warning("the view was here")
        return Response([])

    monkeypatch.setattr(ProjectListView, "get", noting)
    user = await sync_to_async(make_user)()
    token = await sync_to_async(user_token)(user=user)
    response = await AsyncClient().get(
        "/api/v1/projects/", headers={"Authorization": f"Token {token}"}
    )
    # The test client keeps Django from closing the request thread's connection.
    await sync_to_async(connections.close_all)()
    assert response.status_code == 200
    (line,) = [line for line in logged() if line["logger"] == "tests.view"]
    assert line["request_id"] == response["X-Request-ID"]
    assert line["user_id"] == user.pk
    assert line["path"] == "/api/v1/projects/"


@pytest.mark.django_db
def test_lines_outside_a_request_carry_no_request_fields(logged):
    logging.getLogger("tests.outside").warning("nothing to do with a request")
    (line,) = logged()
    assert set(line) == {"timestamp", "level", "logger", "message"}


@pytest.mark.django_db
def test_a_task_enqueued_by_a_request_logs_its_task_id_and_the_request_id(
    eager_tasks_loaded, logged, rf, django_capture_on_commit_callbacks
):
    # Eager mode: the task runs in this process once the transaction commits.
    request = rf.get("/somewhere")
    request.request_id = "request-behind-the-task"
    with request_context(request), django_capture_on_commit_callbacks(execute=True):
        enqueue(PROBE_TASK, "hello")
    (line,) = [line for line in logged() if line["logger"] == "tests.probe"]
    assert line["message"] == "probe says hello"
    assert line["task_name"] == PROBE_TASK
    assert len(line["task_id"]) == 36
    assert line["request_id"] == "request-behind-the-task"


def test_the_text_format_names_the_request_and_the_user():
    formatter = TextFormatter()
    record = logging.LogRecord("arbor.request", logging.INFO, __file__, 1, "GET / 200", (), None)
    request = type("Request", (), {"request_id": "abc", "method": "GET", "path": "/"})()
    with request_context(request):  # type: ignore[arg-type]
        ContextFilter().filter(record)
    assert formatter.format(record).endswith("INFO arbor.request GET / 200 [request abc]")
    record.user_id = 7
    assert formatter.format(record).endswith("GET / 200 [request abc, user 7]")
    with task_context(TaskContext(task_id="t-1", task_name="tasks.x", request_id="r-9")):
        plain = logging.LogRecord("x", logging.WARNING, __file__, 1, "done", (), None)
        ContextFilter().filter(plain)
        assert current_request_id() == "r-9"
    assert formatter.format(plain).endswith("WARNING x done [request r-9, task tasks.x t-1]")


# --- A real worker ----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_logs_json_with_the_task_id_and_the_request_id_from_the_headers(tmp_path):
    if not django_settings.REDIS_URL:
        pytest.skip("needs a real Redis broker: set REDIS_URL=redis://... to run it; CI does")
    app.control.purge()
    database = connection.settings_dict
    log_path = tmp_path / "worker.log"
    environment = {
        **os.environ,
        "DATABASE_URL": (
            f"postgresql://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "REDIS_URL": django_settings.REDIS_URL,
        "ARBOR_LOG_FORMAT": "json",
    }
    # The probe task lives in this test module: the worker imports it too.
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tasks",
                "worker",
                "--pool=solo",
                "--loglevel=warning",
                "--include=tests.common.test_logging",
            ],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        app.send_task(PROBE_TASK, args=["from a worker"], headers={REQUEST_ID_TASK_HEADER: "r-42"})
        deadline = time.monotonic() + 60
        probe: list[dict] = []
        while not probe and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.5)
            probe = [
                json.loads(line)
                for line in log_path.read_text().splitlines()
                if line.startswith("{") and '"tests.probe"' in line
            ]
        assert probe, log_path.read_text()[-3000:]
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    (line,) = probe
    assert line["message"] == "probe says from a worker"
    assert line["task_name"] == PROBE_TASK
    assert line["request_id"] == "r-42"
    assert len(line["task_id"]) == 36
