"""Admission control: a web process works on at most N requests at a time.

Under ASGI every request that reaches Django gets a thread and, at its first query, a
pooled database connection that it keeps until its response is finished. With more
requests in flight than the pool has connections, the extra ones block their threads
waiting for a connection, all threads fight for the same interpreter, every request
gets slower, and those that wait longer than the pool's timeout fail. A burst of 200
volunteers on a small machine turned into 503s that way, with the database idle.

``AdmissionGate`` lets at most ``limit`` HTTP requests into the application at once
(the pool size by default, ``ARBOR_WEB_CONCURRENCY``); the others wait in the event
loop, which costs nothing but memory, in arrival order. A request that waited
``wait_seconds`` (``ARBOR_WEB_QUEUE_SECONDS``) without its turn is answered 503 with
code ``overloaded`` and ``Retry-After``, without touching Django or the database.
Static files and websockets do not pass the gate.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

RETRY_AFTER_SECONDS = 2
UNGATED_PREFIXES = ("/static/",)


class AdmissionGate:
    def __init__(self, app: ASGIApp, *, limit: int, wait_seconds: float) -> None:
        if limit < 1:
            raise ValueError("an admission gate needs a limit of at least 1")
        self.app = app
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._semaphore: asyncio.Semaphore | None = None
        self.waiting = 0
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(UNGATED_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # bound to the server's event loop on first use
            self._semaphore = asyncio.Semaphore(self.limit)
        self.waiting += 1
        try:
            await asyncio.wait_for(self._semaphore.acquire(), self.wait_seconds)
        except TimeoutError:
            logger.warning(
                "overloaded: %s %s waited %.1f s for one of %d request slots",
                scope.get("method"),
                scope.get("path"),
                self.wait_seconds,
                self.limit,
            )
            await _overloaded(scope, send)
            return
        finally:
            self.waiting -= 1
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self._semaphore.release()


async def _overloaded(scope: Scope, send: Send) -> None:
    path = scope.get("path", "")
    if path.startswith("/api/"):
        body = json.dumps(
            {"code": "overloaded", "detail": "Too many requests at once; try again shortly."}
        ).encode()
        content_type = b"application/json"
    else:
        body = (
            b"<!doctype html><title>Busy</title><h1>Arbor is busy</h1>"
            b"<p>Too many requests at once; please try again in a few seconds.</p>"
        )
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def gate(app: ASGIApp, *, limit: int, wait_seconds: float) -> ASGIApp:
    """``app`` behind a gate of ``limit`` requests, or ``app`` itself when ``limit`` is 0."""
    if limit <= 0:
        return app
    return AdmissionGate(app, limit=limit, wait_seconds=wait_seconds)
