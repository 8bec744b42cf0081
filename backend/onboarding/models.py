"""Training items (practice and gold items written by researchers) and each person's
progress through the tour, their practice answers and their qualifications.

Practice answers are never data: no message, label vote or ranking vote is written for
them, only whether the person's answer matched (``PracticeRecord``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class TrainingUse(models.TextChoices):
    """What an item is for: the tour's practice (the answer and its explanation are
    shown), gold (known answers that test people: qualifications), or both."""

    PRACTICE = "practice"
    GOLD = "gold"
    BOTH = "both"


PRACTICE_USES = (TrainingUse.PRACTICE, TrainingUse.BOTH)
GOLD_USES = (TrainingUse.GOLD, TrainingUse.BOTH)


class TrainingItem(models.Model):
    """A made-up task with its known good answer.

    ``conversation`` is the conversation shown, root first (``[{"role", "text"}]``); a
    review asks about its last turn, a ranking ranks ``candidates`` (replies to the last
    turn). The known answer is ``answer_labels`` (label → value) for reviews or
    ``answer_ranking`` (positions in ``candidates``, best first) for rankings. A reply
    kind's item (practice only: a written reply cannot be scored) carries an example of
    a good reply, ``answer_text``, shown after the answer.
    """

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="training_items"
    )
    kind = models.CharField(max_length=64)
    lang = models.CharField(max_length=16)
    conversation = models.JSONField(default=list)
    candidates = models.JSONField(default=list, blank=True)
    answer_labels = models.JSONField(default=dict, blank=True)
    answer_ranking = models.JSONField(default=list, blank=True)
    answer_text = models.TextField(blank=True)
    explanation = models.TextField(blank=True)
    use = models.CharField(max_length=16, choices=TrainingUse.choices, default=TrainingUse.PRACTICE)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["project", "lang", "kind", "is_active"])]

    def __str__(self) -> str:
        return f"{self.use} {self.kind} item {self.pk}"

    @property
    def is_practice(self) -> bool:
        return self.use in PRACTICE_USES

    @property
    def is_gold(self) -> bool:
        return self.use in GOLD_USES


class TourState(models.TextChoices):
    STARTED = "started"
    FINISHED = "finished"
    SKIPPED = "skipped"


class TourProgress(models.Model):
    """Where a person is in the onboarding tour (one row, made on their first visit)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tour_progress"
    )
    state = models.CharField(max_length=16, choices=TourState.choices, default=TourState.STARTED)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"tour of {self.user_id}: {self.state}"


class PracticeRecord(models.Model):
    """That a person answered one practice item, and whether the answer matched. The
    answer itself is not kept: practice is never data."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_records"
    )
    item = models.ForeignKey(TrainingItem, on_delete=models.CASCADE, related_name="+")
    is_correct = models.BooleanField()
    answered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "item"], name="practicerecord_once_per_item")
        ]

    def __str__(self) -> str:
        return f"practice {self.item_id} by {self.user_id}: {self.is_correct}"


class QualificationAttempt(models.Model):
    """One go at a kind's qualification: the person answers the project's number of gold
    items of that kind; it passes when enough of them match."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="qualification_attempts"
    )
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=64)
    lang = models.CharField(max_length=16)
    items_required = models.PositiveIntegerField()
    min_accuracy = models.FloatField()
    answered = models.PositiveIntegerField(default=0)
    correct = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    is_passed = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            # One attempt in progress per person and kind.
            models.UniqueConstraint(
                fields=["user", "project", "kind"],
                condition=Q(finished_at__isnull=True),
                name="qualificationattempt_one_open",
            ),
            models.CheckConstraint(
                condition=Q(correct__lte=models.F("answered")),
                name="qualificationattempt_correct_le_answered",
            ),
        ]
        indexes = [models.Index(fields=["user", "project", "kind", "is_passed"])]

    def __str__(self) -> str:
        return f"qualification {self.kind} of {self.user_id}: {self.correct}/{self.answered}"


class GoldResult(models.Model):
    """One answer of a person to a gold item, scored against the known answer."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gold_results"
    )
    item = models.ForeignKey(TrainingItem, on_delete=models.CASCADE, related_name="results")
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=64)
    attempt = models.ForeignKey(
        QualificationAttempt,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="results",
    )
    # A gold item in the stream: the assignment that carried it (None in a qualification).
    assignment = models.OneToOneField(
        "assignments.Assignment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_correct = models.BooleanField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "project", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"gold {self.item_id} by {self.user_id}: {self.is_correct}"


class GoldAssignment(models.Model):
    """An assignment that is a gold item in the stream: handed out by the claim like
    real work, answered through the same submit, scored against ``item``."""

    assignment = models.OneToOneField(
        "assignments.Assignment", on_delete=models.CASCADE, related_name="gold"
    )
    item = models.ForeignKey(TrainingItem, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"gold item {self.item_id} as assignment {self.assignment_id}"


class GoldPause(models.Model):
    """A person paused from a kind because their recent gold answers fell below the
    project's ``gold_min_accuracy``; lifted when they finish the practice again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gold_pauses"
    )
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=64)
    accuracy = models.FloatField()
    paused_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "project", "kind"],
                condition=Q(lifted_at__isnull=True),
                name="goldpause_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} paused from {self.kind}"
