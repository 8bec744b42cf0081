from django.contrib import admin

from backend.arena.models import ArenaSettings, Battle, ModelEndpoint, ModelReplyRequest
from backend.common.admin import ReadOnlyModelAdmin


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(ReadOnlyModelAdmin):
    """Read-only: models change through the models page or the API, which audit every
    change (and never show the key)."""

    list_display = ("name", "model", "base_url", "is_enabled", "breaker_state", "last_error")
    exclude = ("api_key_encrypted",)


@admin.register(ArenaSettings)
class ArenaSettingsAdmin(ReadOnlyModelAdmin):
    list_display = ("project", "arena_models", "model_reply_models", "model_replies_per_parent")


@admin.register(Battle)
class BattleAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "project", "lang", "model_a", "model_b", "state", "preference")
    list_filter = ("state",)


@admin.register(ModelReplyRequest)
class ModelReplyRequestAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "parent", "endpoint", "slot", "state", "error")
