from __future__ import annotations

from django.db import models


class WorkItem(models.Model):
    required = models.PositiveIntegerField()
    open_slots = models.IntegerField()
    completed_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The claim's scan: items with a free slot, oldest first.
            models.Index(fields=["id"], condition=models.Q(open_slots__gt=0), name="floor_open")
        ]

    def __str__(self) -> str:
        return f"work item {self.pk}: {self.open_slots} of {self.required} open"


class Assignment(models.Model):
    work_item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="assignments")
    user_id = models.BigIntegerField()
    state = models.CharField(max_length=16, default="active")
    answer = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            # Also the index of the claim's "not had it yet" test.
            models.UniqueConstraint(fields=["user_id", "work_item"], name="floor_once")
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.state})"
