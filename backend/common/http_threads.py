"""HTTP requests served by Django's WSGI handler on a fixed pool of threads.

Django is synchronous here: every view, middleware and query is. Under its ASGI handler
each request still costs a new thread (a thread-sensitive context per request) and
an event-loop ↔ thread hop for every middleware's request and response half, the
view and the end of the request — measured in process at about 5 ms of CPU for an
authenticated ``GET /api/v1/users/me``, against about 1 ms for the same request through
the WSGI handler (docs/performance.md). This bridge keeps the ASGI server (websockets
go to Channels as before) but hands each HTTP request to Django's WSGI handler in one
hop, on a pool of long-lived threads, each with its own database connection.

The request body is read first (in memory up to 1 MiB, then spooled to a temporary
file); Django's size limits apply as always. A response is sent in one message when
its body is small; a larger or streamed one (export files, CSV) is passed on chunk by
chunk as the thread produces it. The WSGI iterable is always closed, in its thread, so
that Django's ``request_finished`` hands the connection back to the pool.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from tempfile import SpooledTemporaryFile
from typing import IO, Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

BODY_IN_MEMORY = 1 << 20
# A response body up to this size goes out in one message; beyond, chunk by chunk.
BUFFERED_RESPONSE = 1 << 16


class ThreadedWSGI:
    """An ASGI app that runs a WSGI app on ``threads`` threads."""

    def __init__(self, wsgi_application: WSGIApp, *, threads: int) -> None:
        self.wsgi_application = wsgi_application
        self.threads = threads
        self._executor: ThreadPoolExecutor | None = None

    @property
    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="arbor-http")
        return self._executor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"the WSGI bridge serves HTTP, not {scope['type']!r}")
        with SpooledTemporaryFile(max_size=BODY_IN_MEMORY) as body:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client left before sending its whole request
                body.write(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body.seek(0)
            environ = _environ(scope, body)
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(
                self.executor, _respond, self.wsgi_application, environ, loop, send
            )
        status, headers, chunks, streamed = outcome
        if streamed:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(chunks)})


def _environ(scope: Scope, body: IO[bytes]) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP scope (PEP 3333: strings as latin-1 of the
    bytes; repeated headers joined with commas)."""
    root = scope.get("root_path", "").encode("utf8").decode("latin1")
    path = scope["path"].encode("utf8").decode("latin1")
    if root and path.startswith(root):
        path = path[len(root) :]
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root,
        "PATH_INFO": path,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"] = scope["client"][0]
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin1").upper().replace("-", "_")
        if name not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            name = f"HTTP_{name}"
        value = raw_value.decode("latin1")
        environ[name] = f"{environ[name]},{value}" if name in environ else value
    return environ


def _respond(
    application: WSGIApp,
    environ: dict[str, Any],
    loop: asyncio.AbstractEventLoop,
    send: Send,
) -> tuple[int, list[tuple[bytes, bytes]], list[bytes], bool]:
    """In a pool thread: run the WSGI app; returns the status, headers, the buffered
    body and whether the body was streamed already (then only its end is left)."""
    started: dict[str, Any] = {}

    def start_response(
        status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        started["status"] = int(status.split(" ", 1)[0])
        started["headers"] = [
            (name.lower().encode("latin1"), value.encode("latin1"))
            for name, value in response_headers
        ]
        return _no_write

    async def sending(message: MutableMapping[str, Any]) -> None:
        await send(message)

    def send_from_thread(message: MutableMapping[str, Any]) -> None:
        asyncio.run_coroutine_threadsafe(sending(message), loop).result()

    iterable = application(environ, start_response)
    chunks: list[bytes] = []
    size = 0
    streamed = False
    try:
        for chunk in iterable:
            if not chunk:
                continue
            if streamed:
                send_from_thread({"type": "http.response.body", "body": chunk, "more_body": True})
                continue
            chunks.append(chunk)
            size += len(chunk)
            if size > BUFFERED_RESPONSE:
                send_from_thread(
                    {
                        "type": "http.response.start",
                        "status": started["status"],
                        "headers": started["headers"],
                    }
                )
                send_from_thread(
                    {"type": "http.response.body", "body": b"".join(chunks), "more_body": True}
                )
                chunks = []
                streamed = True
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()  # Django's request_finished: the connection goes back to the pool
    return started["status"], started["headers"], chunks, streamed


def _no_write(data: bytes) -> None:
    raise NotImplementedError("Django does not use the WSGI write() callable")
