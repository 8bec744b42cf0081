"""Calling a model as a Celery task does: the per-model limits (calls at once, calls a
minute), retries with backoff, and the circuit breaker.

Every counter changes by a conditional ``UPDATE`` whose row count decides, so workers
on PostgreSQL agree without locks held across the HTTP call, and SQLite (the embedded
mode) behaves the same. Nothing here runs inside a web request.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from backend.arena.client import ChatMessages, Completion, ModelCallFailed, chat_complete
from backend.arena.models import BreakerState, ModelEndpoint
from backend.arena.secrets import secret_decrypt
from backend.audit.models import AuditAction
from backend.audit.services import audit_record


class ModelUnavailable(Exception):
    """The model may not be asked now (turned off, breaker open, at its limits);
    ``retry_after`` says when asking again may work."""

    def __init__(self, reason: str, *, retry_after: float, is_busy: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        # At its limits (not broken): asking again soon will work.
        self.is_busy = is_busy


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def retries() -> int:
    return int(_setting("ARBOR_MODEL_RETRIES", 2))


def backoff_seconds() -> float:
    return _setting("ARBOR_MODEL_BACKOFF_SECONDS", 1.0)


def breaker_failures() -> int:
    return int(_setting("ARBOR_MODEL_BREAKER_FAILURES", 3))


def breaker_cooldown() -> timedelta:
    return timedelta(seconds=_setting("ARBOR_MODEL_BREAKER_COOLDOWN_SECONDS", 60))


def _longest_call(endpoint: ModelEndpoint) -> timedelta:
    """How long one ``model_call`` can take at most (every try timing out, every wait)."""
    tries = retries() + 1
    waits = sum(backoff_seconds() * 2**attempt for attempt in range(tries))
    return timedelta(seconds=endpoint.timeout_seconds * tries + waits + 30)


def api_key_of(endpoint: ModelEndpoint) -> str:
    if endpoint.api_key_env:
        return os.environ.get(endpoint.api_key_env, "")
    return secret_decrypt(endpoint.api_key_encrypted)


def _breaker_admit(endpoint: ModelEndpoint, now: datetime) -> None:
    """Closed: go ahead. Open (or half-open) for less than the cool-down: refuse. After
    the cool-down one caller wins the conditional update to half-open and makes the
    trial call; the others keep being refused until it ends."""
    if endpoint.breaker_state == BreakerState.CLOSED:
        return
    cooldown = breaker_cooldown()
    admitted = ModelEndpoint.objects.filter(
        pk=endpoint.pk,
        breaker_state__in=(BreakerState.OPEN, BreakerState.HALF_OPEN),
        breaker_opened_at__lte=now - cooldown,
    ).update(breaker_state=BreakerState.HALF_OPEN, breaker_opened_at=now)
    if not admitted:
        opened = endpoint.breaker_opened_at or now
        wait = max(1.0, (opened + cooldown - now).total_seconds())
        raise ModelUnavailable(f"paused: {endpoint.breaker_reason}", retry_after=wait)


def _slot_take(endpoint: ModelEndpoint, now: datetime) -> bool:
    rows = ModelEndpoint.objects.filter(pk=endpoint.pk)
    # A worker that died mid-call never gave its place back; once the longest call
    # that could have started since is over, nothing can be in flight.
    rows.filter(in_flight__gt=0, last_call_started_at__lt=now - _longest_call(endpoint)).update(
        in_flight=0
    )
    rows.filter(
        Q(window_started_at__isnull=True) | Q(window_started_at__lte=now - timedelta(minutes=1))
    ).update(window_started_at=now, window_count=0)
    return bool(
        rows.filter(
            in_flight__lt=F("max_concurrency"), window_count__lt=F("requests_per_minute")
        ).update(
            in_flight=F("in_flight") + 1,
            window_count=F("window_count") + 1,
            last_call_started_at=now,
        )
    )


def _slot_release(endpoint: ModelEndpoint) -> None:
    ModelEndpoint.objects.filter(pk=endpoint.pk, in_flight__gt=0).update(
        in_flight=F("in_flight") - 1
    )


def _record_success(endpoint: ModelEndpoint, now: datetime) -> None:
    with transaction.atomic():
        row = ModelEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        was_paused = row.breaker_state != BreakerState.CLOSED
        row.breaker_state = BreakerState.CLOSED
        row.breaker_reason = ""
        row.consecutive_failures = 0
        row.last_success_at = now
        row.calls_succeeded += 1
        row.save(
            update_fields=[
                "breaker_state",
                "breaker_reason",
                "consecutive_failures",
                "last_success_at",
                "calls_succeeded",
                "updated_at",
            ]
        )
        if was_paused:
            audit_record(
                action=AuditAction.MODEL_BREAKER_CLOSED,
                target_type="model",
                target_id=row.pk,
                after={"name": row.name},
                is_automatic=True,
            )


def _record_failure(endpoint: ModelEndpoint, reason: str, now: datetime) -> None:
    with transaction.atomic():
        row = ModelEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        row.consecutive_failures += 1
        row.calls_failed += 1
        row.last_error = reason[:500]
        row.last_error_at = now
        opens = row.breaker_state == BreakerState.HALF_OPEN or (
            row.breaker_state == BreakerState.CLOSED
            and row.consecutive_failures >= breaker_failures()
        )
        if opens:
            row.breaker_state = BreakerState.OPEN
            row.breaker_opened_at = now
            row.breaker_reason = (
                f"{row.consecutive_failures} failed calls in a row; last: {reason}"
            )[:500]
        row.save(
            update_fields=[
                "consecutive_failures",
                "calls_failed",
                "last_error",
                "last_error_at",
                "breaker_state",
                "breaker_opened_at",
                "breaker_reason",
                "updated_at",
            ]
        )
        if opens:
            audit_record(
                action=AuditAction.MODEL_BREAKER_OPENED,
                target_type="model",
                target_id=row.pk,
                after={"name": row.name, "reason": row.breaker_reason},
                is_automatic=True,
            )


def model_call(*, endpoint_id: int, messages: ChatMessages) -> Completion:
    """Ask a model once (with retries): the completion, ``ModelUnavailable`` when it
    may not be asked now, or ``ModelCallFailed`` when every try failed (counted by
    the breaker as one failure)."""
    endpoint = ModelEndpoint.objects.get(pk=endpoint_id)
    now = timezone.now()
    if not endpoint.is_enabled:
        raise ModelUnavailable("turned off", retry_after=3600)
    _breaker_admit(endpoint, now)
    if not _slot_take(endpoint, now):
        raise ModelUnavailable("at its concurrency or rate limit", retry_after=5, is_busy=True)
    if endpoint.system_prompt:
        messages = [{"role": "system", "content": endpoint.system_prompt}, *messages]
    failure: ModelCallFailed | None = None
    try:
        for attempt in range(retries() + 1):
            try:
                completion = chat_complete(
                    base_url=endpoint.base_url,
                    model=endpoint.model,
                    messages=messages,
                    api_key=api_key_of(endpoint),
                    temperature=endpoint.temperature,
                    max_tokens=endpoint.max_tokens,
                    timeout=endpoint.timeout_seconds,
                )
            except ModelCallFailed as error:
                failure = error
                if not error.retryable or attempt == retries():
                    break
                time.sleep(backoff_seconds() * 2**attempt)
            else:
                _record_success(endpoint, timezone.now())
                return completion
    finally:
        _slot_release(endpoint)
    assert failure is not None
    _record_failure(endpoint, failure.reason, timezone.now())
    raise failure
