"""Django admin for state that only services may change.

Tree states, messages, votes, work items and assignments, moderation items and the
derived community figures change only through their services, which lock the rows,
check the current state, keep counters consistent and write the audit event in the
same transaction. An admin form saving such a row directly would skip all of that, so
these models are shown read-only: admins look here and act through the moderation
pages, the API or the management commands.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """View only: no add, change or delete in the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
