from django.contrib import admin

from backend.common.admin import ReadOnlyModelAdmin
from backend.projects.models import Project


@admin.register(Project)
class ProjectAdmin(ReadOnlyModelAdmin):
    """Read-only: projects change on their page or through the API, which validate the
    settings and the label schema and audit every change (docs/projects.md)."""

    list_display = ("slug", "name", "is_active", "goal_tree_size", "max_active_trees")
    search_fields = ("slug", "name")
