from django.contrib import admin

from backend.common.admin import ReadOnlyModelAdmin
from backend.trees.models import Message, MessageRevision, Reaction, Tree


@admin.register(Tree)
class TreeAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "project", "lang", "state", "created_at")
    list_filter = ("state", "project", "lang")


@admin.register(Message)
class MessageAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "tree", "role", "depth", "review_result", "rank", "is_deleted")
    list_filter = ("role", "review_result", "is_deleted")
    search_fields = ("text",)
    raw_id_fields = ("tree", "parent", "author")


@admin.register(Reaction)
class ReactionAdmin(ReadOnlyModelAdmin):
    list_display = ("message", "user", "emoji", "created_at")
    list_filter = ("emoji",)
    raw_id_fields = ("message", "user")


@admin.register(MessageRevision)
class MessageRevisionAdmin(ReadOnlyModelAdmin):
    list_display = ("message", "editor", "created_at", "reason")
    raw_id_fields = ("message", "editor")
