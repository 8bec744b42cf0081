"""Points ledger, per-person totals and the materialised leaderboards.

Everything here is derived data: ``points_ledger_update`` computes it from messages,
votes and the audit log (never from page loads), and a full recompute rebuilds it
from scratch with the same result. Source objects are referenced by id, not by
foreign key, so the ledger can outlive (and clean up after) what it points at.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from backend.community.formula import Reason


class SourceType(models.TextChoices):
    MESSAGE = "message"  # the author's points for a message; source_id = message id
    REVIEW = "review"  # one person's labels on a message; source_id = message id
    RANKING_VOTE = "ranking_vote"  # source_id = ranking vote id
    # A gold item answered in the stream: it looks like real work, so it earns what the
    # review or ranking it looks like earns when submitted; source_id = assignment id.
    GOLD = "gold"


class PointsEntry(models.Model):
    """Points one person earned for one reason from one source object.

    Unique per (source, person, reason), so recomputing is an upsert and running the
    ledger twice gives the same rows. ``earned_at`` decides which windows count it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(
        max_length=32, choices=[(reason.value, reason.value) for reason in Reason]
    )
    source_type = models.CharField(max_length=16, choices=SourceType.choices)
    source_id = models.BigIntegerField()
    points = models.IntegerField()
    earned_at = models.DateTimeField()
    # The inputs of the rule (rank and sibling count, Kendall's τ, …) for checking.
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_type", "source_id", "user", "reason"],
                name="pointsentry_unique_source",
            )
        ]
        indexes = [
            models.Index(fields=["earned_at"]),
            models.Index(fields=["user", "earned_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.reason} ({self.source_type} {self.source_id})"


class UserStats(models.Model):
    """A person's totals over every project and all time, kept by the ledger pass."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="community_stats",
    )
    points = models.IntegerField(default=0)
    level = models.PositiveIntegerField(default=1)
    # As of ``updated_at``; readers show 0 once ``last_active_at`` is over 36 h old.
    streak_days = models.PositiveIntegerField(default=0)
    last_active_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"stats of user {self.user_id}: {self.points} points"


class Window(models.TextChoices):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ALL = "all"


class LeaderboardEntry(models.Model):
    """One row of a materialised leaderboard: a window, a project (None: overall)."""

    window = models.CharField(max_length=8, choices=Window.choices)
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # None for people not shown (opted out, banned, inactive): they keep their points.
    rank = models.PositiveIntegerField(null=True, blank=True)
    points = models.IntegerField()
    prompts = models.PositiveIntegerField(default=0)
    replies = models.PositiveIntegerField(default=0)
    reviews = models.PositiveIntegerField(default=0)
    rankings = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["window", "user"],
                condition=Q(project__isnull=True),
                name="leaderboard_unique_overall",
            ),
            models.UniqueConstraint(
                fields=["window", "project", "user"],
                condition=Q(project__isnull=False),
                name="leaderboard_unique_per_project",
            ),
        ]
        indexes = [models.Index(fields=["window", "project", "rank"])]

    def __str__(self) -> str:
        return f"{self.window} #{self.rank} user {self.user_id}: {self.points}"


LEDGER_CHECKPOINT = "ledger"
LEADERBOARDS_CHECKPOINT = "leaderboards"


class CommunityCheckpoint(models.Model):
    """How far a periodic pass got (``ledger``: audit events up to ``processed_until``
    are accounted for; ``leaderboards``: when they were last rebuilt)."""

    name = models.CharField(max_length=32, unique=True)
    processed_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} until {self.processed_until}"
