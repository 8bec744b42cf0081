"""Prometheus metrics and the protected ``/metrics`` endpoint (docs/observability.md).

Two kinds of figures:

- **Counted by the web processes**: request latency per route, 5xx answers, claims and
  submits per task kind and outcome. They live in prometheus-client's metric objects.
  ``manage.py serve`` runs several worker processes (``backend.common.web_workers``),
  and a scrape reaches only one of them, so in that mode every process writes its
  values to memory-mapped files in a directory (``PROMETHEUS_MULTIPROC_DIR``, which
  serve sets to ``var/metrics`` after emptying it) and a scrape adds up the files of
  them all. With the variable unset (one process: ``make run``, tests) the values stay
  in the process.
- **Read at scrape time** from the database and the broker, so they are true whichever
  process answers and cost nothing between scrapes: outbox depth and the age of its
  oldest row, the Celery queue's length, trees per state and stuck trees. Each comes
  from a *scrape collector*: a function registered with ``scrape_collector_register``
  that returns metric families. This module registers the outbox and broker ones;
  higher apps register theirs in ``AppConfig.ready()`` (the engine registers the trees'),
  so this module never imports them. A collector that fails is logged and reported as
  ``arbor_scrape_collector_up{collector=…} 0``; the rest of the scrape still answers.

Access: ``ARBOR_METRICS_TOKEN`` (``Authorization: Bearer <token>``) and/or
``ARBOR_METRICS_ALLOWED_NETWORKS`` (client addresses, CIDR). Each one set must be
satisfied; with neither set the endpoint answers 404 (``make run``, in DEBUG, allows
loopback addresses by default).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from backend.common.outbox import outbox_stats

logger = logging.getLogger(__name__)

MULTIPROCESS_ENVIRONMENT_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# A ``_created`` series beside every counter would double what a scrape carries.
disable_created_metrics()

# --- Counted in the web processes -------------------------------------------------------

REQUEST_DURATION = Histogram(
    "arbor_http_request_duration_seconds",
    "Time from a request reaching Django to its answer, by route, method, status class.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SERVER_ERRORS = Counter(
    "arbor_http_server_errors",
    "Answers with a 5xx status, by route name and method.",
    ["view", "method"],
)
CLAIMS = Counter(
    "arbor_claims",
    "Claims of work, by task kind and outcome (claimed, none_available or the error "
    "code that refused it).",
    ["kind", "outcome"],
)
SUBMITS = Counter(
    "arbor_submits",
    "Submissions of work, by task kind and outcome (submitted, replayed or the error "
    "code that refused it).",
    ["kind", "outcome"],
)

UNMATCHED_VIEW = "unmatched"
_STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


def view_name_of(request: HttpRequest) -> str:
    """The route a request matched (``assignment-submit``), a bounded label value."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED_VIEW
    return match.view_name or UNMATCHED_VIEW


def request_observe(*, request: HttpRequest, status: int, seconds: float) -> None:
    """Count one answered request (called by ``RequestIdMiddleware``)."""
    view = view_name_of(request)
    method = request.method or ""
    REQUEST_DURATION.labels(view, method, _STATUS_CLASSES.get(status // 100, "other")).observe(
        seconds
    )
    if status >= 500:
        SERVER_ERRORS.labels(view, method).inc()


def claim_counted(*, kind: str, outcome: str) -> None:
    CLAIMS.labels(kind, outcome).inc()


def submit_counted(*, kind: str, outcome: str) -> None:
    SUBMITS.labels(kind, outcome).inc()


# --- Read at scrape time ----------------------------------------------------------------

ScrapeCollector = Callable[[], Iterable[Metric]]
_scrape_collectors: dict[str, ScrapeCollector] = {}


def scrape_collector_register(name: str, collector: ScrapeCollector) -> None:
    """Compute ``collector``'s metrics at every scrape. Keep it to a few cheap queries:
    ``tests/common/test_metrics.py`` holds the whole scrape to a statement budget."""
    _scrape_collectors[name] = collector


class _ScrapeTimeCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "arbor_scrape_collector_up",
            "1 when the collector's figures are in this scrape, 0 when it failed.",
            labels=["collector"],
        )
        for name, collector in _scrape_collectors.items():
            try:
                metrics = list(collector())
            except Exception:  # one failing source must not hide the rest
                logger.exception("metrics collector %s failed", name)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from metrics
        yield up


def _outbox_metrics() -> Iterable[Metric]:
    stats = outbox_stats()
    yield GaugeMetricFamily(
        "arbor_outbox_depth", "Celery work written to the outbox and not yet sent.", stats["depth"]
    )
    yield GaugeMetricFamily(
        "arbor_outbox_oldest_age_seconds",
        "Age of the oldest outbox row (0 when empty).",
        stats["oldest_age_seconds"],
    )


_broker_clients: dict[str, Any] = {}


def celery_queue_length() -> int | None:
    """Messages waiting in Arbor's Celery queue on a Redis broker; None in eager mode.

    kombu's Redis transport keeps a queue as one list per priority step (the plain
    name, then ``name\\x06\\x16<step>``); one pipelined round trip reads them all.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_BROKER_URL.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        return None
    client = _broker_clients.get(settings.CELERY_BROKER_URL)
    if client is None:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1
        )
        _broker_clients[settings.CELERY_BROKER_URL] = client
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    names = [queue, *(f"{queue}\x06\x16{step}" for step in (3, 6, 9))]
    pipeline = client.pipeline(transaction=False)
    for name in names:
        pipeline.llen(name)
    return int(sum(pipeline.execute()))


def _broker_metrics() -> Iterable[Metric]:
    length = celery_queue_length()
    if length is None:
        return
    yield GaugeMetricFamily(
        "arbor_celery_queue_length",
        "Tasks waiting in the Celery queue on the broker (absent in eager mode).",
        length,
        labels=None,
    )


scrape_collector_register("outbox", _outbox_metrics)
scrape_collector_register("broker", _broker_metrics)


# --- Several processes ----------------------------------------------------------------


def multiprocess_directory() -> Path | None:
    value = os.environ.get(MULTIPROCESS_ENVIRONMENT_VARIABLE, "")
    return Path(value) if value else None


def multiprocess_directory_prepare(directory: Path) -> Path:
    """An empty directory for the web processes' metric files, before they start.

    A new server must not add up the files of the last one (its counters, or a
    process id used again), so whatever is there is removed.
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    return directory


def scrape_registry() -> CollectorRegistry:
    """What a scrape reports: every web process's counts, then the scrape-time figures."""
    directory = multiprocess_directory()
    if directory is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_InProcess())
    else:
        registry = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(registry, path=str(directory))
    registry.register(_ScrapeTimeCollector())
    return registry


class _InProcess(Collector):
    """The default registry's metrics (this process's counts, process and GC figures)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


# --- The endpoint ----------------------------------------------------------------------


def _client_allowed(request: HttpRequest, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


def _token_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # As bytes: compare_digest refuses str with characters outside ASCII.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def metrics_access_refusal(request: HttpRequest) -> HttpResponse | None:
    """404 when the endpoint is off or the client is outside the allowed networks (it
    does not exist for them); 401 asking for the bearer token when it is missing or
    wrong."""
    token = settings.METRICS_TOKEN
    networks = settings.METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if networks and not _client_allowed(request, networks):
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if token and not _token_matches(request, token):
        response = HttpResponse(
            "A bearer token is needed.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return None


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    refusal = metrics_access_refusal(request)
    if refusal is not None:
        return refusal
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_PLAIN_0_0_4)
