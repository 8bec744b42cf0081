"""Webhooks: create, change, delete, test; owe events to them; deliver, retry, disable.

A delivery is written in the transaction of the change it reports (subscribers.py) and
handed to Celery through the durable outbox, so a delivery is owed exactly when its
change committed and a broker outage only delays it. The HTTP call runs in a worker,
never in a volunteer's request: signed, with timeouts, without following redirects,
to public addresses only (``targets.py``). A failure is retried with exponential
backoff; ``ARBOR_WEBHOOK_DISABLE_AFTER`` failures in a row disable the webhook and tell
its owner. docs/webhooks.md is the user's guide.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backend.audit.models import AuditAction
from backend.audit.services import audit_record
from backend.common import outbox
from backend.common.errors import NotFound, ValidationFailed
from backend.projects.models import Project
from backend.realtime.events import send_user_event_on_commit
from backend.webhooks import selectors, signing
from backend.webhooks.models import (
    PING,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Webhook,
    WebhookEvent,
)
from backend.webhooks.targets import TargetRefused, check_url

logger = logging.getLogger(__name__)

DELIVER_TASK = "tasks.webhooks.deliver"
USER_AGENT = "Arbor-Webhooks/1"
EXCERPT_CHARS = 500


# --- managing webhooks ------------------------------------------------------------------


def _clean_events(events: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(events))
    unknown = [name for name in chosen if name not in WebhookEvent.values]
    if unknown:
        raise ValidationFailed(
            "events", "unknown_event", f"Unknown event(s): {', '.join(unknown)}."
        )
    if not chosen:
        raise ValidationFailed("events", "required", "Choose at least one event.")
    return chosen


def _clean_url(url: str) -> str:
    try:
        check_url(url, allow_private=settings.ARBOR_WEBHOOKS_ALLOW_PRIVATE)
    except TargetRefused as refused:
        raise ValidationFailed("url", refused.code, refused.detail) from refused
    return url


def _state(webhook: Webhook) -> dict[str, Any]:
    return {"url": webhook.url, "events": webhook.events, "is_active": webhook.is_active}


def webhook_create(
    *, project: Project, url: str, events: Iterable[str], actor_id: int | None
) -> Webhook:
    webhook = Webhook(
        project=project,
        url=_clean_url(url),
        events=_clean_events(events),
        secret=signing.new_secret(),
        created_by_id=actor_id,
    )
    with transaction.atomic():
        webhook.save()
        audit_record(
            action=AuditAction.WEBHOOK_CREATED,
            target_type="webhook",
            target_id=webhook.pk,
            actor_id=actor_id,
            project_id=project.pk,
            after=_state(webhook),
        )
        transaction.on_commit(selectors.forget_cached_webhooks)
    return webhook


def webhook_update(
    *,
    webhook_id: int,
    actor_id: int | None,
    url: str | None = None,
    events: Iterable[str] | None = None,
    is_active: bool | None = None,
) -> Webhook:
    """Change a webhook. Turning it back on clears its failure count."""
    with transaction.atomic():
        webhook = Webhook.objects.select_for_update().filter(pk=webhook_id).first()
        if webhook is None:
            raise NotFound("webhook_not_found", "No such webhook.")
        before = _state(webhook)
        if url is not None:
            webhook.url = _clean_url(url)
        if events is not None:
            webhook.events = _clean_events(events)
        if is_active is not None and is_active != webhook.is_active:
            webhook.is_active = is_active
            if is_active:
                webhook.consecutive_failures = 0
                webhook.disabled_reason = ""
            else:
                webhook.disabled_reason = "Turned off by hand."
        webhook.save()
        audit_record(
            action=AuditAction.WEBHOOK_UPDATED,
            target_type="webhook",
            target_id=webhook.pk,
            actor_id=actor_id,
            project_id=webhook.project_id,
            before=before,
            after=_state(webhook),
        )
        transaction.on_commit(selectors.forget_cached_webhooks)
    return webhook


def webhook_delete(*, webhook_id: int, actor_id: int | None) -> None:
    with transaction.atomic():
        webhook = Webhook.objects.select_for_update().filter(pk=webhook_id).first()
        if webhook is None:
            raise NotFound("webhook_not_found", "No such webhook.")
        audit_record(
            action=AuditAction.WEBHOOK_DELETED,
            target_type="webhook",
            target_id=webhook.pk,
            actor_id=actor_id,
            project_id=webhook.project_id,
            before=_state(webhook),
        )
        webhook.delete()
        transaction.on_commit(selectors.forget_cached_webhooks)


# --- owing deliveries -------------------------------------------------------------------


def _owe(delivery_id: int, *, at: Any = None) -> None:
    """Hand the delivery to Celery after the commit (or at ``at``), through the outbox.

    In embedded mode (eager Celery) even a due delivery waits for the relay's next tick
    rather than running right after the commit, so a slow receiver never holds the
    request that caused the event.
    """
    if at is None and not settings.CELERY_TASK_ALWAYS_EAGER:
        outbox.enqueue(DELIVER_TASK, delivery_id)
    else:
        outbox.enqueue_at(DELIVER_TASK, at or timezone.now(), delivery_id)


def deliveries_create(*, project_id: int, event: str, payload: dict[str, Any]) -> list[Delivery]:
    """Owe ``event`` to every active webhook of the project that subscribed to it. Call
    inside the transaction of the change."""
    hooks = selectors.active_webhooks_for(project_id=project_id, event=event)
    created = []
    for webhook_id in hooks:
        delivery = Delivery.objects.create(webhook_id=webhook_id, event=event, payload=payload)
        _owe(delivery.pk)
        created.append(delivery)
    return created


def webhook_send_test(*, webhook_id: int, actor_id: int | None) -> Delivery:
    """A ``ping`` delivery, sent even to a webhook that is turned off."""
    with transaction.atomic():
        webhook = Webhook.objects.filter(pk=webhook_id).first()
        if webhook is None:
            raise NotFound("webhook_not_found", "No such webhook.")
        delivery = Delivery.objects.create(
            webhook=webhook, event=PING, payload={"webhook_id": webhook.pk}
        )
        audit_record(
            action=AuditAction.WEBHOOK_TESTED,
            target_type="webhook",
            target_id=webhook.pk,
            actor_id=actor_id,
            project_id=webhook.project_id,
            after={"event_id": str(delivery.event_id)},
        )
        _owe(delivery.pk)
    return delivery


def delivery_redeliver(*, delivery_id: int, actor_id: int | None) -> Delivery:
    """Send a delivery again, with the same delivery id (receivers deduplicate)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("webhook")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            raise NotFound("delivery_not_found", "No such delivery.")
        before = {"state": delivery.state, "attempts": delivery.attempts}
        delivery.state = DeliveryState.PENDING
        delivery.next_attempt_at = None
        delivery.save(update_fields=["state", "next_attempt_at"])
        audit_record(
            action=AuditAction.WEBHOOK_REDELIVERED,
            target_type="webhook",
            target_id=delivery.webhook_id,
            actor_id=actor_id,
            project_id=delivery.webhook.project_id,
            before=before,
            after={"event_id": str(delivery.event_id), "state": DeliveryState.PENDING},
        )
        _owe(delivery.pk)
    return delivery


