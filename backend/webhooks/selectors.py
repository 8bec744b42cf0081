"""What the webhooks app reads: which webhooks want an event (cached per process, as
it is asked on every new message), a project's webhooks and their deliveries."""

from __future__ import annotations

import threading
import time

from django.db.models import QuerySet

from backend.webhooks.models import Delivery, Webhook

# How long a process trusts its list of active webhooks. A webhook created, changed or
# deleted is seen at once by the process that did it and within this time by others.
CACHE_SECONDS = 5.0

_lock = threading.Lock()
_cache: dict[str, object] = {"expires": 0.0, "hooks": {}}


def forget_cached_webhooks() -> None:
    with _lock:
        _cache["expires"] = 0.0


def _active_hooks() -> dict[int, list[tuple[int, frozenset[str]]]]:
    now = time.monotonic()
    if float(_cache["expires"]) > now:  # type: ignore[arg-type]
        return _cache["hooks"]  # type: ignore[return-value]
    hooks: dict[int, list[tuple[int, frozenset[str]]]] = {}
    for webhook_id, project_id, events in Webhook.objects.filter(is_active=True).values_list(
        "pk", "project_id", "events"
    ):
        hooks.setdefault(project_id, []).append((webhook_id, frozenset(events)))
    with _lock:
        _cache["hooks"] = hooks
        _cache["expires"] = now + CACHE_SECONDS
    return hooks


def active_webhooks_for(*, project_id: int, event: str) -> list[int]:
    return [
        webhook_id for webhook_id, events in _active_hooks().get(project_id, ()) if event in events
    ]


def webhooks_of(project_id: int) -> QuerySet[Webhook]:
    return Webhook.objects.filter(project_id=project_id).order_by("id")


def deliveries_of(webhook_id: int, *, limit: int = 50) -> list[Delivery]:
    return list(
        Delivery.objects.filter(webhook_id=webhook_id)
        .prefetch_related("tries")
        .order_by("-id")[:limit]
    )
