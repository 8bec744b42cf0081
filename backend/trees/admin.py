from django.contrib import admin

from backend.trees.models import Message, MessageRevision, Reaction, Tree


@admin.register(Tree)
class TreeAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "lang", "state", "created_at")
    list_filter = ("state", "project", "lang")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "tree", "role", "depth", "review_result", "rank", "is_deleted")
    list_filter = ("role", "review_result", "is_deleted")
    search_fields = ("text",)
    raw_id_fields = ("tree", "parent", "author")


@admin.register(Reaction)
class ReactionAdmin(admin.ModelAdmin):
    list_display = ("message", "user", "emoji", "created_at")
    list_filter = ("emoji",)
    raw_id_fields = ("message", "user")


@admin.register(MessageRevision)
class MessageRevisionAdmin(admin.ModelAdmin):
    list_display = ("message", "editor", "created_at", "reason")
    raw_id_fields = ("message", "editor")
