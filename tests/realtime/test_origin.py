"""Only pages of this very site may open the events websocket: same scheme, host and
port as the socket, the host allowed, or an origin listed in CSRF_TRUSTED_ORIGINS."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from backend.realtime.origin import is_same_origin

# The close code the consumer answers an anonymous socket with: reaching it means the
# origin check let the connection through.
CONSUMER_REFUSED_ANONYMOUS = 4401


async def connect(origin: str | None, host: str = "testserver:8000") -> tuple[bool, int | None]:
    from backend.config.asgi import application

    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    socket = WebsocketCommunicator(application, "/ws/events/", headers=headers)
    connected, code = await socket.connect()
    await socket.disconnect()
    return connected, code


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize(
    "origin",
    [
        "http://testserver:8001",  # another port of the same host
        "http://testserver",  # port 80, not 8000
        "http://evil.example:8000",
        "http://testserver:notaport",
        "null",
        None,
    ],
)
async def test_a_page_of_another_origin_is_refused(origin):
    assert await connect(origin) == (False, 1000)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_page_of_this_site_gets_through_to_the_consumer():
    assert await connect("http://testserver:8000") == (False, CONSUMER_REFUSED_ANONYMOUS)


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://testserver:8000", "testserver:8000", True),
        ("http://testserver:8001", "testserver:8000", False),
        ("https://testserver", "testserver", True),
        ("http://testserver", "testserver", True),
        ("https://testserver:443", "testserver", True),
        ("http://testserver:8000", "testserver", False),
        ("http://localhost:8000", "localhost:8000", True),
        ("http://not-allowed:8000", "not-allowed:8000", False),
        ("ftp://testserver:8000", "testserver:8000", False),
        ("http://testserver:8000/path", "testserver:8000", False),
        ("http://TESTSERVER:8000", "testserver:8000", True),
    ],
)
def test_is_same_origin(origin, host, allowed):
    assert is_same_origin(origin, host) is allowed


def test_trusted_origins_may_connect_from_elsewhere(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.org:8443", "https://*.example.com"]

    assert is_same_origin("https://app.example.org:8443", "testserver:8000") is True
    assert is_same_origin("https://ui.example.com", "testserver:8000") is True
    assert is_same_origin("https://app.example.org:9443", "testserver:8000") is False
