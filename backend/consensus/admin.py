from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from backend.assignments.models import LabelVote, RankingVote
from backend.common.admin import ReadOnlyModelAdmin
from backend.consensus.models import (
    AgreementSnapshot,
    AnnotatorQuality,
    GoldLabel,
    LabelModel,
    MessageLabels,
    RankingResult,
    RescoreRun,
)
from backend.consensus.services import gold_label_remove, gold_label_set


@admin.register(LabelVote)
class LabelVoteAdmin(ReadOnlyModelAdmin):
    list_display = ("message", "user", "label", "value", "created_at")
    list_filter = ("label",)
    raw_id_fields = ("message", "user", "assignment")


@admin.register(RankingVote)
class RankingVoteAdmin(ReadOnlyModelAdmin):
    list_display = ("parent", "user", "created_at")
    raw_id_fields = ("parent", "user", "assignment", "work_item")


@admin.register(GoldLabel)
class GoldLabelAdmin(admin.ModelAdmin):
    """Gold answers go through the service, so they are audited and the message is
    re-scored at once."""

    list_display = ("message", "label", "value", "created_by", "created_at")
    list_filter = ("label",)
    raw_id_fields = ("message",)
    fields = ("message", "label", "value")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = gold_label_set(
            message_id=obj.message_id, label=obj.label, value=obj.value, actor_id=request.user.pk
        )
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        gold_label_remove(message_id=obj.message_id, label=obj.label, actor_id=request.user.pk)


class ReadOnlyAdmin(ReadOnlyModelAdmin):
    """Derived results: recomputed by the rescore, never edited by hand."""


@admin.register(RankingResult)
class RankingResultAdmin(ReadOnlyAdmin):
    list_display = ("parent", "work_item", "algorithm", "algorithm_version", "voter_count",
                    "min_locked_margin", "computed_at")  # fmt: skip
    raw_id_fields = ("parent", "work_item", "tree", "project")


@admin.register(MessageLabels)
class MessageLabelsAdmin(ReadOnlyAdmin):
    list_display = ("message", "acceptance_rule", "acceptance_score", "is_accepted", "computed_at")
    raw_id_fields = ("message", "project")


@admin.register(LabelModel)
class LabelModelAdmin(ReadOnlyAdmin):
    list_display = ("project", "label", "method", "prevalence", "item_count", "fitted_at")


@admin.register(AnnotatorQuality)
class AnnotatorQualityAdmin(ReadOnlyAdmin):
    list_display = ("user", "project", "ds_accuracy", "tau_shrunk", "gold_accuracy", "weight",
                    "is_position_biased", "is_random")  # fmt: skip
    list_filter = ("project", "is_position_biased", "is_random")
    raw_id_fields = ("user", "project")


@admin.register(AgreementSnapshot)
class AgreementSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("project", "taken_at", "task_kind", "label", "level", "alpha",
                    "pairwise_agreement", "kendalls_w")  # fmt: skip
    list_filter = ("project", "label")


@admin.register(RescoreRun)
class RescoreRunAdmin(ReadOnlyAdmin):
    list_display = ("project", "state", "stage", "progress", "started_at", "finished_at")
    list_filter = ("state",)
