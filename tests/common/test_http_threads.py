"""The WSGI bridge: Django's WSGI handler on a pool of threads behind the ASGI server
(the whole site is served through it in the browser tests and the drills; these pin
down its protocol details)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from backend.common.http_threads import BUFFERED_RESPONSE, ThreadedWSGI


async def _call(
    app: Any, *, method: str = "GET", path: str = "/", body: list[bytes] | None = None, **scope: Any
) -> list[dict[str, Any]]:
    parts = [b""] if body is None else list(body)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not parts:
            return {"type": "http.disconnect"}
        part = parts.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(parts)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(
        {
            "type": "http",
            "method": method,
            "path": path,
            "query_string": b"a=1&b=%C3%A9",
            "headers": [
                (b"host", b"arbor.example"),
                (b"x-tag", b"one"),
                (b"x-tag", b"two"),
                (b"content-type", b"text/plain"),
            ],
            "client": ("10.0.0.7", 5555),
            "server": ("127.0.0.1", 8000),
            **scope,
        },
        receive,
        send,
    )
    return sent


class Recorder:
    """A WSGI app that answers what it saw, and notes that it was closed and where."""

    def __init__(self, chunks: list[bytes] | None = None) -> None:
        self.environ: dict[str, Any] = {}
        self.body = b""
        self.chunks = chunks
        self.closed_in: str | None = None
        self.ran_in: str | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        self.environ = environ
        self.body = environ["wsgi.input"].read()
        self.ran_in = threading.current_thread().name
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Seen", "yes")])
        return _Closing(self.chunks or [b"hello ", b"there"], self)


class _Closing:
    def __init__(self, chunks: list[bytes], recorder: Recorder) -> None:
        self.chunks = chunks
        self.recorder = recorder

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks)

    def close(self) -> None:
        self.recorder.closed_in = threading.current_thread().name


@pytest.mark.asyncio
async def test_a_small_answer_goes_out_in_one_message_after_the_app_ran_in_a_pool_thread():
    app = Recorder()
    sent = await _call(
        ThreadedWSGI(app, threads=2), method="POST", path="/api/v1/x", body=[b"ab", b"cd"]
    )

    assert sent == [
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"text/plain"), (b"x-seen", b"yes")],
        },
        {"type": "http.response.body", "body": b"hello there"},
    ]
    assert app.body == b"abcd"
    assert app.ran_in is not None and app.ran_in.startswith("arbor-http")
    assert app.closed_in == app.ran_in  # Django's request_finished runs in the same thread
    environ = app.environ
    assert (environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["QUERY_STRING"]) == (
        "POST",
        "/api/v1/x",
        "a=1&b=%C3%A9",
    )
    assert (environ["HTTP_HOST"], environ["HTTP_X_TAG"], environ["CONTENT_TYPE"]) == (
        "arbor.example",
        "one,two",
        "text/plain",
    )
    assert (environ["REMOTE_ADDR"], environ["SERVER_PORT"], environ["wsgi.url_scheme"]) == (
        "10.0.0.7",
        "8000",
        "http",
    )


@pytest.mark.asyncio
async def test_a_large_answer_is_passed_on_chunk_by_chunk():
    chunk = b"x" * (BUFFERED_RESPONSE // 2 + 1)
    app = Recorder(chunks=[chunk, chunk, chunk, b"end"])
    sent = await _call(ThreadedWSGI(app, threads=1))

    assert [message["type"] for message in sent] == [
        "http.response.start",
        "http.response.body",
        "http.response.body",
        "http.response.body",
        "http.response.body",
    ]
    assert sent[0]["status"] == 201
    assert [message.get("more_body") for message in sent[1:]] == [True, True, True, False]
    assert b"".join(message["body"] for message in sent[1:]) == chunk * 3 + b"end"
    assert app.closed_in is not None


@pytest.mark.asyncio
async def test_a_client_gone_before_its_body_arrived_gets_no_answer_and_runs_nothing():
    app = Recorder()
    sent = await _call(ThreadedWSGI(app, threads=1), method="POST", body=[])
    assert sent == []
    assert app.ran_in is None


@pytest.mark.asyncio
async def test_requests_run_side_by_side_on_the_pool():
    release = threading.Event()
    inside: list[str] = []

    def slow(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        inside.append(threading.current_thread().name)
        assert release.wait(5)
        start_response("200 OK", [])
        return [b"ok"]

    bridge = ThreadedWSGI(slow, threads=3)
    calls = [asyncio.create_task(_call(bridge)) for _ in range(3)]
    for _ in range(100):
        if len(inside) == 3:
            break
        await asyncio.sleep(0.01)
    assert len(set(inside)) == 3  # three threads at once, none waiting for another
    release.set()
    answers = await asyncio.gather(*calls)
    assert [answer[1]["body"] for answer in answers] == [b"ok"] * 3
