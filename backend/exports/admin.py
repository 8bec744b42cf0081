from django.contrib import admin

from backend.exports.models import ExportJob, ImportedEmoji, ImportedLabel, ImportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "project",
        "format",
        "state",
        "progress",
        "row_count",
        "created_by",
        "created_at",
    )
    list_filter = ("state", "format")
    exclude = ("secret",)
    readonly_fields = ("filters", "sha256", "byte_size", "row_count", "message_count", "tree_count")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "project",
        "format",
        "state",
        "trees_created",
        "error_count",
        "created_at",
    )
    list_filter = ("state", "format")


@admin.register(ImportedLabel)
class ImportedLabelAdmin(admin.ModelAdmin):
    list_display = ("message", "name", "value", "count")
    raw_id_fields = ("message",)


@admin.register(ImportedEmoji)
class ImportedEmojiAdmin(admin.ModelAdmin):
    list_display = ("message", "emoji", "count")
    raw_id_fields = ("message",)
