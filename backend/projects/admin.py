from django.contrib import admin

from backend.projects.models import Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "is_active", "goal_tree_size", "max_active_trees")
    search_fields = ("slug", "name")
