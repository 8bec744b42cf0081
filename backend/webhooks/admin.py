from django.contrib import admin

from backend.common.admin import ReadOnlyModelAdmin
from backend.webhooks.models import Delivery, Webhook


@admin.register(Webhook)
class WebhookAdmin(ReadOnlyModelAdmin):
    """Read-only: webhooks change through the project's webhook page or the API, which
    audit every change."""

    list_display = ("id", "project", "url", "is_active", "consecutive_failures")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "webhook", "event", "state", "attempts", "created_at")
