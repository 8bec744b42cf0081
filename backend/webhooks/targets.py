"""Where a webhook may point: public http(s) addresses only, unless the operator allows
private ones (``ARBOR_WEBHOOKS_ALLOW_PRIVATE``), so a webhook cannot be used to reach
the server's own network (SSRF)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class TargetRefused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, allow_private: bool) -> None:
    """Raise ``TargetRefused`` unless ``url`` is http(s) with a host that resolves only
    to public addresses (any address when ``allow_private``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused(
            "webhook_bad_scheme", "Webhook addresses must start with https:// or http://."
        )
    if not parts.hostname:
        raise TargetRefused("webhook_no_host", "The webhook address has no host.")
    if parts.username or parts.password:
        raise TargetRefused("webhook_credentials", "Put no user name or password in the address.")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefused(
            "webhook_unresolvable", f"{parts.hostname} does not resolve."
        ) from error
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(_is_public(str(address)) for address in addresses):
        raise TargetRefused(
            "webhook_private_target",
            f"{parts.hostname} is a private, loopback or reserved address; webhooks go to "
            "public addresses only.",
        )
