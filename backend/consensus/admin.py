from django.contrib import admin

from backend.consensus.models import LabelVote, RankingVote


@admin.register(LabelVote)
class LabelVoteAdmin(admin.ModelAdmin):
    list_display = ("message", "user", "label", "value", "created_at")
    list_filter = ("label",)
    raw_id_fields = ("message", "user", "assignment")


@admin.register(RankingVote)
class RankingVoteAdmin(admin.ModelAdmin):
    list_display = ("parent", "user", "created_at")
    raw_id_fields = ("parent", "user", "assignment")
