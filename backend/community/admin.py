from django.contrib import admin

from backend.common.admin import ReadOnlyModelAdmin
from backend.community.models import LeaderboardEntry, PointsEntry, UserStats


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyModelAdmin):
    list_display = (
        "id",
        "user",
        "project",
        "reason",
        "points",
        "source_type",
        "source_id",
        "earned_at",
    )
    list_filter = ("reason", "source_type")
    search_fields = ("user__username",)
    raw_id_fields = ("user", "project")


@admin.register(UserStats)
class UserStatsAdmin(ReadOnlyModelAdmin):
    list_display = ("user", "points", "level", "streak_days", "last_active_at")
    search_fields = ("user__username",)
    raw_id_fields = ("user",)


@admin.register(LeaderboardEntry)
class LeaderboardEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("window", "project", "rank", "user", "points", "computed_at")
    list_filter = ("window",)
    raw_id_fields = ("user", "project")
