"""API token authentication that costs no query on most requests.

Each process remembers a token's user for ``TOKEN_CACHE_SECONDS``. Revoking a token,
or changing its user (a ban, a role), drops the cache of the process that made the
change at once; other processes see the change within ``TOKEN_CACHE_SECONDS``. What
must never be late is checked again where it matters: the claim and submit statements
read ``is_banned`` from the database themselves.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

TOKEN_CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, Any, Token]] = {}
_lock = threading.Lock()


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        now = time.monotonic()
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        user, token = super().authenticate_credentials(key)
        with _lock:
            if len(_cache) > 10_000:  # bounded: drop everything rather than grow
                _cache.clear()
            _cache[key] = (now + TOKEN_CACHE_SECONDS, user, token)
        return user, token


def token_cache_clear(**kwargs: Any) -> None:
    with _lock:
        _cache.clear()


__all__ = ["CachedTokenAuthentication", "token_cache_clear"]
