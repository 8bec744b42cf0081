from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class LabelVote(models.Model):
    """One person's answer to one label of one message; value in [0, 1]. Kept forever."""

    message = models.ForeignKey("trees.Message", on_delete=models.CASCADE, related_name="label_votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assignment = models.ForeignKey(
        "assignments.Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    label = models.CharField(max_length=64)
    value = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "label"], name="labelvote_unique"),
            models.CheckConstraint(
                condition=Q(value__gte=0.0) & Q(value__lte=1.0), name="labelvote_value_in_unit"
            ),
        ]
        indexes = [models.Index(fields=["message", "label"])]


class RankingVote(models.Model):
    """One person's ordering of the replies under ``parent``, best first. Kept forever.

    A vote belongs to the ranking work item it answered. When a sibling group changes
    (a reply deleted, a replacement collected) the tree is ranked again through a new
    item; votes on the old item stay as history and no longer count. Imported votes
    have no work item.
    """

    parent = models.ForeignKey(
        "trees.Message", on_delete=models.CASCADE, related_name="ranking_votes"
    )
    work_item = models.ForeignKey(
        "assignments.WorkItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ranking_votes",
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    assignment = models.ForeignKey(
        "assignments.Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ranking = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["work_item", "user"],
                condition=Q(work_item__isnull=False),
                name="rankingvote_one_per_person_item",
            ),
        ]
        indexes = [models.Index(fields=["parent", "created_at"])]
