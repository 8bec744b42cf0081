"""Django's PostgreSQL backend with a connection pool that gives up fast in an outage.

psycopg's pool makes a request wait up to its whole timeout for a connection. When the
server is down no connection ever comes, so every request used to hang for the pool
timeout (10 s) before failing. Here the pool waits in short slices; when the pool's own
attempts to connect have failed meanwhile (or a connection was found broken), the
server is *suspected* down, and from then on a request first tries one direct
connection with the short ``connect_timeout``: refused, the request fails at once (and
is answered 503 by ``backend.common.database``); accepted, the suspicion is lifted and
the pool is told to refill.

Used as ``ENGINE = "backend.common.postgresql"``; without a pool it is Django's backend.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool, PoolTimeout

logger = logging.getLogger(__name__)

WAIT_SLICE_SECONDS = 0.25


class _Outage:
    """Whether this process has seen the database fail to connect since it last did."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.suspected_since: float | None = None

    def suspect(self) -> None:
        with self._lock:
            if self.suspected_since is None:
                self.suspected_since = time.monotonic()
                logger.warning("database connections are failing; answering 503 until it is back")

    def clear(self) -> bool:
        with self._lock:
            was_suspected = self.suspected_since is not None
            self.suspected_since = None
        return was_suspected

    @property
    def is_suspected(self) -> bool:
        return self.suspected_since is not None


outage = _Outage()


class FailFastConnectionPool(ConnectionPool):
    def _failure_count(self) -> int:
        stats = self.get_stats()
        return int(stats.get("connections_errors", 0)) + int(stats.get("connections_lost", 0))

    def _probe(self) -> None:
        """One direct connection, outside the pool; raises when the server refuses."""
        try:
            conninfo = self.conninfo if isinstance(self.conninfo, str) else self.conninfo()
            kwargs = (self.kwargs() if callable(self.kwargs) else self.kwargs) or {}
            connection = self.connection_class.connect(conninfo, **kwargs)
        except Exception:
            outage.suspect()
            raise
        connection.close()
        if outage.clear():
            logger.warning("database connections work again")
            self.check()  # replace the broken connections now, not after the pool's backoff

    def getconn(self, timeout: float | None = None) -> Any:
        total = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + total
        failures = self._failure_count()
        while True:
            if outage.is_suspected:
                self._probe()
            remaining = deadline - time.monotonic()
            try:
                connection = super().getconn(timeout=max(0.001, min(WAIT_SLICE_SECONDS, remaining)))
            except PoolTimeout:
                if time.monotonic() >= deadline:
                    raise
                if self._failure_count() > failures:
                    outage.suspect()  # the next round probes instead of waiting on
                continue
            return connection


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> Any:
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not pool_options:
            return None
        wrapper: Any = self  # Django's private helpers, not in the type stubs
        if self.alias not in wrapper._connection_pools:
            # As Django's own backend builds it, with the fail-fast pool class.
            options = {} if pool_options is True else dict(pool_options)
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True
            pool = FailFastConnectionPool(
                kwargs=connect_kwargs,
                open=False,
                configure=wrapper._configure_connection,
                check=(
                    ConnectionPool.check_connection
                    if self.settings_dict["CONN_HEALTH_CHECKS"]
                    else None
                ),
                **options,
            )
            wrapper._connection_pools.setdefault(self.alias, pool)
        return wrapper._connection_pools[self.alias]
