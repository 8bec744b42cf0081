"""A project's webhooks, each event owed to one of them (a delivery), and every try."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    """What a webhook may subscribe to (docs/webhooks.md has each payload)."""

    TREE_READY_FOR_EXPORT = "tree.ready_for_export", _("A tree is ready for export")
    TREE_STATE_CHANGED = "tree.state_changed", _("A tree changed state")
    MESSAGE_CREATED = "message.created", _("A message was written or imported")
    MESSAGE_FLAGGED = "message.flagged", _("A message was flagged")
    EXPORT_FINISHED = "export.finished", _("An export finished")
    IMPORT_FINISHED = "import.finished", _("An import finished")


# Sent by "send test event"; not something to subscribe to.
PING = "ping"


class Webhook(models.Model):
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)
    # Signs every delivery (HMAC-SHA256); shown to the project's researchers.
    secret = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook {self.pk} → {self.url}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Gave up")
    SKIPPED = "skipped", _("Not sent (webhook disabled)")


class Delivery(models.Model):
    """One event owed to one webhook. ``event_id`` is the delivery id receivers
    deduplicate on: it stays the same on every retry and redelivery."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["webhook", "-id"])]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} ({self.state})"


class DeliveryAttempt(models.Model):
    """One HTTP try: what the receiver answered (or why nothing was sent)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]} at {self.at:%Y-%m-%d %H:%M:%S}"
