"""The general API rate limit: per signed-in user and per client IP, reads and writes.

It sits on top of the per-kind limits a project sets (assignment requests and replies
per minute) and only stops floods: the defaults are far above what a person or a
benchmark with 64 volunteers on one machine sends. Rates come from
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``"3000/min"``; ``None`` turns one off)
and are read on every request, so tests may lower them.

Each limit is a fixed-window counter in the default cache (Redis in real mode): one
``incr`` per request, not DRF's list of timestamps, which would be rewritten whole on
every request. A window allows at most the rate; across a window boundary a burst of
twice the rate is possible, which is fine for a flood guard.

When the cache is unreachable the limit fails open: the request goes through and a
warning is logged (at most once a minute), because Redis being down must not take
the API down with it.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

if TYPE_CHECKING:  # rest_framework.views imports this module (DEFAULT_THROTTLE_CLASSES)
    from rest_framework.request import Request
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)

KEY_PREFIX = "arbor:throttle"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_WARNING_INTERVAL_SECONDS = 60.0
_last_warning = {"at": -math.inf}


def _now() -> float:
    return time.time()


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """``"3000/min"`` → (3000, 60); None, ``""`` or ``"off"`` → None (no limit)."""
    if rate is None or rate.strip().lower() in ("", "off", "none"):
        return None
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1].lower()]


def _warn_cache_down() -> None:
    now = time.monotonic()
    if now - _last_warning["at"] >= _WARNING_INTERVAL_SECONDS:
        _last_warning["at"] = now
        logger.warning(
            "the rate-limit cache is unreachable; API rate limits are off until it is back",
            exc_info=True,
        )


def _count_hit(key: str, timeout: int) -> int | None:
    """This window's hits, this one included; None when the cache is unreachable."""
    try:
        count_in_window = getattr(cache, "count_in_window", None)
        if count_in_window is not None:  # Redis: one round trip
            return int(count_in_window(key, timeout))
        try:
            return int(cache.incr(key))
        except ValueError:  # no counter yet in this window
            if cache.add(key, 1, timeout=timeout):
                return 1
            return int(cache.incr(key))
    except Exception:  # noqa: BLE001 - fail open (module docstring); logged there
        _warn_cache_down()
        return None


class _WindowThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def identity(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: APIView) -> bool:
        configured: Any = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        rate = parse_rate(configured)
        if rate is None:
            return True
        identity = self.identity(request)
        if identity is None:
            return True
        limit, period = rate
        now = _now()
        window = int(now // period)
        # The key outlives its window a little, so a slow clock never reads a reset one.
        hits = _count_hit(f"{KEY_PREFIX}:{self.scope}:{identity}:{window}", period + 5)
        if hits is None or hits <= limit:
            return True
        self.retry_after = max(1, math.ceil((window + 1) * period - now))
        return False

    def wait(self) -> float | None:
        return self.retry_after


class UserRateThrottle(_WindowThrottle):
    """Requests per signed-in user (token or session)."""

    scope = "user"

    def identity(self, request: Request) -> str | None:
        user_id = getattr(request.user, "pk", None)
        return str(user_id) if user_id is not None else None


class IpRateThrottle(_WindowThrottle):
    """Requests per client address, signed in or not. Behind a proxy, set DRF's
    ``NUM_PROXIES`` so that the address comes from ``X-Forwarded-For``."""

    scope = "ip"

    def identity(self, request: Request) -> Any:
        return self.get_ident(request)
