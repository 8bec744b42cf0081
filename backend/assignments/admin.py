from django.contrib import admin

from backend.assignments.models import Assignment, IdempotencyRecord, WorkItem, WorkItemExclusion
from backend.common.admin import ReadOnlyModelAdmin


@admin.register(WorkItem)
class WorkItemAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "kind", "tree", "state", "required", "completed_count", "open_slots")
    list_filter = ("kind", "state")
    raw_id_fields = ("tree", "target")


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyModelAdmin):
    list_display = ("id", "kind", "user", "state", "created_at", "expires_at")
    list_filter = ("kind", "state")
    raw_id_fields = ("work_item", "user", "result_message")


@admin.register(WorkItemExclusion)
class WorkItemExclusionAdmin(ReadOnlyModelAdmin):
    list_display = ("work_item", "user")
    raw_id_fields = ("work_item", "user")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("user", "key", "assignment", "created_at")
    raw_id_fields = ("user", "assignment")
