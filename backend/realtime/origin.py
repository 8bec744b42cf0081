"""The websocket's same-origin check.

Browsers let any page open a websocket to any server, sending the session cookie
along; only the ``Origin`` header tells the server which page asked. Channels'
``AllowedHostsOriginValidator`` compares the origin's host name with
``ALLOWED_HOSTS`` and ignores the port, so a page served from another port of the same
host (another application, a developer's tool) could read a signed-in user's events.
Here the origin must be the very site the socket connects to (scheme's host and port
equal to the ``Host`` header, the host allowed), the check Django's CSRF protection
makes for unsafe requests, or be listed in ``CSRF_TRUSTED_ORIGINS``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for header_name, value in scope.get("headers", []):
        if header_name == name:
            try:
                return str(value.decode("latin1"))
            except UnicodeDecodeError:
                return None
    return None


def _allowed_hosts() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def _trusted(origin: str) -> bool:
    """Listed in CSRF_TRUSTED_ORIGINS (``https://*.example.com`` covers subdomains)."""
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if trusted == origin:
            return True
        if "*" in trusted:
            scheme, _, pattern = trusted.partition("://*")
            if origin.startswith(f"{scheme}://") and origin.endswith(pattern):
                return True
    return False


def is_same_origin(origin: str | None, host: str | None) -> bool:
    if not origin or not host:
        return False
    if _trusted(origin):
        return True
    try:
        parsed = urlsplit(origin)
        origin_port = parsed.port or DEFAULT_PORTS.get(parsed.scheme)
    except ValueError:  # a port that is not a number
        return False
    if parsed.scheme not in DEFAULT_PORTS or not parsed.hostname or parsed.path:
        return False
    host_name, host_port = split_domain_port(host)
    if not host_name or not validate_host(host_name, _allowed_hosts()):
        return False
    # A Host header without a port means the default port of the scheme the page used.
    port = int(host_port) if host_port else DEFAULT_PORTS[parsed.scheme]
    return parsed.hostname == host_name.strip("[]") and origin_port == port


class SameOriginValidator:
    """ASGI middleware refusing websockets opened by pages of another origin."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards websocket connections only")
        if is_same_origin(_header(scope, b"origin"), _header(scope, b"host")):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
