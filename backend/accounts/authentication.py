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

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from backend.accounts.tokens import is_personal_token, token_authenticate

TOKEN_CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, Any, Any]] = {}
_lock = threading.Lock()


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>`` with a personal token (``arb_…``, several per
    person, docs/api.md) or the single token ``create_user --token`` prints."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        now = time.monotonic()
        hit = _cache.get(key)
        if hit is not None and hit[0] > now and not _expired(hit[2]):
            return hit[1], hit[2]
        if is_personal_token(key):
            found = token_authenticate(key)
            if found is None:
                raise exceptions.AuthenticationFailed("Invalid token.")
            user, token = found
        else:
            user, token = super().authenticate_credentials(key)
        with _lock:
            if len(_cache) > 10_000:  # bounded: drop everything rather than grow
                _cache.clear()
            _cache[key] = (now + TOKEN_CACHE_SECONDS, user, token)
        return user, token


def _expired(token: Any) -> bool:
    expires_at = getattr(token, "expires_at", None)
    return expires_at is not None and expires_at <= timezone.now()


def token_cache_clear(**kwargs: Any) -> None:
    with _lock:
        _cache.clear()


__all__ = ["CachedTokenAuthentication", "token_cache_clear"]
