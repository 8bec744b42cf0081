from django.contrib import admin

from backend.audit.models import AuditEvent
from backend.common.admin import ReadOnlyModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "action", "target_type", "target_id", "actor", "reason")
    list_filter = ("action", "target_type")
    search_fields = ("target_id", "reason")
    readonly_fields = [field.name for field in AuditEvent._meta.fields]