# --- delivering -------------------------------------------------------------------------


def _body(delivery: Delivery) -> bytes:
    envelope = {
        "id": str(delivery.event_id),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "project": delivery.webhook.project.slug,
        "data": delivery.payload,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def _post(webhook: Webhook, delivery: Delivery) -> DeliveryAttempt:
    """One HTTP try; never raises."""
    attempt = DeliveryAttempt(delivery=delivery)
    try:
        check_url(webhook.url, allow_private=settings.ARBOR_WEBHOOKS_ALLOW_PRIVATE)
    except TargetRefused as refused:
        attempt.error = f"{refused.code}: {refused.detail}"[:500]
        return attempt
    body = _body(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.DELIVERY_HEADER: str(delivery.event_id),
        signing.EVENT_HEADER: delivery.event,
        signing.SIGNATURE_HEADER: signing.signature_header(webhook.secret, timestamp, body),
    }
    timeout = httpx.Timeout(settings.ARBOR_WEBHOOK_TIMEOUT_SECONDS, connect=5.0)
    started = time.perf_counter()
    try:
        response = httpx.post(
            webhook.url, content=body, headers=headers, timeout=timeout, follow_redirects=False
        )
    except httpx.HTTPError as error:
        attempt.latency_ms = (time.perf_counter() - started) * 1000
        attempt.error = f"{type(error).__name__}: {error}"[:500]
        return attempt
    attempt.latency_ms = (time.perf_counter() - started) * 1000
    attempt.status_code = response.status_code
    attempt.response_excerpt = response.text[:EXCERPT_CHARS]
    if 300 <= response.status_code < 400:
        attempt.error = "Redirects are not followed."
    return attempt


def _backoff(attempts: int) -> timedelta:
    base = settings.ARBOR_WEBHOOK_RETRY_BASE_SECONDS
    return timedelta(seconds=min(base * 2 ** (attempts - 1), 3600))


def _disable(webhook: Webhook) -> None:
    reason = (
        f"Turned off after {webhook.consecutive_failures} failed deliveries in a row; "
        "fix the receiver, then turn the webhook on again."
    )
    Webhook.objects.filter(pk=webhook.pk).update(is_active=False, disabled_reason=reason)
    audit_record(
        action=AuditAction.WEBHOOK_DISABLED,
        target_type="webhook",
        target_id=webhook.pk,
        project_id=webhook.project_id,
        before={"is_active": True},
        after={"is_active": False},
        reason=reason,
        is_automatic=True,
    )
    if webhook.created_by_id is not None:
        send_user_event_on_commit(
            webhook.created_by_id,
            "webhook.disabled",
            {"webhook_id": webhook.pk, "project": webhook.project.slug, "reason": reason},
        )
    transaction.on_commit(selectors.forget_cached_webhooks)


def delivery_attempt(*, delivery_id: int) -> str:
    """Try to deliver once (Celery's ``tasks.webhooks.deliver``); returns the state."""
    delivery = Delivery.objects.select_related("webhook__project").filter(pk=delivery_id).first()
    if delivery is None or delivery.state != DeliveryState.PENDING:
        return delivery.state if delivery else "missing"
    webhook = delivery.webhook
    if not webhook.is_active and delivery.event != PING:
        Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.SKIPPED)
        return DeliveryState.SKIPPED
    attempt = _post(webhook, delivery)  # no transaction or lock held while waiting
    succeeded = attempt.status_code is not None and 200 <= attempt.status_code < 300
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.state != DeliveryState.PENDING:  # a twin task got there first
            return delivery.state
        attempt.delivery = delivery
        attempt.save()
        delivery.attempts += 1
        if succeeded:
            delivery.state = DeliveryState.SUCCEEDED
            delivery.delivered_at = timezone.now()
            delivery.next_attempt_at = None
            Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=0)
        else:
            Webhook.objects.filter(pk=webhook.pk).update(
                consecutive_failures=F("consecutive_failures") + 1
            )
            webhook.refresh_from_db(fields=["consecutive_failures", "is_active"])
            if webhook.is_active and (
                webhook.consecutive_failures >= settings.ARBOR_WEBHOOK_DISABLE_AFTER
            ):
                _disable(webhook)
                webhook.is_active = False
            if delivery.attempts < settings.ARBOR_WEBHOOK_MAX_ATTEMPTS and webhook.is_active:
                delivery.next_attempt_at = timezone.now() + _backoff(delivery.attempts)
                _owe(delivery.pk, at=delivery.next_attempt_at)
            else:
                delivery.state = DeliveryState.FAILED
                delivery.next_attempt_at = None
        delivery.save()
    if not succeeded:
        logger.info(
            "webhook %s: delivery %s failed (attempt %s): %s %s",
            webhook.pk,
            delivery.event_id,
            delivery.attempts,
            attempt.status_code,
            attempt.error,
        )
    return delivery.state
