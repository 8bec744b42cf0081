"""The admission gate: at most N requests inside the application, the rest wait their
turn in the event loop, and one that waited too long gets 503 ``overloaded``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from django.db import OperationalError
from django.test import RequestFactory
from psycopg_pool import PoolTimeout

from backend.common.admission import AdmissionGate, gate
from backend.common.database import DatabaseUnavailableMiddleware


class SlowApp:
    """An ASGI app that answers 200 once released, counting who is inside at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most_inside = 0
        self.release = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        try:
            await self.release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        finally:
            self.inside -= 1


async def _request(app: Any, path: str = "/api/v1/tasks/claim") -> dict[str, Any]:
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app({"type": "http", "method": "POST", "path": path}, receive, send)
    start = messages[0]
    return {
        "status": start["status"],
        "headers": dict(start["headers"]),
        "body": b"".join(m.get("body", b"") for m in messages[1:]),
    }


@pytest.mark.asyncio
async def test_no_more_than_the_limit_are_inside_and_every_waiting_request_gets_its_turn():
    inner = SlowApp()
    gated = AdmissionGate(inner, limit=2, wait_seconds=30)
    requests = [asyncio.create_task(_request(gated)) for _ in range(7)]
    await asyncio.sleep(0.05)
    assert (inner.inside, gated.in_flight, gated.waiting) == (2, 2, 5)
    inner.release.set()
    answers = await asyncio.gather(*requests)
    assert [answer["status"] for answer in answers] == [200] * 7
    assert inner.most_inside == 2
    assert (gated.in_flight, gated.waiting) == (0, 0)


@pytest.mark.asyncio
async def test_a_request_that_waited_too_long_is_answered_overloaded_without_entering():
    inner = SlowApp()
    gated = AdmissionGate(inner, limit=1, wait_seconds=0.05)
    first = asyncio.create_task(_request(gated))
    await asyncio.sleep(0.01)
    answer = await _request(gated)
    assert answer["status"] == 503
    assert answer["headers"][b"retry-after"] == b"2"
    assert json.loads(answer["body"]) == {
        "code": "overloaded",
        "detail": "Too many requests at once; try again shortly.",
    }
    page = await _request(gated, "/task/")
    assert page["status"] == 503
    assert page["headers"][b"content-type"] == b"text/html; charset=utf-8"
    assert inner.most_inside == 1
    inner.release.set()
    assert (await first)["status"] == 200
    # The slot is free again: the next request goes in.
    assert (await _request(gated))["status"] == 200


@pytest.mark.asyncio
async def test_static_files_and_other_protocols_do_not_pass_the_gate():
    inner = SlowApp()
    gated = AdmissionGate(inner, limit=1, wait_seconds=0.05)
    first = asyncio.create_task(_request(gated))
    await asyncio.sleep(0.01)
    static = asyncio.create_task(_request(gated, "/static/app.js"))
    await asyncio.sleep(0.01)
    assert inner.inside == 2
    inner.release.set()
    assert [(await first)["status"], (await static)["status"]] == [200, 200]


def test_a_limit_of_zero_means_no_gate():
    inner = SlowApp()
    assert gate(inner, limit=0, wait_seconds=1) is inner
    assert isinstance(gate(inner, limit=3, wait_seconds=1), AdmissionGate)
    with pytest.raises(ValueError):
        AdmissionGate(inner, limit=0, wait_seconds=1)


def _answer(error: Exception, path: str) -> Any:
    request = RequestFactory().get(path)
    return DatabaseUnavailableMiddleware(lambda request: None).process_exception(request, error)


def test_a_pool_that_ran_out_of_connections_is_overloaded_not_an_outage():
    try:
        raise OperationalError("couldn't get a connection after 5.00 sec") from PoolTimeout()
    except OperationalError as error:
        exhausted = error
    response = _answer(exhausted, "/api/v1/trees/")
    assert (response.status_code, json.loads(response.content)["code"]) == (503, "overloaded")
    refused = OperationalError("connection refused")
    response = _answer(refused, "/api/v1/trees/")
    assert (response.status_code, json.loads(response.content)["code"]) == (
        503,
        "database_unavailable",
    )
    assert response["Retry-After"] == "5"
