"""A Redis cache that fails open.

Everything Arbor keeps in the cache can be lost without harm: allauth's rate-limit
counters (sign-up, password reset), DRF throttles, cached fragments. With Django's
plain ``RedisCache`` a Redis outage turns every one of those reads into a 500, so a
stopped Redis would stop every web log-in and sign-up although sessions, tokens and
log-in lock-outs live in the database. This backend answers as an empty cache instead
(reads miss, writes are dropped, ``add`` succeeds) and logs a warning, at most once per
``WARNING_INTERVAL_SECONDS`` per process so an outage does not flood the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

WARNING_INTERVAL_SECONDS = 60.0
# Only an unreachable server is tolerated; a bad command or value still raises.
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)

Result = TypeVar("Result")

_last_warning = [0.0]
_warning_lock = threading.Lock()


def _warn(operation: str, error: BaseException) -> None:
    now = time.monotonic()
    with _warning_lock:
        if now - _last_warning[0] < WARNING_INTERVAL_SECONDS:
            return
        _last_warning[0] = now
    logger.warning(
        "cache unavailable (%s: %s); carrying on without it (%s)",
        type(error).__name__,
        error,
        operation,
    )


# One pool of Redis connections per process and server. Django makes a cache backend
# object per request context under ASGI, and each would open its own pool — a new TCP
# connection (and health check) on every request, a fifth of a claim's CPU when the
# API rate limit counts in Redis.
_pools: dict[tuple[str, str], Any] = {}
_pools_lock = threading.Lock()


class ProcessPoolRedisClient(RedisCacheClient):
    def _get_connection_pool(self, write: bool) -> Any:
        client: Any = self  # Django's private attributes, which its stubs do not declare
        server = client._servers[client._get_connection_pool_index(write)]
        key = (server, repr(sorted(client._pool_options.items())))
        pool = _pools.get(key)
        if pool is None:
            with _pools_lock:
                pool = _pools.get(key)
                if pool is None:
                    pool = _pools[key] = client._pool_class.from_url(server, **client._pool_options)
        return pool


class FailOpenRedisCache(RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ProcessPoolRedisClient

    def _guard(self, operation: str, default: Any, call: Callable[[], Result]) -> Result:
        try:
            return call()
        except OUTAGE_ERRORS as error:
            _warn(operation, error)
            return default

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        # As if stored: callers that take a lock with ``add`` (allauth's rate limiter
        # does) get it instead of waiting for a server that is not there.
        return self._guard(
            "add", True, lambda: super(FailOpenRedisCache, self).add(key, value, timeout, version)
        )

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._guard(
            "get", default, lambda: super(FailOpenRedisCache, self).get(key, default, version)
        )

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self._guard(
            "set", None, lambda: super(FailOpenRedisCache, self).set(key, value, timeout, version)
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._guard(
            "touch", False, lambda: super(FailOpenRedisCache, self).touch(key, timeout, version)
        )

    def delete(self, key: Any, version: Any = None) -> Any:
        return self._guard(
            "delete", False, lambda: super(FailOpenRedisCache, self).delete(key, version)
        )

    def get_many(self, keys: Any, version: Any = None) -> Any:
        return self._guard(
            "get_many", {}, lambda: super(FailOpenRedisCache, self).get_many(keys, version)
        )

    def has_key(self, key: Any, version: Any = None) -> Any:
        return self._guard(
            "has_key", False, lambda: super(FailOpenRedisCache, self).has_key(key, version)
        )

    def count_in_window(self, key: Any, timeout: int, version: Any = None) -> int:
        """Add one to a counter that lives ``timeout`` seconds from its first hit, and
        return it: ``INCR`` and ``EXPIRE … NX`` in one round trip (the API rate limit
        counts every request). Raises when Redis is unreachable: the caller fails open."""
        name = self.make_and_validate_key(key, version=version)
        redis_client: Any = self._cache  # type: ignore[attr-defined]  # not in the stubs
        pipeline = redis_client.get_client(name, write=True).pipeline(transaction=False)
        pipeline.incr(name)
        pipeline.expire(name, timeout, nx=True)
        hits, _ = pipeline.execute()
        return int(hits)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        # As if the key held 0: callers counting attempts see a first attempt.
        return self._guard(
            "incr", delta, lambda: super(FailOpenRedisCache, self).incr(key, delta, version)
        )

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._guard(
            "set_many",
            [],
            lambda: super(FailOpenRedisCache, self).set_many(data, timeout, version),
        )

    def delete_many(self, keys: Any, version: Any = None) -> None:
        self._guard(
            "delete_many", None, lambda: super(FailOpenRedisCache, self).delete_many(keys, version)
        )

    def clear(self) -> Any:
        return self._guard("clear", None, lambda: super(FailOpenRedisCache, self).clear())
