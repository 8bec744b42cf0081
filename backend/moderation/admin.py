from django.contrib import admin

from backend.common.admin import ReadOnlyModelAdmin
from backend.moderation.models import QueueItem, Report, UserNote


@admin.register(QueueItem)
class QueueItemAdmin(ReadOnlyModelAdmin):
    list_display = (
        "id",
        "reason",
        "state",
        "project",
        "tree",
        "message",
        "occurrences",
        "created_at",
    )
    list_filter = ("reason", "state", "project")
    raw_id_fields = ("tree", "message", "claimed_by", "resolved_by")


@admin.register(Report)
class ReportAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "message", "reporter", "reason", "created_at")
    list_filter = ("reason",)
    raw_id_fields = ("message", "reporter")


@admin.register(UserNote)
class UserNoteAdmin(admin.ModelAdmin):
    list_display = ("user", "author", "created_at")
    raw_id_fields = ("user", "author")
