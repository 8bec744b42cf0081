"""Statements per request, counted on the server (``ARBOR_COUNT_QUERIES=1``).

The load benchmark needs the number of SQL statements a claim or a submit really runs
in the deployed set-up (ASGI workers, connection pool), not in a test. Settings put
this middleware first in ``MIDDLEWARE`` only when ``ARBOR_COUNT_QUERIES`` is on, so
that a normal deployment does not run it at all; when on, every response carries
``X-Query-Count`` and the client adds them up.

Why ``process_request``/``process_response`` rather than a wrapper around
``get_response``: under ASGI, Django runs a request's synchronous parts (these two
hooks, the other middleware's hooks, the view) in one thread reserved for that request
(asgiref's ``ThreadSensitiveContext``), and database connections are per thread. So
the statement counter has to be installed on the connection of that thread, which is
where ``MiddlewareMixin`` runs these hooks; the middleware stays as cheap as each of
Django's own (two hops to that thread, the same in WSGI and ASGI).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

HEADER = "X-Query-Count"


class StatementCounter:
    """An ``execute_wrapper``: counts what the connection executes (``executemany``
    counts once: it is one statement sent with many parameter sets)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


class QueryCountMiddleware(MiddlewareMixin):
    """Adds ``X-Query-Count``: the statements the default database ran for the request."""

    def process_request(self, request: HttpRequest) -> None:
        counter = StatementCounter()
        connection.execute_wrappers.append(counter)
        request._statement_counter = counter  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        counter = getattr(request, "_statement_counter", None)
        if counter is not None:
            if counter in connection.execute_wrappers:
                connection.execute_wrappers.remove(counter)
            response[HEADER] = str(counter.count)
        return response
